/**
 * A load generator: a separate process (pinned to its own core) that the bench drives over IPC. Senders and
 * receivers share this process's clock, so delivery latency is measured from timestamped beacons; sequence
 * numbers count drops; the server's CPU time is read from /proc/<pid>/stat at the edges of the window.
 */
import { readFileSync } from 'node:fs';
import * as Y from 'yjs';
import { anchorFromOffsets } from '@marginalia/shared';
import { cpuSplit, machineBusySeconds, runQueueWaitSeconds, sleep } from './lib/proc.js';
import { round } from './lib/hist.js';
import { Ledger, RawClient, RawWriter, RealClient, connectAll, type Target, type ThreadTarget } from './lib/clients.js';

export interface LoadConfig {
  target: Target;
  /** Who the writers are, when not `target` (Marginalia: the document's owner). */
  writerTarget: Target | null;
  doc: string;
  serverPid: number;
  /** A state to push into an empty reference document before anyone else connects (file of bytes). */
  seedFile: string | null;
  receivers: number;
  realReceivers: number;
  writers: number;
  writerKind: 'raw' | 'real';
  rate: number;
  warmupMs: number;
  durationMs: number;
  drainMs: number;
}

export interface LoadResult {
  clients: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  real_p50_ms: number | null;
  real_p99_ms: number | null;
  samples: number;
  sent: number;
  drops: number;
  duplicates: number;
  frames: number;
  frames_per_update: number;
  server_cpu_s: number;
  server_us_per_frame: number;
  /** Server CPU per update delivered to one recipient (fair to servers that merge updates into fewer frames). */
  server_us_per_delivery: number;
  /** The user-space part (the rest is the kernel's: socket writes, loopback delivery). */
  server_user_us_per_frame: number;
  server_cpu_util: number;
  gen_cpu_util: number;
  /** Share of the window the server's / generator's main thread was runnable but waiting for a CPU (machine noise). */
  server_runq_wait: number;
  gen_runq_wait: number;
  /** CPU (in cores) that other processes used during the window: how disturbed the run was. */
  others_cpu: number;
  window_s: number;
  drained_ms: number;
  /** Sockets the server closed during the run, by code and reason. */
  closed: Record<string, number>;
}

const send = (m: unknown) => process.send!(m);
/** CLOCK_MONOTONIC in ms: the clock the server's probe timestamps its event-loop samples with. */
const mono = () => Number(process.hrtime.bigint()) / 1e6;

/** The seed (references) and a valid anchor into the document's article, from the first client. */
async function prepare(c: LoadConfig): Promise<{ first: RawClient; anchor: ThreadTarget }> {
  const first = new RawClient(c.target, c.doc, null);
  const state = await first.synced;
  const scratch = new Y.Doc();
  Y.applyUpdate(scratch, state);
  if (c.seedFile) {
    const seed = new Uint8Array(readFileSync(c.seedFile));
    await first.pushAndWait(seed);
    Y.applyUpdate(scratch, seed);
  }
  const { anchor, quote } = anchorFromOffsets(scratch, 20, 60);
  scratch.destroy();
  return { first, anchor: { anchor, quote } };
}

async function load(c: LoadConfig): Promise<LoadResult> {
  const totalMs = c.warmupMs + c.durationMs;
  const maxSeq = Math.ceil((c.rate * totalMs) / 1000) + 5;
  const ledger = new Ledger(c.writers, maxSeq);
  const { first, anchor } = await prepare(c);
  const receivers = await connectAll(c.receivers, () => new RawClient(c.target, c.doc, ledger));
  const wt = c.writerTarget ?? c.target;
  const rawWriters =
    c.writerKind === 'raw' ? await connectAll(c.writers, (i) => new RawWriter(wt, c.doc, i, ledger)) : [];
  const realWriters =
    c.writerKind === 'real' ? await connectAll(c.writers, () => new RealClient(wt, c.doc, ledger), 10) : [];
  const reals = await connectAll(c.realReceivers, () => new RealClient(c.target, c.doc, ledger), 10);
  for (const r of reals) r.watchBeacons();
  first.close(); // the seeding client leaves once everyone else holds the document open
  // Beacon recipients: raw receivers, raw writers (servers echo to the sender), real receivers.
  const recipients = receivers.length + rawWriters.length + reals.length;
  const sockets = recipients + realWriters.length;

  // Raw writers open their threads spread over half a second, then, a second later, reply at `rate`.
  for (const w of rawWriters) {
    setTimeout(() => w.openThread(anchor), Math.random() * 500);
  }
  await sleep(rawWriters.length ? 1500 : 0);
  rawWriters.forEach((w) => w.start(c.rate));
  realWriters.forEach((w, i) => w.startWriting(wt, i, c.rate));

  await sleep(c.warmupMs);
  send({ event: 'window', phase: 'start', at: mono() });
  const cpu0 = cpuSplit(c.serverPid);
  const machine0 = machineBusySeconds();
  const wait0 = [runQueueWaitSeconds(c.serverPid), runQueueWaitSeconds('self')];
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  ledger.windowOpen = true;
  await sleep(c.durationMs);
  ledger.windowOpen = false;
  const t1 = performance.now();
  const cpu1 = cpuSplit(c.serverPid);
  const machine1 = machineBusySeconds();
  const wait1 = [runQueueWaitSeconds(c.serverPid), runQueueWaitSeconds('self')];
  const own1 = process.cpuUsage(own0);
  send({ event: 'window', phase: 'end', at: mono() });
  rawWriters.forEach((w) => w.stop());
  realWriters.forEach((w) => w.stop());

  // Drain: wait until every measured beacon has reached every recipient, or the drain time is up.
  const measuredMissing = () => {
    let missing = 0;
    for (let i = 0; i < ledger.measured.length; i++) {
      if (ledger.measured[i]) missing += Math.max(0, recipients - ledger.deliveries[i]!);
    }
    return missing;
  };
  const drainStart = performance.now();
  while (measuredMissing() > 0 && performance.now() - drainStart < c.drainMs) await sleep(100);
  const drained = performance.now() - drainStart;

  let sent = 0;
  let drops = 0;
  let duplicates = 0;
  let delivered = 0;
  for (let i = 0; i < ledger.measured.length; i++) {
    if (!ledger.measured[i]) continue;
    sent++;
    const d = ledger.deliveries[i]!;
    delivered += Math.min(d, recipients);
    if (d < recipients) drops += recipients - d;
    else duplicates += d - recipients;
  }
  const windowS = (t1 - t0) / 1000;
  const serverUser = cpu1.user - cpu0.user;
  const serverCpu = serverUser + cpu1.system - cpu0.system;
  const raw = ledger.raw.summary();
  const real = ledger.real.summary();
  const result: LoadResult = {
    clients: sockets,
    p50_ms: raw.p50,
    p99_ms: raw.p99,
    max_ms: raw.max,
    real_p50_ms: reals.length ? real.p50 : null,
    real_p99_ms: reals.length ? real.p99 : null,
    samples: raw.count + real.count,
    sent,
    drops,
    duplicates,
    frames: ledger.frames,
    frames_per_update: round(ledger.sentInWindow ? ledger.frames / (ledger.sentInWindow * sockets) : 0, 4),
    server_cpu_s: round(serverCpu),
    server_us_per_frame: round(ledger.frames ? (serverCpu * 1e6) / ledger.frames : 0, 2),
    server_us_per_delivery: round(delivered ? (serverCpu * 1e6) / delivered : 0, 2),
    server_user_us_per_frame: round(ledger.frames ? (serverUser * 1e6) / ledger.frames : 0, 2),
    server_cpu_util: round(serverCpu / windowS),
    gen_cpu_util: round((own1.user + own1.system) / 1e6 / windowS),
    server_runq_wait: round((wait1[0]! - wait0[0]!) / windowS),
    others_cpu: round(Math.max(0, machine1 - machine0 - serverCpu - (own1.user + own1.system) / 1e6) / windowS),
    gen_runq_wait: round((wait1[1]! - wait0[1]!) / windowS),
    window_s: round(windowS),
    drained_ms: Math.round(drained),
    closed: Object.fromEntries(ledger.closes),
  };
  for (const x of [...receivers, ...rawWriters, ...realWriters, ...reals]) x.close();
  return result;
}

/** Memory scenario: idle raw clients over many documents, connected in phases the bench measures between. */
const idle: RawClient[] = [];
async function memoryPhase(m: {
  target: Target;
  docs: string[];
  perDoc: number;
  seedFile: string | null;
}): Promise<number> {
  const seed = m.seedFile ? new Uint8Array(readFileSync(m.seedFile)) : null;
  await connectAll(
    m.docs.length * m.perDoc,
    (i) => {
      const doc = m.docs[i % m.docs.length]!;
      const c = new RawClient(m.target, doc, null);
      idle.push(c);
      return c;
    },
    50,
  );
  if (seed && m.perDoc === 1) {
    // References start empty: each document's first client pushes the small article into it.
    for (const c of idle.slice(-m.docs.length)) await c.pushAndWait(seed);
  }
  return idle.length;
}

/**
 * Coldload, in two generator processes started together (so that neither client waits while the other one's
 * process is busy applying 13 MB): `coldloadRaw` times the load (connect -> the server's sync step 1, sent once
 * the document is loaded), the first state frame and the whole state (its sync step 2) arriving; `coldload`
 * times a new real provider's first sync on the cold document, then a second provider's on the loaded one, then
 * what applying the state costs a client.
 */
async function coldloadRaw(m: { target: Target; doc: string }) {
  const t0 = performance.now();
  const raw = new RawClient(m.target, m.doc, null);
  const [loaded, firstData, received] = await Promise.all([
    raw.serverStep1,
    raw.firstData,
    raw.synced.then(() => performance.now()),
  ]);
  raw.close();
  return {
    load_ms: round(loaded - t0, 1),
    first_data_ms: round(firstData - t0, 1),
    state_received_ms: round(received - t0, 1),
  };
}

/** When the document's article first has text (the client could show it), in performance.now() time. */
function articleShown(doc: Y.Doc): Promise<number> {
  const root = doc.get('root', Y.XmlText);
  return new Promise((resolve) => {
    const check = () => {
      if (root.length === 0) return;
      doc.off('update', check);
      resolve(performance.now());
    };
    doc.on('update', check);
  });
}

async function coldload(m: { target: Target; doc: string }) {
  const t0 = performance.now();
  const cold = new RealClient(m.target, m.doc, null);
  const article = articleShown(cold.doc);
  await cold.synced;
  const coldSync = performance.now() - t0;
  const coldArticle = (await article) - t0;
  const t1 = performance.now();
  const warm = new RealClient(m.target, m.doc, null);
  const warmShown = articleShown(warm.doc);
  await warm.synced;
  const warmSync = performance.now() - t1;
  const warmArticle = (await warmShown) - t1;
  const state = Y.encodeStateAsUpdate(warm.doc);
  const t2 = performance.now();
  const probeDoc = new Y.Doc();
  Y.applyUpdate(probeDoc, state);
  const clientApply = performance.now() - t2;
  probeDoc.destroy();
  cold.close();
  warm.close();
  return {
    article_ms: round(coldArticle, 1),
    first_sync_ms: round(coldSync, 1),
    warm_article_ms: round(warmArticle, 1),
    warm_first_sync_ms: round(warmSync, 1),
    client_apply_ms: round(clientApply, 1),
    state_bytes: state.byteLength,
  };
}

/** Calibration clients: plain sockets that only count messages. */
const plain: import('ws').WebSocket[] = [];
let plainFrames = 0;
async function floorClients(m: { url: string; n: number }): Promise<number> {
  const { default: WS } = await import('ws');
  await Promise.all(
    Array.from({ length: m.n }, () => {
      const ws = new WS(m.url, { perMessageDeflate: false });
      ws.on('message', () => void plainFrames++);
      plain.push(ws);
      return new Promise((res, rej) => (ws.once('open', res), ws.once('error', rej)));
    }),
  );
  return plain.length;
}

const handlers: Record<string, (m: never) => Promise<unknown>> = {
  'floor-clients': floorClients,
  /** Frames counted so far (after a moment for the last round to arrive); `close` ends the clients. */
  'floor-count': async (m: { close?: boolean }) => {
    await sleep(300);
    if (m.close) for (const ws of plain.splice(0)) ws.terminate();
    return plainFrames;
  },
  load: (m: { config: LoadConfig }) => load(m.config),
  'memory-phase': memoryPhase,
  'memory-close': async () => {
    for (const c of idle.splice(0)) c.close();
    return true;
  },
  coldload,
  coldloadRaw,
};

process.on('message', (m: { id: number; cmd: string }) => {
  const h = handlers[m.cmd];
  if (!h) return send({ id: m.id, error: `unknown command ${m.cmd}` });
  h(m as never).then(
    (result) => send({ id: m.id, result }),
    (e: Error) => send({ id: m.id, error: e.stack ?? e.message }),
  );
});
console.log('generator ready');
