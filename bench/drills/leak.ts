/**
 * drill:leak — CYCLES connect/disconnect cycles over DOCS documents (raw y-websocket clients: upgrade with a
 * token, sync step 1 -> step 2, an awareness state, close), PARALLEL at a time. After the unload grace period
 * no document may stay resident (GET /api/health -> documentsLoaded) and the server's heap, measured after a
 * forced full GC, must be back within 10% of its value before the cycles (after a warm-up). The heap is read
 * through the inspector protocol (the server runs with --inspect on 127.0.0.1); RSS is reported beside it.
 *
 * Env: DRILL_CYCLES (100000), DRILL_DOCS (1000), DRILL_PARALLEL (32), DRILL_GRACE_MS (200), DRILL_WARMUP (5000).
 */
import WebSocket from 'ws';
import * as encoding from 'lib0/encoding';
import { api, heapAfterGcMiB, login, machine, rssMiB, sleep, startServer } from './lib.js';

const CYCLES = Number(process.env.DRILL_CYCLES ?? 100_000);
const DOCS = Number(process.env.DRILL_DOCS ?? 1000);
const PARALLEL = Number(process.env.DRILL_PARALLEL ?? 32);
const GRACE_MS = Number(process.env.DRILL_GRACE_MS ?? 200);
const WARMUP = Number(process.env.DRILL_WARMUP ?? 5000);

/** Sync step 1 with an empty state vector, and an awareness update for client `id`. */
const STEP1 = Uint8Array.of(0, 0, 1, 0);
function awareness(id: number): Uint8Array {
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, 1);
  encoding.writeVarUint(inner, id);
  encoding.writeVarUint(inner, 1);
  encoding.writeVarString(inner, JSON.stringify({ user: { name: `drill ${id}` } }));
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
  return encoding.toUint8Array(e);
}

/** One cycle: connect, receive the server's step 1 and our step 2 answer, announce presence, close. */
function cycle(wsUrl: string, docId: string, token: string, n: number): Promise<'ok' | string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${wsUrl}/collab/${docId}?token=${token}`);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve('timeout');
    }, 15_000);
    let done = false;
    const finish = (r: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    ws.on('open', () => ws.send(STEP1));
    ws.on('message', (data: Buffer) => {
      // [0, 1, …] is sync step 2: the document arrived
      if (data[0] === 0 && data[1] === 1) {
        ws.send(awareness(1 + (n % 2 ** 30)));
        ws.close(1000);
      }
    });
    ws.on('close', (code) => finish(code === 1000 || code === 1005 ? 'ok' : `close ${code}`));
    ws.on('unexpected-response', (_q, r) => {
      finish(`http ${r.statusCode}`);
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

async function run(
  wsUrl: string,
  docs: string[],
  token: string,
  count: number,
  offset: number,
  errors: Map<string, number>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < count) {
        const n = offset + next++;
        const r = await cycle(wsUrl, docs[n % docs.length]!, token, n);
        if (r !== 'ok') errors.set(r, (errors.get(r) ?? 0) + 1);
      }
    }),
  );
}

async function main(): Promise<void> {
  const started = new Date();
  const machineAtStart = machine();
  const server = await startServer(
    { MARGINALIA_UNLOAD_GRACE_MS: String(GRACE_MS), MARGINALIA_MAX_CONNECTIONS_PER_IP: '100000' },
    { inspect: true },
  );
  const token = await login(server.url, 'admin', 'admin-password');
  const call = api(server.url, token);
  const docs: string[] = [];
  for (let i = 0; i < DOCS; i++) {
    const r = await call('POST', '/documents', {
      title: `Leak ${i}`,
      format: 'text',
      content: `Document ${i}.\n\nA second paragraph for document ${i}.`,
    });
    docs.push(r.body.id);
  }
  const resident = async () => (await call('GET', '/health')).body.documentsLoaded as number;
  const settle = async () => {
    const t0 = Date.now();
    let n = await resident();
    while (n > 0 && Date.now() - t0 < GRACE_MS + 30_000) {
      await sleep(50);
      n = await resident();
    }
    return { resident: n, ms: Date.now() - t0 };
  };
  const errors = new Map<string, number>();
  await run(server.wsUrl, docs, token, WARMUP, 0, errors);
  await settle();
  const heap0 = await heapAfterGcMiB(server.inspectorUrl!);
  const rss0 = rssMiB(server.child.pid!);

  const t0 = performance.now();
  let peakRss = rss0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(server.child.pid!))), 500);
  await run(server.wsUrl, docs, token, CYCLES, WARMUP, errors);
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  const loadedAtEnd = await resident();
  const after = await settle();
  const heap1 = await heapAfterGcMiB(server.inspectorUrl!);
  const rss1 = rssMiB(server.child.pid!);
  await server.stop();

  const pct = (a: number, b: number) => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%`;
  const ok = after.resident === 0 && heap1 <= heap0 * 1.1;
  console.log(`
### drill:leak — ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC

\`npm run drill:leak\` (${CYCLES} connect/disconnect cycles over ${DOCS} documents, ${PARALLEL} at a time, after ${WARMUP} warm-up cycles; MARGINALIA_UNLOAD_GRACE_MS=${GRACE_MS}; SQLite).
Machine: ${machineAtStart}.

| measure | before the cycles (after warm-up, unloaded) | after the cycles and the grace period | change |
|---|---:|---:|---:|
| documents resident | 0 | ${after.resident} (${loadedAtEnd} right after the last cycle; 0 after ${after.ms} ms) | |
| V8 heap after full GC (inspector) | ${heap0.toFixed(1)} MiB | ${heap1.toFixed(1)} MiB | ${pct(heap0, heap1)} |
| RSS (/proc VmRSS) | ${rss0.toFixed(0)} MiB | ${rss1.toFixed(0)} MiB (peak ${peakRss.toFixed(0)} MiB) | ${pct(rss0, rss1)} |

${CYCLES} cycles in ${seconds.toFixed(1)} s (${Math.round(CYCLES / seconds)} cycles/s); failed cycles: ${errors.size ? [...errors].map(([k, v]) => `${k} × ${v}`).join(', ') : 'none'}. Verdict: ${ok ? 'pass (0 resident, heap within 10%)' : 'FAIL'}.
`);
  if (!ok) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
