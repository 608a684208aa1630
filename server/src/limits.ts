/**
 * The per-connection rate limit: a token bucket. Limits that count across instances (sign-in failures, connections
 * per address) are in shared-limits.ts.
 */

/** Allows `rate` units per second on average and bursts of `burst` units. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes `n` units if there are enough; false means over the limit. */
  take(n = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}
