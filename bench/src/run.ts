/**
 * `npm run bench` (quick profile, one run each, results in bench/tmp/quick) and `npm run bench -- --full`
 * (3 runs per scenario, the median run reported, results in bench/results + bench/RESULTS.md).
 * Options: --only=fanout,hotroom,durable,coldload,memory  --servers=marginalia,hocuspocus,…  --runs=N
 *          --hotroom-seconds=N (the hotroom's window)
 *          --out=DIR  --no-profile  --quiet-wait=SECONDS  --writers=owner|commenter
 *          --server-env=NAME=VALUE,… (extra environment for Marginalia in the load scenarios: experiments with its knobs)
 *          --report-only (rewrite latest.json, RESULTS.md and latency.svg from DIR/details.json, measuring nothing)
 */
import { mkdirSync, readFileSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { loadavg, pinningNote, waitForQuiet } from './lib/proc.js';
import { medianRun } from './lib/hist.js';
import { summarize, type ProfileSummary } from './lib/profile.js';
import type { ServerKind } from './lib/clients.js';
import {
  ARTICLE,
  SMALL_ARTICLE,
  runFloor,
  runLoad,
  runMemory,
  type FloorRun,
  type LoadRun,
  type LoadSpec,
  type MemoryRun,
  type Seeds,
} from './scenarios.js';
import { buildColdloadData, runColdload, type ColdloadRun } from './coldload.js';
import { BENCH_DIR, TMP, seedState } from './servers.js';
import { writeReport } from './report.js';
import { policyRaceCheck } from './checks.js';
import { freeze, sourceState } from './lib/freeze.js';
import { spawnSync } from 'node:child_process';

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
/** Before each run, wait up to this many seconds for other work on the machine to calm down. */
const quietWaitS = Number(opt('quiet-wait') ?? (full ? 30 : 0));

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

// --hotroom-seconds=N: the hotroom's measurement window (the quick profile's 6 s is short for the projector's lag).
if (opt('hotroom-seconds')) {
  P.hotroom.durationMs = s(Number(opt('hotroom-seconds')));
  P.hotroom.drainMs = Math.max(P.hotroom.drainMs, s(10));
}

const REAL_RECEIVERS = 5;
/**
 * Marginalia's writers are commenters (the product's usual writer, full policy check) — unless the policy race
 * check fails: then a commenter's updates are refused (4403) whenever two of them reach the server in one turn,
 * which under load is within seconds, and the writers connect as the document's owner instead (noted in
 * RESULTS.md). --writers=commenter|owner forces either.
 */
let ownerWriters = opt('writers') === 'owner';
const serverEnv: Record<string, string> | undefined = opt('server-env')
  ? Object.fromEntries(
      args
        .find((a) => a.startsWith('--server-env='))!
        .slice('--server-env='.length)
        .split(',')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    )
  : undefined;
const fanoutSpec = (clients: number, durationMs = P.fanout.durationMs): LoadSpec => ({
  serverEnv,
  ownerWriters,
  receivers: clients - REAL_RECEIVERS - 1,
  realReceivers: REAL_RECEIVERS,
  writers: 1,
  writerKind: 'real',
  rate: 50,
  warmupMs: P.fanout.warmupMs,
  durationMs,
  drainMs: P.fanout.drainMs,
});
const hotroomSpec = (): LoadSpec => ({
  serverEnv,
  ownerWriters,
  receivers: 0,
  realReceivers: 2,
  writers: P.hotroom.writers,
  writerKind: 'raw',
  rate: P.hotroom.rate,
  warmupMs: P.hotroom.warmupMs,
  durationMs: P.hotroom.durationMs,
  drainMs: P.hotroom.drainMs,
});
const durableSpec = (): LoadSpec => ({
  serverEnv,
  ownerWriters,
  receivers: 0,
  realReceivers: 2,
  writers: P.durable.writers,
  writerKind: 'raw',
  rate: P.durable.rate,
  warmupMs: P.durable.warmupMs,
  durationMs: P.durable.durationMs,
  drainMs: P.durable.drainMs,
});

export interface Details {
  profile: 'quick' | 'full';
  /** The source the measured build came from (a dirty tree: files changed since the commit). */
  source?: { commit: string; changed_files: number };
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
  /** Share of the machine busy with other work just before each run. */
  busyBefore: Record<string, number>;
  notes: string[];
}

const log = (...m: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}] load ${loadavg()} |`, ...m);

/** Other processes' CPU (cores) during a load window above which the run is repeated. */
const DISTURBED = 0.25;

/** Busy share of the machine (other work) measured just before each run, by run label. */
const busyBefore: Record<string, number> = {};

async function quiet(label: string): Promise<void> {
  const q = await waitForQuiet(quietWaitS);
  busyBefore[label] = q.busy;
  if (q.waitedS > 1) log(`${label}: waited ${q.waitedS} s for a quieter machine (busy ${Math.round(q.busy * 100)}%)`);
}

async function repeat<T>(label: string, n: number, fn: () => Promise<T>, brief: (r: T) => string): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    await quiet(`${label} #${i + 1}`);
    const r = await fn();
    log(`${label} run ${i + 1}/${n}: ${brief(r)}`);
    out.push(r);
  }
  return out;
}

/** Runs each server `n` times, rotating the order each round, so that a noisy period hits all servers alike. */
async function interleaved(
  label: string,
  kinds: ServerKind[],
  n: number,
  fn: (k: ServerKind) => Promise<LoadRun>,
): Promise<Record<string, LoadRun[]>> {
  const out: Record<string, LoadRun[]> = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < kinds.length; j++) {
      const k = kinds[(i + j) % kinds.length]!;
      // A full run during which other processes took more than DISTURBED of a core is repeated (twice at most).
      let r: LoadRun | null = null;
      for (let attempt = 1; attempt <= (full ? 3 : 1); attempt++) {
        await quiet(`${label} ${k} #${i + 1}`);
        r = { ...(await fn(k)), attempts: attempt };
        log(`${label} ${k} run ${i + 1}/${n}${attempt > 1 ? ` (attempt ${attempt})` : ''}: ${briefLoad(r)}`);
        if (r.others_cpu <= DISTURBED) break;
      }
      out[k]!.push(r!);
    }
  }
  return out;
}
const briefLoad = (r: LoadRun) =>
  `p50 ${r.p50_ms} p99 ${r.p99_ms} max ${r.max_ms} ms, drops ${r.drops}, ${r.server_us_per_frame} us/frame (user ${r.server_user_us_per_frame}), ${r.frames_per_update} frames/update, lag p99 ${r.loop_lag_p99_ms} ms, CPU server ${r.server_cpu_util} gen ${r.gen_cpu_util}, run-queue wait server ${r.server_runq_wait} gen ${r.gen_runq_wait}, others ${r.others_cpu} CPU${r.projector_lag ? `, projector lag p50 ${r.projector_lag.p50_ms} p99 ${r.projector_lag.p99_ms} ms (${r.projector_lag.entries} entries${r.projector_lag.drained ? '' : ', NOT drained'})` : ''}${Object.keys(r.closed).length ? `, closed ${JSON.stringify(r.closed)}` : ''}`;

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const profDir = join(TMP, 'profiles');
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const d: Details = {
    profile: full ? 'full' : 'quick',
    started: new Date().toISOString(),
    finished: '',
    source: sourceState(join(BENCH_DIR, '..')),
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
    busyBefore,
    notes: [],
  };
  log(`bench ${d.profile}: ${only.join(', ')} against ${servers.join(', ')}; ${runs} run(s) each; ${pinningNote}`);
  if (servers.includes('marginalia')) {
    const race = await policyRaceCheck();
    log(`policy race check: ${race.refused ? `REFUSED (${race.detail})` : race.detail}`);
    if (race.refused) {
      if (opt('writers') === undefined) ownerWriters = true;
      d.notes.push(
        `Policy race (a correctness bug, not only speed): a commenter's two dependent updates arriving in one server turn (open a thread, then reply) are refused — "${race.detail}" — because the second is checked against the document without the first, which is still in the write queue. Any fast client, or any client while the server is busy (a flush with a compaction takes hundreds of ms), hits it, and a refused writer's socket is closed. ${ownerWriters ? "Marginalia's writers therefore connect as the document's owner here (owners skip the policy walk; the update is still decoded); receivers are commenters." : 'Writers were forced to be commenters (--writers=commenter).'}`,
      );
    } else {
      d.notes.push('Policy race check passed: two dependent commenter updates in one server turn are both accepted.');
    }
  }
  if (serverEnv)
    d.notes.push(
      `Experiment: Marginalia ran with ${Object.entries(serverEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')} in the load scenarios.`,
    );
  const seeds: Seeds = { article: await seedState('article', ARTICLE), small: await seedState('small', SMALL_ARTICLE) };

  if (only.includes('fanout')) {
    d.floor = await runFloor(P.fanout.clients);
    const f = d.floor;
    log(
      `floor: a bare ws server spends ${f.us_per_frame} us CPU per frame with ws.send (user ${f.user_us_per_frame}, system ${f.system_us_per_frame}; ${f.frames_received}/${f.frames_sent} received), ${f.raw.us_per_frame} us writing ready frames (user ${f.raw.user_us_per_frame}, system ${f.raw.system_us_per_frame}; ${f.raw.frames_received}/${f.raw.frames_sent} received)`,
    );
    d.fanout = await interleaved(`fanout ${P.fanout.clients}`, servers, runs, (k) =>
      runLoad(k, fanoutSpec(P.fanout.clients), seeds),
    );
    for (const k of servers) d.sweep[k] = { [P.fanout.clients]: medianRun(d.fanout[k]!, (r) => r.p99_ms) };
    for (const n of P.sweep) {
      const point = await interleaved(`sweep ${n}`, servers, 1, (k) => runLoad(k, fanoutSpec(n, P.sweepMs), seeds));
      for (const k of servers) d.sweep[k]![n] = point[k]![0]!;
    }
  }
  if (only.includes('hotroom')) {
    d.hotroom = await interleaved('hotroom', servers, runs, (k) => runLoad(k, hotroomSpec(), seeds));
  }
  if (only.includes('durable') && servers.includes('marginalia')) {
    d.durable = await interleaved('durable', ['marginalia', 'marginalia-nopersist'], runs, (k) =>
      runLoad(k, durableSpec(), seeds),
    );
    const st = d.durable['marginalia-nopersist']?.[0]?.storage;
    d.notes.push(
      st === 'memory'
        ? 'durable: "marginalia-nopersist" is the same server with MARGINALIA_STORAGE=memory (SQLite :memory:, nothing written to disk; the write path, batching and policy are unchanged).'
        : 'durable: the server ignored MARGINALIA_STORAGE=memory; "marginalia-nopersist" is the same SQLite with DATA_DIR on tmpfs (/dev/shm): fsync costs nothing but SQLite still runs.',
    );
  }
  if (only.includes('coldload') && servers.includes('marginalia')) {
    const threads = 10_000;
    const comments = 30_000;
    const t0 = Date.now();
    const data = await buildColdloadData(threads, comments);
    log(
      `coldload: built ${threads} threads / ${comments} comments (${(data.storedBytes / 2 ** 20).toFixed(1)} MB stored) in ${Date.now() - t0} ms`,
    );
    const r = await repeat(
      'coldload',
      runs,
      () => runColdload(data),
      (x) =>
        `load ${x.load_ms} ms, first data ${x.first_data_ms} ms, whole state ${x.state_received_ms} ms, article ${x.article_ms} ms, first sync ${x.first_sync_ms} ms (cold), article ${x.warm_article_ms} ms, first sync ${x.warm_first_sync_ms} ms (warm), state ${x.state_bytes} B`,
    );
    d.coldload = { threads, comments, runs: r };
    if (profiling) {
      // The whole server process under `node --cpu-prof`: start, load, three syncs.
      const dir = join(profDir, 'coldload');
      await quiet('profile coldload');
      await runColdload(data, dir);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (file) d.profiles.coldload = summarize(join(dir, file));
      log(
        `profile coldload: ${
          d.profiles.coldload
            ? `busy ${d.profiles.coldload.busy_ms} ms; ${d.profiles.coldload.ours
                .slice(0, 4)
                .map((o) => `${o.fn} ${o.pct}%`)
                .join(', ')}`
            : 'no profile written'
        }`,
      );
    }
    rmSync(data.dataDir, { recursive: true, force: true });
  }
  if (only.includes('memory')) {
    for (const k of opt('servers') ? servers : servers.filter((x) => P.memoryServers.includes(x))) {
      d.memory[k] = await repeat(
        `memory ${k}`,
        runs,
        () => runMemory(k, seeds),
        (x) =>
          `${x.kb_per_idle_conn} KB/conn, ${x.kb_per_small_doc} KB/doc, resident after grace ${x.docs_resident_after_grace} (RSS ${x.rss_kb_per_idle_conn}/${x.rss_kb_per_small_doc}, heap ${x.heap_kb_per_idle_conn}/${x.heap_kb_per_small_doc}) rss MB ${JSON.stringify(x.rss_mb)}`,
      );
    }
  }
  if (profiling && servers.includes('marginalia')) {
    // One more run of the load scenarios with the V8 sampling profiler on Marginalia, limited to the window.
    const profile = async (name: string, spec: LoadSpec) => {
      const file = join(profDir, `marginalia-${name}.cpuprofile`);
      await quiet(`profile ${name}`);
      const r = await runLoad('marginalia', spec, seeds, file);
      d.profiles[name] = summarize(file);
      log(
        `profile ${name}: ${briefLoad(r)}; busy ${d.profiles[name].busy_ms} ms; areas ${d.profiles[name].areas
          .slice(0, 6)
          .map((a) => `${a.area} ${a.pct}%`)
          .join(', ')}`,
      );
    };
    if (only.includes('fanout')) await profile('fanout', fanoutSpec(P.fanout.clients));
    if (only.includes('hotroom')) await profile('hotroom', hotroomSpec());
    if (only.includes('durable')) await profile('durable', durableSpec());
  }
  d.load.end = loadavg();
  d.finished = new Date().toISOString();
  const previous = existsSync(join(outDir, 'latest.json'))
    ? (JSON.parse(readFileSync(join(outDir, 'latest.json'), 'utf8')) as Record<string, unknown>)
    : null;
  writeReport(d, outDir, previous);
  log(`done: ${outDir}`);
}

async function reportOnly(): Promise<void> {
  const d = JSON.parse(readFileSync(join(outDir, 'details.json'), 'utf8')) as Details;
  const previous = existsSync(join(outDir, 'latest.json'))
    ? (JSON.parse(readFileSync(join(outDir, 'latest.json'), 'utf8')) as Record<string, unknown>)
    : null;
  writeReport(d, outDir, previous, false);
}

/** Re-runs this bench from a frozen copy of the build (see lib/freeze.ts); returns its exit code. */
function runFrozen(): number {
  const sut = freeze(BENCH_DIR);
  console.log(`bench: running from a frozen copy of server/dist, shared/dist and bench/dist in ${sut}`);
  const r = spawnSync(process.execPath, [join(sut, 'bench', 'dist', 'run.js'), ...args], {
    stdio: 'inherit',
    env: { ...process.env, MARGINALIA_BENCH_FROZEN: sut, MARGINALIA_BENCH_HOME: BENCH_DIR },
  });
  rmSync(sut, { recursive: true, force: true });
  return r.status ?? 1;
}

if (!flag('report-only') && !process.env.MARGINALIA_BENCH_FROZEN && !flag('no-freeze')) process.exit(runFrozen());

(flag('report-only') ? reportOnly() : main()).then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  },
);
