/**
 * One run of each scenario against one server: start the server (fresh data), provision, drive a generator
 * process, collect the generator's figures plus the server's event-loop delay, stop everything.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ask, loadavg, pinned, sleep, spawnReady, stop, GENERATOR_CORE, type Child } from './lib/proc.js';
import { round } from './lib/hist.js';
import type { ServerKind, Target } from './lib/clients.js';
import type { LoadConfig, LoadResult } from './gen.js';
import {
  ARTICLE_FILE,
  probe,
  provision,
  referenceTarget,
  residentDocs,
  startTarget,
  type RunningTarget,
} from './servers.js';

const GEN = join(import.meta.dirname, 'gen.js');

export const ARTICLE = readFileSync(ARTICLE_FILE, 'utf8');
/** A small document: the article's first paragraphs (about 1.5 KB). */
export const SMALL_ARTICLE = ARTICLE.slice(0, ARTICLE.indexOf('\n\n', 1400));

export const startGenerator = (): Promise<Child> =>
  spawnReady(pinned(GENERATOR_CORE, ['node', '--max-old-space-size=4096', GEN]), { ready: /generator ready/ });

export interface Seeds {
  article: string;
  small: string;
}

/** The generator's load shape, plus what the scenario decides about the server under test. */
export interface LoadSpec extends Pick<
  LoadConfig,
  'receivers' | 'realReceivers' | 'writers' | 'writerKind' | 'rate' | 'warmupMs' | 'durationMs' | 'drainMs'
> {
  /** Extra environment for the server under test (experiments with its knobs). */
  serverEnv?: Record<string, string>;
  /** Marginalia: writers connect as the document's owner instead of as commenters. */
  ownerWriters?: boolean;
}

export interface LoadRun extends LoadResult {
  /** Set by the bench: which attempt this run was (runs disturbed by other work are repeated). */
  attempts?: number;
  loop_lag_p50_ms: number | null;
  loop_lag_p99_ms: number | null;
  loop_lag_max_ms: number | null;
  /** monitorEventLoopDelay over the same window (reset/read over IPC: shifted when the server is saturated). */
  eld_p99_ms: number | null;
  eld_samples: number | null;
  storage: string | null;
  load_before: string;
  load_after: string;
  profile: string | null;
  /**
   * Marginalia: the projector's lag (marginalia_projector_lag_seconds, per log entry: stored -> every consumer
   * committed) for the entries projected from the window's start until the backlog was empty after the drain,
   * interpolated within the histogram's buckets (100 ms wide between 0.1 and 1 s). Null for the references.
   */
  projector_lag?: { p50_ms: number; p99_ms: number; max_bucket_ms: number; entries: number; drained: boolean } | null;
}

/** A server with one document holding the seed article, and who the clients are. */
async function targetWithDocument(
  kind: ServerKind,
  seeds: Seeds,
  env?: Record<string, string>,
): Promise<{ server: RunningTarget; target: Target; owner: Target | null; doc: string; seedFile: string | null }> {
  // Only Marginalia takes the experiment's environment; the references run as they are.
  const server = await startTarget(kind, env && kind.startsWith('marginalia') ? { env } : {});
  if (kind.startsWith('marginalia')) {
    const { target, owner, docIds } = await provision(server, [{ title: 'Bench article', content: ARTICLE }]);
    return { server, target, owner, doc: docIds[0]!, seedFile: null };
  }
  return {
    server,
    target: referenceTarget(server),
    owner: null,
    doc: `bench-${randomUUID()}`,
    seedFile: seeds.article,
  };
}

/** Runs one load (fanout, hotroom or durable shape) against `kind`; `profileFile` records the window's CPU profile. */
export async function runLoad(kind: ServerKind, spec: LoadSpec, seeds: Seeds, profileFile?: string): Promise<LoadRun> {
  const load_before = loadavg();
  const { server, target, owner, doc, seedFile } = await targetWithDocument(kind, seeds, spec.serverEnv);
  const gen = await startGenerator();
  type Lag = { p50_ms: number; p99_ms: number; max_ms: number; samples: number };
  let lag: Promise<Lag & { eld: Lag }> | null = null;
  let profiled: Promise<unknown> | null = null;
  let from = 0;
  const marginalia = kind.startsWith('marginalia');
  let projectedBefore: Promise<Buckets | null> = Promise.resolve(null);
  gen.proc.on('message', (m: { event?: string; phase?: string; at?: number }) => {
    if (m?.event !== 'window') return;
    if (m.phase === 'start') {
      from = m.at!;
      if (marginalia) projectedBefore = projectorBuckets(server.http).catch(() => null);
      void probe(server, 'lag-reset');
      if (profileFile) profiled = ask(server.child.proc, { cmd: 'prof-start' });
    } else {
      lag = ask(server.child.proc, { cmd: 'lag-window', from, to: m.at! }, 120_000);
      if (profileFile)
        profiled = (profiled ?? Promise.resolve()).then(() =>
          ask(server.child.proc, { cmd: 'prof-stop', file: profileFile }),
        );
    }
  });
  try {
    const { ownerWriters, serverEnv: _env, ...rest } = spec;
    const config: LoadConfig = {
      target,
      writerTarget: ownerWriters && owner ? owner : null,
      doc,
      serverPid: server.pid,
      seedFile,
      ...rest,
    };
    const budget = spec.warmupMs + spec.durationMs + spec.drainMs + 240_000;
    const result = await ask<LoadResult>(gen.proc, { cmd: 'load', config }, budget);
    const l = lag ? await (lag as Promise<Lag & { eld: Lag }>) : null;
    if (process.env.BENCH_DEBUG) console.error('lag', l);
    if (profiled) await profiled;
    const projector_lag = marginalia ? await projectorLag(server.http, await projectedBefore) : null;
    if (process.env.BENCH_DEBUG) console.error('projector lag', projector_lag);
    return {
      ...result,
      projector_lag,
      loop_lag_p50_ms: l ? round(l.p50_ms) : null,
      loop_lag_p99_ms: l ? round(l.p99_ms) : null,
      loop_lag_max_ms: l ? round(l.max_ms) : null,
      eld_p99_ms: l ? round(l.eld.p99_ms) : null,
      eld_samples: l ? l.eld.samples : null,
      storage: server.storage,
      load_before,
      load_after: loadavg(),
      profile: profileFile ?? null,
    };
  } finally {
    await stop(gen.proc);
    await server.stop();
  }
}

/** Cumulative counts of marginalia_projector_lag_seconds by upper bound (seconds), and the backlog gauge. */
type Buckets = { le: number[]; counts: number[]; backlog: number };

async function projectorBuckets(http: string): Promise<Buckets> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const le: number[] = [];
  const counts: number[] = [];
  for (const m of text.matchAll(/^marginalia_projector_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
    le.push(m[1] === '+Inf' ? Infinity : Number(m[1]));
    counts.push(Number(m[2]));
  }
  const backlog = Number(/^marginalia_projector_backlog_documents (\d+)/m.exec(text)?.[1] ?? 0);
  return { le, counts, backlog };
}

/** The lag quantiles between two scrapes, once the projector's backlog is empty (waited for up to 60 s). */
async function projectorLag(http: string, before: Buckets | null): Promise<LoadRun['projector_lag']> {
  if (!before) return null;
  let after = await projectorBuckets(http);
  const until = Date.now() + 60_000;
  while (after.backlog > 0 && Date.now() < until) {
    await sleep(250);
    after = await projectorBuckets(http);
  }
  const counts = after.counts.map((c, i) => c - (before.counts[i] ?? 0));
  const total = counts.at(-1) ?? 0;
  if (!total) return { p50_ms: 0, p99_ms: 0, max_bucket_ms: 0, entries: 0, drained: after.backlog === 0 };
  const quantile = (q: number) => {
    const rank = q * total;
    const i = counts.findIndex((c) => c >= rank);
    const lo = i > 0 ? after.le[i - 1]! : 0;
    const hi = after.le[i]!;
    if (!Number.isFinite(hi)) return lo * 1000;
    const below = i > 0 ? counts[i - 1]! : 0;
    return (lo + ((hi - lo) * (rank - below)) / Math.max(1, counts[i]! - below)) * 1000;
  };
  const top = counts.findIndex((c) => c === total);
  return {
    p50_ms: round(quantile(0.5)),
    p99_ms: round(quantile(0.99)),
    max_bucket_ms: Number.isFinite(after.le[top]!) ? after.le[top]! * 1000 : Infinity,
    entries: total,
    drained: after.backlog === 0,
  };
}

export interface MemoryRun {
  kb_per_idle_conn: number;
  kb_per_small_doc: number;
  docs_resident_after_grace: number | null;
  rss_kb_per_idle_conn: number;
  rss_kb_per_small_doc: number;
  heap_kb_per_idle_conn: number;
  heap_kb_per_small_doc: number;
  rss_mb: { base: number; docs: number; conns: number; after: number };
  grace_ms: number;
  load_before: string;
  load_after: string;
}

type Mem = { rss: number; heapUsed: number; external: number };

/** 2,000 idle connections over 200 documents: memory per connection and per loaded document, then unload. */
export async function runMemory(
  kind: ServerKind,
  seeds: Seeds,
  docsN = 200,
  perDoc = 10,
  graceMs = 3000,
): Promise<MemoryRun> {
  const load_before = loadavg();
  const server = await startTarget(kind, { env: { MARGINALIA_UNLOAD_GRACE_MS: String(graceMs) } });
  const gen = await startGenerator();
  try {
    let target: Target;
    let docs: string[];
    let seedFile: string | null = null;
    if (kind.startsWith('marginalia')) {
      const p = await provision(
        server,
        Array.from({ length: docsN }, (_, i) => ({ title: `Small ${i}`, content: SMALL_ARTICLE })),
      );
      target = p.target;
      docs = p.docIds;
    } else {
      target = referenceTarget(server);
      docs = Array.from({ length: docsN }, (_, i) => `mem-${i}-${randomUUID()}`);
      seedFile = seeds.small;
    }
    await sleep(500);
    const m0 = await probe<Mem>(server, 'mem');
    await ask(gen.proc, { cmd: 'memory-phase', target, docs, perDoc: 1, seedFile }, 120_000);
    await sleep(500);
    const m1 = await probe<Mem>(server, 'mem');
    await ask(gen.proc, { cmd: 'memory-phase', target, docs, perDoc: perDoc - 1, seedFile: null }, 240_000);
    await sleep(500);
    const m2 = await probe<Mem>(server, 'mem');
    await ask(gen.proc, { cmd: 'memory-close' });
    await sleep(graceMs + 2000);
    const resident = await residentDocs(server);
    const m3 = await probe<Mem>(server, 'mem');
    const extraConns = docsN * (perDoc - 1);
    const heap = (m: Mem) => m.heapUsed + m.external;
    const perConn = (m2.rss - m1.rss) / extraConns / 1024;
    const heapPerConn = (heap(m2) - heap(m1)) / extraConns / 1024;
    const perDocRss = (m1.rss - m0.rss) / docsN / 1024 - perConn;
    const perDocHeap = (heap(m1) - heap(m0)) / docsN / 1024 - heapPerConn;
    // RSS misses what fits in heap pages already reserved; the heap misses native memory: report the larger.
    return {
      kb_per_idle_conn: round(Math.max(perConn, heapPerConn), 1),
      kb_per_small_doc: round(Math.max(perDocRss, perDocHeap), 1),
      rss_kb_per_idle_conn: round(perConn, 1),
      rss_kb_per_small_doc: round(perDocRss, 1),
      docs_resident_after_grace: resident,
      heap_kb_per_idle_conn: round(heapPerConn, 1),
      heap_kb_per_small_doc: round(perDocHeap, 1),
      rss_mb: {
        base: round(m0.rss / 2 ** 20, 1),
        docs: round(m1.rss / 2 ** 20, 1),
        conns: round(m2.rss / 2 ** 20, 1),
        after: round(m3.rss / 2 ** 20, 1),
      },
      grace_ms: kind.startsWith('marginalia') ? graceMs : 0,
      load_before,
      load_after: loadavg(),
    };
  } finally {
    await stop(gen.proc);
    await server.stop();
  }
}

export interface FloorFigures {
  frames_sent: number;
  frames_received: number;
  us_per_frame: number;
  user_us_per_frame: number;
  system_us_per_frame: number;
}

/** `ws.send` per socket (the figures at the top level), and `raw`: one frame built once, written to each socket. */
export interface FloorRun extends FloorFigures {
  clients: number;
  raw: FloorFigures;
}

/** Calibration: CPU per delivered frame of a bare ws server sending ready-made messages (no Yjs, no protocol). */
export async function runFloor(clients = 500, rounds = 250): Promise<FloorRun> {
  const server = await startTarget('floor');
  const gen = await startGenerator();
  try {
    await ask(gen.proc, { cmd: 'floor-clients', url: server.ws, n: clients }, 60_000);
    let counted = 0;
    const blast = async (mode: 'ws' | 'raw', close = false): Promise<FloorFigures> => {
      const r = await ask<{ frames: number; user_us: number; system_us: number }>(
        server.child.proc,
        { cmd: 'blast', rounds, gapMs: 20, mode },
        120_000,
      );
      const total = await ask<number>(gen.proc, { cmd: 'floor-count', close });
      const received = total - counted;
      counted = total;
      return {
        frames_sent: r.frames,
        frames_received: received,
        us_per_frame: round((r.user_us + r.system_us) / r.frames, 2),
        user_us_per_frame: round(r.user_us / r.frames, 2),
        system_us_per_frame: round(r.system_us / r.frames, 2),
      };
    };
    const viaWs = await blast('ws');
    return { clients, ...viaWs, raw: await blast('raw', true) };
  } finally {
    await stop(gen.proc);
    await server.stop();
  }
}
