/**
 * `npm run bench` (quick profile, one run each, results in bench/tmp/quick) and `npm run bench -- --full`
 * (3 runs per scenario, the median run reported, results in bench/results + bench/RESULTS.md).
 * Options: --only=fanout,hotroom,durable,coldload,memory  --servers=marginalia,hocuspocus,…  --runs=N
 *          --out=DIR  --no-profile
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { loadavg, pinningNote } from './lib/proc.js';
import { medianRun } from './lib/hist.js';
import { summarize, type ProfileSummary } from './lib/profile.js';
import type { ServerKind } from './lib/clients.js';
import { ARTICLE, SMALL_ARTICLE, runFloor, runLoad, runMemory, type FloorRun, type LoadRun, type LoadSpec, type MemoryRun, type Seeds } from './scenarios.js';
import { buildColdloadData, runColdload, type ColdloadRun } from './coldload.js';
import { BENCH_DIR, TMP, seedState } from './servers.js';
import { writeReport } from './report.js';
import { policyRaceCheck } from './checks.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];

const full = flag('full');
const runs = Number(opt('runs') ?? (full ? 3 : 1));
const only = opt('only')?.split(',') ?? ['fanout', 'hotroom', 'durable', 'coldload', 'memory'];
const REFS: ServerKind[] = ['marginalia', 'y-websocket-server', 'hocuspocus'];
const servers = (opt('servers')?.split(',') as ServerKind[] | undefined) ?? REFS;
const outDir = opt('out') ?? (full ? join(BENCH_DIR, 'results') : join(TMP, 'quick'));
const profiling = !flag('no-profile');

const s = (x: number) => x * 1000;
const P = full
  ? {
      fanout: { clients: 500, warmupMs: s(3), durationMs: s(20), drainMs: s(10) },
      sweep: [50, 100, 250, 1000],
      sweepMs: s(10),
      hotroom: { writers: 400, rate: 2, warmupMs: s(3), durationMs: s(20), drainMs: s(20) },
      durable: { writers: 100, rate: 5, warmupMs: s(3), durationMs: s(20), drainMs: s(10) },
      memoryServers: REFS,
    }
  : {
      fanout: { clients: 500, warmupMs: s(1.5), durationMs: s(5), drainMs: s(3) },
      sweep: [100],
      sweepMs: s(4),
      hotroom: { writers: 400, rate: 2, warmupMs: s(2), durationMs: s(6), drainMs: s(5) },
      durable: { writers: 100, rate: 5, warmupMs: s(1.5), durationMs: s(5), drainMs: s(3) },
      memoryServers: ['marginalia'] as ServerKind[],
    };

const REAL_RECEIVERS = 5;
// The fan-out writer connects as the document's owner: as a commenter at 50 updates/s it is refused (4403) by the
// policy race that policyRaceCheck shows, whenever two of its updates reach the server in one turn.
const fanoutSpec = (clients: number, durationMs = P.fanout.durationMs): LoadSpec => ({
  ownerWriters: true,
  receivers: clients - REAL_RECEIVERS - 1,
  realReceivers: REAL_RECEIVERS,
  writers: 1,
  writerKind: 'real',
  rate: 50,
  warmupMs: P.fanout.warmupMs,
  durationMs,
  drainMs: P.fanout.drainMs,
});
const hotroomSpec: LoadSpec = { receivers: 0, realReceivers: 2, writers: P.hotroom.writers, writerKind: 'raw', rate: P.hotroom.rate, warmupMs: P.hotroom.warmupMs, durationMs: P.hotroom.durationMs, drainMs: P.hotroom.drainMs };
const durableSpec: LoadSpec = { receivers: 0, realReceivers: 2, writers: P.durable.writers, writerKind: 'raw', rate: P.durable.rate, warmupMs: P.durable.warmupMs, durationMs: P.durable.durationMs, drainMs: P.durable.drainMs };

export interface Details {
  profile: 'quick' | 'full';
  started: string;
  finished: string;
  machine: { cpus: number; model: string; node: string; pinning: string };
  load: { start: string; end: string };
  floor: FloorRun | null;
  fanout: Record<string, LoadRun[]>;
  sweep: Record<string, Record<number, LoadRun>>;
  hotroom: Record<string, LoadRun[]>;
  durable: Record<string, LoadRun[]>;
  coldload: { threads: number; comments: number; runs: ColdloadRun[] } | null;
  memory: Record<string, MemoryRun[]>;
  profiles: Record<string, ProfileSummary>;
  notes: string[];
}

const log = (...m: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}] load ${loadavg()} |`, ...m);

async function repeat<T>(label: string, n: number, fn: () => Promise<T>, brief: (r: T) => string): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fn();
    log(`${label} run ${i + 1}/${n}: ${brief(r)}`);
    out.push(r);
  }
  return out;
}
const briefLoad = (r: LoadRun) =>
  `p50 ${r.p50_ms} p99 ${r.p99_ms} max ${r.max_ms} ms, drops ${r.drops}, ${r.server_us_per_frame} us/frame (user ${r.server_user_us_per_frame}), ${r.frames_per_update} frames/update, lag p99 ${r.loop_lag_p99_ms} ms, CPU server ${r.server_cpu_util} gen ${r.gen_cpu_util}, run-queue wait server ${r.server_runq_wait} gen ${r.gen_runq_wait}${Object.keys(r.closed).length ? `, closed ${JSON.stringify(r.closed)}` : ''}`;

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const profDir = join(TMP, 'profiles');
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const d: Details = {
    profile: full ? 'full' : 'quick',
    started: new Date().toISOString(),
    finished: '',
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', node: process.version, pinning: pinningNote },
    load: { start: loadavg(), end: '' },
    floor: null,
    fanout: {},
    sweep: {},
    hotroom: {},
    durable: {},
    coldload: null,
    memory: {},
    profiles: {},
    notes: [],
  };
  log(`bench ${d.profile}: ${only.join(', ')} against ${servers.join(', ')}; ${runs} run(s) each; ${pinningNote}`);
  if (servers.includes('marginalia')) {
    const race = await policyRaceCheck();
    log(`policy race check: ${race.refused ? `REFUSED (${race.detail})` : race.detail}`);
    if (race.refused) {
      d.notes.push(`Policy race (a correctness bug, not only speed): a commenter's two dependent updates arriving in one server turn (open a thread, then reply) are refused — "${race.detail}" — because the second is checked against the document without the first, which is still in the write queue. Any fast client, or any client while the server is busy, hits it; at 50 updates/s on a loaded machine the fan-out writer is refused within seconds. The fan-out writer therefore connects as the document's owner (owners skip the check); every other Marginalia client is a commenter.`);
    } else {
      d.notes.push('Policy race check passed: two dependent commenter updates in one server turn are both accepted.');
    }
  }
  const seeds: Seeds = { article: await seedState('article', ARTICLE), small: await seedState('small', SMALL_ARTICLE) };

  if (only.includes('fanout')) {
    d.floor = await runFloor(P.fanout.clients);
    log(`floor: a bare ws server spends ${d.floor.us_per_frame} us CPU per frame (user ${d.floor.user_us_per_frame}, system ${d.floor.system_us_per_frame}); ${d.floor.frames_received}/${d.floor.frames_sent} received`);
    for (const k of servers) {
      d.fanout[k] = await repeat(`fanout ${k} ${P.fanout.clients}`, runs, () => runLoad(k, fanoutSpec(P.fanout.clients), seeds), briefLoad);
      d.sweep[k] = { [P.fanout.clients]: medianRun(d.fanout[k], (r) => r.p99_ms) };
      for (const n of P.sweep) {
        const [r] = await repeat(`sweep ${k} ${n}`, 1, () => runLoad(k, fanoutSpec(n, P.sweepMs), seeds), briefLoad);
        d.sweep[k][n] = r!;
      }
    }
  }
  if (only.includes('hotroom')) {
    for (const k of servers) d.hotroom[k] = await repeat(`hotroom ${k}`, runs, () => runLoad(k, hotroomSpec, seeds), briefLoad);
  }
  if (only.includes('durable') && servers.includes('marginalia')) {
    for (const k of ['marginalia', 'marginalia-nopersist'] as ServerKind[]) {
      d.durable[k] = await repeat(`durable ${k}`, runs, () => runLoad(k, durableSpec, seeds), briefLoad);
    }
    if (d.durable['marginalia-nopersist']?.[0]?.storage === 'sqlite') {
      d.notes.push('durable: the server has no storage knob for "persistence off" yet (MARGINALIA_STORAGE=memory is ignored); "marginalia-nopersist" is the same SQLite with DATA_DIR on tmpfs (/dev/shm), so fsync costs nothing but SQLite still runs.');
    }
  }
  if (only.includes('coldload') && servers.includes('marginalia')) {
    const threads = 10_000;
    const comments = 30_000;
    const t0 = Date.now();
    const data = await buildColdloadData(threads, comments);
    log(`coldload: built ${threads} threads / ${comments} comments (${(data.storedBytes / 2 ** 20).toFixed(1)} MB stored) in ${Date.now() - t0} ms`);
    const r = await repeat('coldload', runs, () => runColdload(data), (x) => `load ${x.load_ms} ms, first sync ${x.first_sync_ms} ms (cold), ${x.warm_first_sync_ms} ms (warm), state ${x.state_bytes} B`);
    d.coldload = { threads, comments, runs: r };
    rmSync(data.dataDir, { recursive: true, force: true });
  }
  if (only.includes('memory')) {
    for (const k of opt('servers') ? servers : servers.filter((x) => P.memoryServers.includes(x))) {
      d.memory[k] = await repeat(`memory ${k}`, runs, () => runMemory(k, seeds), (x) =>
        `${x.kb_per_idle_conn} KB/conn, ${x.kb_per_small_doc} KB/doc, resident after grace ${x.docs_resident_after_grace} (RSS ${x.rss_kb_per_idle_conn}/${x.rss_kb_per_small_doc}, heap ${x.heap_kb_per_idle_conn}/${x.heap_kb_per_small_doc}) rss MB ${JSON.stringify(x.rss_mb)}`);
    }
  }
  if (profiling && servers.includes('marginalia')) {
    // One more run of the load scenarios with the V8 sampling profiler on Marginalia, limited to the window.
    const profile = async (name: string, spec: LoadSpec) => {
      const file = join(profDir, `marginalia-${name}.cpuprofile`);
      const r = await runLoad('marginalia', spec, seeds, file);
      d.profiles[name] = summarize(file);
      log(`profile ${name}: ${briefLoad(r)}; busy ${d.profiles[name].busy_ms} ms; areas ${d.profiles[name].areas.slice(0, 6).map((a) => `${a.area} ${a.pct}%`).join(', ')}`);
    };
    if (only.includes('fanout')) await profile('fanout', fanoutSpec(P.fanout.clients));
    if (only.includes('hotroom')) await profile('hotroom', hotroomSpec);
  }
  d.load.end = loadavg();
  d.finished = new Date().toISOString();
  const previous = existsSync(join(outDir, 'latest.json')) ? (JSON.parse(readFileSync(join(outDir, 'latest.json'), 'utf8')) as Record<string, unknown>) : null;
  writeReport(d, outDir, previous);
  log(`done: ${outDir}`);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  },
);
