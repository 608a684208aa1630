/**
 * Preloaded (`node --import`) into every server under test; adds nothing to the server's own code. Answers the
 * bench over the IPC channel: event-loop delay (perf_hooks.monitorEventLoopDelay), memory after a full GC
 * (needs --expose-gc), and, where the launcher registered one, the number of documents resident in memory.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const RESOLUTION_MS = 2;
const lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
lag.enable();

declare global {
  // Set by the reference launchers (Marginalia answers through GET /api/health instead).
  var __benchResidentDocs: (() => number) | undefined;
}

type Request = { id: number; cmd: string; file?: string };

/** The same V8 sampling profiler as `node --cpu-prof`, limited to the bench's measurement window. */
let session: Session | null = null;
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) => session!.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))));

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

function answer(cmd: string): unknown {
  switch (cmd) {
    case 'lag-reset':
      lag.reset();
      return true;
    case 'lag':
      // Recorded values are timer intervals; the delay is what exceeds the sampling resolution.
      return { p50_ms: ms(lag.percentile(50)), p99_ms: ms(lag.percentile(99)), max_ms: ms(lag.max), samples: lag.count };
    case 'mem': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) for (let i = 0; i < 3; i++) gc();
      return { ...process.memoryUsage(), gc: Boolean(gc) };
    }
    case 'docs':
      return globalThis.__benchResidentDocs ? globalThis.__benchResidentDocs() : null;
    default:
      throw new Error(`unknown probe command ${cmd}`);
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
      process.send!({ id: m.id, result: answer(m.cmd) });
    } catch (e) {
      process.send!({ id: m.id, error: (e as Error).message });
    }
  });
  process.channel?.unref();
}
