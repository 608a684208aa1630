/**
 * Search index lag under the hotroom load: from a comment stored (its REST call answered 201) to the first
 * `GET /api/search` that finds it, while 400 raw writers add 2 comments a second each to one document (the hotroom
 * scenario of run.ts, driven by the same generator process). Probe comments go alternately into the hot document
 * (whose index rows the projector recomputes while it grows by 800 comments a second) and into a quiet second
 * document on the same server; each probe carries a word of its own and is polled for every 20 ms.
 *
 *   npm run bench:search-lag -- [--pg=postgres://postgres@127.0.0.1/test] [--runs=3] [--seconds=20]
 *                               [--writers=400] [--rate=2] [--delay=MS (MARGINALIA_PROJECTION_DELAY_MS)]
 *
 * SQLite always; PostgreSQL too with --pg (a schema of its own, dropped afterwards).
 */
import pg from 'pg';
import { ARTICLE, SMALL_ARTICLE, startGenerator } from './scenarios.js';
import { provision, startTarget } from './servers.js';
import { ask, loadavg, sleep, stop } from './lib/proc.js';
import type { LoadConfig, LoadResult } from './gen.js';

const args = process.argv.slice(2);
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const PG = opt('pg') ?? null;
const RUNS = Number(opt('runs') ?? 3);
const SECONDS = Number(opt('seconds') ?? 20);
const WRITERS = Number(opt('writers') ?? 400);
const RATE = Number(opt('rate') ?? 2);
const DELAY = opt('delay');
const PROBE_EVERY_MS = 500;
const POLL_MS = 20;
const GIVE_UP_MS = 30_000;

interface Probe {
  where: 'hot' | 'quiet';
  lagMs: number | null;
}

interface Run {
  engine: string;
  probes: Probe[];
  load: LoadResult;
  loadBefore: string;
  loadAfter: string;
}

async function call<T>(http: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${http}/api${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

/** A word no text holds: letters only, from a counter. */
const marker = (n: number) => `lagmark${n.toString(26).replace(/[0-9]/g, (d) => 'qrstuvwxyz'[Number(d)]!)}`;

async function oneRun(engine: 'sqlite' | 'postgres', run: number): Promise<Run> {
  const schema = `bench_lag_${Date.now()}`;
  const env: Record<string, string> = {};
  if (engine === 'postgres') Object.assign(env, { DATABASE_URL: PG!, MARGINALIA_PG_SCHEMA: schema });
  if (DELAY) env.MARGINALIA_PROJECTION_DELAY_MS = DELAY;
  const loadBefore = loadavg();
  const server = await startTarget('marginalia', { env });
  const gen = await startGenerator();
  try {
    const { target, owner, docIds, adminToken } = await provision(server, [
      { title: 'Hot room', content: ARTICLE },
      { title: 'Quiet room', content: SMALL_ARTICLE },
    ]);
    const [hot, quiet] = docIds as [string, string];
    // One thread in each document for the probes' replies.
    const threads: Record<'hot' | 'quiet', { doc: string; thread: string }> = {} as never;
    for (const [where, doc, exact] of [
      ['hot', hot, ARTICLE.slice(200, 240)],
      ['quiet', quiet, SMALL_ARTICLE.slice(200, 240)],
    ] as const) {
      const t = await call<{ id: string }>(server.http, adminToken, 'POST', `/documents/${doc}/threads`, {
        exact: exact.trim(),
        body: `Probe thread of the ${where} document.`,
      });
      if (t.status !== 201) throw new Error(`thread: ${t.status} ${JSON.stringify(t.json)}`);
      threads[where] = { doc, thread: t.json.id };
    }
    const config: LoadConfig = {
      target,
      writerTarget: owner,
      doc: hot,
      serverPid: server.pid,
      seedFile: null,
      receivers: 0,
      realReceivers: 2,
      writers: WRITERS,
      writerKind: 'raw',
      rate: RATE,
      warmupMs: 3000,
      durationMs: SECONDS * 1000,
      drainMs: 3000,
    };
    let windowOpen = false;
    let windowClosed = false;
    gen.proc.on('message', (m: { event?: string; phase?: string }) => {
      if (m?.event !== 'window') return;
      if (m.phase === 'start') windowOpen = true;
      else windowClosed = true;
    });
    const loaded = ask<LoadResult>(gen.proc, { cmd: 'load', config }, config.warmupMs + config.durationMs + 300_000);
    const probes: Promise<Probe>[] = [];
    let n = run * 100_000;
    while (!windowOpen) await sleep(50);
    while (!windowClosed) {
      const where = probes.length % 2 === 0 ? 'hot' : 'quiet';
      const word = marker(n++);
      probes.push(probe(server.http, adminToken, threads[where], where, word));
      await sleep(PROBE_EVERY_MS);
    }
    const load = await loaded;
    return { engine, probes: await Promise.all(probes), load, loadBefore, loadAfter: loadavg() };
  } finally {
    await stop(gen.proc);
    await server.stop();
    if (engine === 'postgres') {
      const client = new pg.Client({ connectionString: PG! });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }
}

async function probe(
  http: string,
  token: string,
  at: { doc: string; thread: string },
  where: 'hot' | 'quiet',
  word: string,
): Promise<Probe> {
  const r = await call<{ id: string }>(http, token, 'POST', `/documents/${at.doc}/threads/${at.thread}/comments`, {
    body: `Index lag probe ${word}.`,
  });
  if (r.status !== 201) throw new Error(`comment: ${r.status} ${JSON.stringify(r.json)}`);
  const stored = performance.now();
  while (performance.now() - stored < GIVE_UP_MS) {
    const s = await call<{ items: { commentId?: string }[] }>(http, token, 'GET', `/search?q=${word}`);
    if (s.status === 200 && s.json.items.some((i) => i.commentId === r.json.id)) {
      return { where, lagMs: performance.now() - stored };
    }
    await sleep(POLL_MS);
  }
  return { where, lagMs: null };
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const engines: ('sqlite' | 'postgres')[] = PG ? ['sqlite', 'postgres'] : ['sqlite'];
console.log(
  `search index lag under the hotroom load: ${WRITERS} writers × ${RATE}/s for ${SECONDS} s, ${RUNS} runs per engine, ` +
    `projection delay ${DELAY ?? 'default (250)'} ms`,
);
for (const engine of engines) {
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await oneRun(engine, i);
    runs.push(r);
    for (const where of ['hot', 'quiet'] as const) {
      const lags = r.probes.filter((p) => p.where === where && p.lagMs !== null).map((p) => p.lagMs!);
      lags.sort((a, b) => a - b);
      const missing = r.probes.filter((p) => p.where === where && p.lagMs === null).length;
      console.log(
        `  ${engine} run ${i + 1} ${where.padEnd(5)}: ${lags.length} probes, p50 ${pct(lags, 50).toFixed(0)} ms, ` +
          `p99 ${pct(lags, 99).toFixed(0)} ms, max ${lags.at(-1)!.toFixed(0)} ms${missing ? `, ${missing} never found` : ''}`,
      );
    }
    console.log(
      `    hotroom: sent ${r.load.sent}, drops ${r.load.drops}, delivery p99 ${r.load.p99_ms} ms, server CPU ` +
        `${r.load.server_cpu_util}, other work ${r.load.others_cpu} cores, closed ${JSON.stringify(r.load.closed)}; ` +
        `load ${r.loadBefore} -> ${r.loadAfter}`,
    );
  }
  for (const where of ['hot', 'quiet'] as const) {
    const all = runs
      .flatMap((r) => r.probes)
      .filter((p) => p.where === where && p.lagMs !== null)
      .map((p) => p.lagMs!)
      .sort((a, b) => a - b);
    const perRun = runs.map((r) => {
      const l = r.probes.filter((p) => p.where === where && p.lagMs !== null).map((p) => p.lagMs!);
      l.sort((a, b) => a - b);
      return { p50: pct(l, 50), p99: pct(l, 99) };
    });
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `${engine} ${where}: all ${all.length} probes p50 ${pct(all, 50).toFixed(0)} ms, p99 ${pct(all, 99).toFixed(0)} ms; ` +
        `median of runs p50 ${median(perRun.map((r) => r.p50)).toFixed(0)} ms, p99 ${median(perRun.map((r) => r.p99)).toFixed(0)} ms`,
    );
  }
}
