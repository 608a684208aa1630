/**
 * Preloaded (`node --import`) into every server under test; adds nothing to the server's own code. Answers the
 * bench over the IPC channel: event-loop delay (perf_hooks.monitorEventLoopDelay), memory after a full GC
 * (needs --expose-gc), and, where the launcher registered one, the number of documents resident in memory.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

const RESOLUTION_MS = 10; // the default of monitorEventLoopDelay
const lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
lag.enable();

declare global {
  // Set by the reference launchers (Marginalia answers through GET /api/health instead).
  var __benchResidentDocs: (() => number) | undefined;
}

type Request = { id: number; cmd: string; file?: string; from?: number; to?: number };

/** The same V8 sampling profiler as `node --cpu-prof`, limited to the bench's measurement window. */
let session: Session | null = null;
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) =>
    session!.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))),
  );

async function profile(cmd: string, file?: string): Promise<unknown> {
  if (cmd === 'prof-start') {
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
    return true;
  }
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  session!.disconnect();
  session = null;
  writeFileSync(file!, JSON.stringify(profile));
  return file;
}

const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);

/**
 * monitorEventLoopDelay cannot be read for a past time window, and a saturated server reads the bench's IPC
 * messages late (seconds), so the delay is also sampled here with timestamps: a timer at the same resolution records how late it
 * fired (the same measure), and the bench asks for the samples inside its window, in CLOCK_MONOTONIC ms, a
 * clock all processes share.
 */
const TICK_MS = RESOLUTION_MS;
const RING = 1 << 19;
const ringAt = new Float64Array(RING);
const ringLag = new Float32Array(RING);
let ringN = 0;
const mono = () => Number(process.hrtime.bigint()) / 1e6;
let last = mono();
const tick = () => {
  const now = mono();
  ringAt[ringN % RING] = now;
  ringLag[ringN % RING] = Math.max(0, now - last - TICK_MS);
  ringN++;
  last = now;
  setTimeout(tick, TICK_MS).unref();
};
setTimeout(tick, TICK_MS).unref();

function lagWindow(from: number, to: number) {
  const v: number[] = [];
  for (let i = Math.max(0, ringN - RING); i < ringN; i++) {
    const at = ringAt[i % RING]!;
    // A sample covers the interval before it: it belongs to the window if that interval overlaps it.
    if (at > from && at - ringLag[i % RING]! - TICK_MS < to) v.push(ringLag[i % RING]!);
  }
  v.sort((a, b) => a - b);
  const q = (p: number) => (v.length ? v[Math.min(v.length - 1, Math.ceil(p * v.length) - 1)]! : 0);
  return { p50_ms: q(0.5), p99_ms: q(0.99), max_ms: v.length ? v[v.length - 1]! : 0, samples: v.length };
}

function answer(cmd: string, m: Request): unknown {
  switch (cmd) {
    case 'lag-window':
      return { ...lagWindow(m.from!, m.to!), eld: answer('lag', m) };
    case 'lag-reset':
      lag.reset();
      return true;
    case 'lag':
      // Recorded values are timer intervals; the delay is what exceeds the sampling resolution.
      return {
        p50_ms: ms(lag.percentile(50)),
        p99_ms: ms(lag.percentile(99)),
        max_ms: ms(lag.max),
        samples: lag.count,
      };
    case 'mem': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) for (let i = 0; i < 3; i++) gc();
      return { ...process.memoryUsage(), gc: Boolean(gc) };
    }
    case 'heap-snapshot': {
      // A V8 heap snapshot after a full GC, for bench/src/heapdiff.ts.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) for (let i = 0; i < 3; i++) gc();
      return writeHeapSnapshot(m.file);
    }
    case 'docs':
      return globalThis.__benchResidentDocs ? globalThis.__benchResidentDocs() : null;
    default:
      return undefined; // a launcher's own command (e.g. the calibration server's 'blast')
  }
}

if (process.send) {
  process.on('message', (m: Request) => {
    if (!m || typeof m.id !== 'number') return;
    if (m.cmd === 'prof-start' || m.cmd === 'prof-stop') {
      profile(m.cmd, m.file).then(
        (result) => process.send!({ id: m.id, result }),
        (e: Error) => process.send!({ id: m.id, error: e.message }),
      );
      return;
    }
    try {
      const result = answer(m.cmd, m);
      if (result !== undefined) process.send!({ id: m.id, result });
    } catch (e) {
      process.send!({ id: m.id, error: (e as Error).message });
    }
  });
  process.channel?.unref();
}
