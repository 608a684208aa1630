/**
 * A fixed-bucket latency histogram (milliseconds in, percentiles out): 10 us buckets up to 100 ms, 1 ms buckets up
 * to 120 s, so hundreds of thousands of samples per second cost one array increment each.
 */
const FINE_US = 10;
const FINE_BUCKETS = 10_000; // 0 .. 100 ms
const COARSE_MS = 1;
const COARSE_BUCKETS = 120_000; // 100 ms .. 120.1 s

export class Histogram {
  private readonly fine = new Uint32Array(FINE_BUCKETS);
  private readonly coarse = new Uint32Array(COARSE_BUCKETS);
  count = 0;
  max = 0;
  sum = 0;

  record(ms: number): void {
    if (!(ms >= 0)) ms = 0;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    const fine = Math.floor((ms * 1000) / FINE_US);
    if (fine < FINE_BUCKETS) this.fine[fine]!++;
    else this.coarse[Math.min(COARSE_BUCKETS - 1, Math.floor((ms - 100) / COARSE_MS))]!++;
  }

  /** The value at quantile q (0..1), as the upper edge of its bucket (capped at the maximum seen). */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < FINE_BUCKETS; i++) {
      seen += this.fine[i]!;
      if (seen >= rank) return Math.min(this.max, ((i + 1) * FINE_US) / 1000);
    }
    for (let i = 0; i < COARSE_BUCKETS; i++) {
      seen += this.coarse[i]!;
      if (seen >= rank) return Math.min(this.max, 100 + (i + 1) * COARSE_MS);
    }
    return this.max;
  }

  summary(): { count: number; p50: number; p99: number; max: number; mean: number } {
    return {
      count: this.count,
      p50: round(this.percentile(0.5)),
      p99: round(this.percentile(0.99)),
      max: round(this.max),
      mean: round(this.count ? this.sum / this.count : 0),
    };
  }
}

export const round = (x: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** The median of the runs by `key` (the run itself, so that its other figures stay consistent with it). */
export function medianRun<T>(runs: T[], key: (r: T) => number): T {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
