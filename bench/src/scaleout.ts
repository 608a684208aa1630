/**
 * Scale-out hop: what the Redis hop adds to delivery latency. Two Marginalia instances on one PostgreSQL log and
 * one Redis; 100 clients (half on each instance); one writer on instance A sends timestamped beacons. Latency
 * to receivers on A (same instance) and on B (through Redis) is measured in this one process (one clock); the
 * hop's added latency is the difference of the medians. Needs PostgreSQL (127.0.0.1:5432, database `test`) and
 * Redis (127.0.0.1:6379). Run: `npm run bench:scaleout --workspace bench`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import * as Y from 'yjs';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';

const here = dirname(fileURLToPath(import.meta.url));
const BENCH = join(here, '..');
const CLI = join(BENCH, '..', 'server', 'dist', 'cli.js');
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLIENTS = 100;
const RATE = 20;
const DURATION_MS = Number(process.env.BENCH_SCALEOUT_MS ?? 10_000);
const RUNS = Number(process.env.BENCH_SCALEOUT_RUNS ?? 3);
// every provider registers a process exit hook
process.setMaxListeners(0);

interface Instance {
  child: ChildProcess;
  url: string;
}

function startInstance(env: Record<string, string>): Promise<Instance> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`instance did not start:\n${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`instance exited ${code}:\n${out}`)));
  });
}

async function json(url: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(`${url}/api${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

async function waitFor(cond: () => boolean, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function run(): Promise<{
  same_p50: number;
  cross_p50: number;
  same_p99: number;
  cross_p99: number;
  beacons: number;
}> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const dataDirs = [mkdtempSync(join(tmpdir(), 'bench-a-')), mkdtempSync(join(tmpdir(), 'bench-b-'))];
  const env = {
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: PG_URL,
    MARGINALIA_PG_SCHEMA: schema,
    REDIS_URL,
    REDIS_PREFIX: `${schema}:`,
    MARGINALIA_DRAIN_MS: '0',
    MARGINALIA_SECRET: 'bench-scaleout-secret',
    MARGINALIA_ADMIN_USER: 'admin',
    MARGINALIA_ADMIN_PASSWORD: 'admin-password',
    MARGINALIA_SAMPLE: '0',
    LOG_LEVEL: 'warn',
  };
  const a = await startInstance({ ...env, DATA_DIR: dataDirs[0]! });
  const b = await startInstance({ ...env, DATA_DIR: dataDirs[1]! });
  const providers: WebsocketProvider[] = [];
  try {
    const { token } = await json(a.url, '/auth/login', { username: 'admin', password: 'admin-password' });
    const { id } = await json(
      a.url,
      '/documents',
      { title: 'hop', format: 'text', content: 'Scale-out hop benchmark.' },
      token,
    );
    const same: number[] = [];
    const cross: number[] = [];
    const connect = (url: string, onBeacon?: (latency: number) => void) => {
      const doc = new Y.Doc();
      const p = new WebsocketProvider(`${url.replace(/^http/, 'ws')}/collab`, id, doc, {
        params: { token },
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
      });
      providers.push(p);
      if (onBeacon) {
        doc.getMap('meta').observe((e) => {
          if (!e.keysChanged.has('beacon') || e.transaction.local) return;
          const t = (doc.getMap('meta').get('beacon') as { t: number }).t;
          onBeacon(performance.now() - t);
        });
      }
      return p;
    };
    for (let i = 0; i < CLIENTS; i++) {
      const onA = i % 2 === 0;
      connect(onA ? a.url : b.url, (ms) => (onA ? same : cross).push(ms));
    }
    const writer = connect(a.url);
    await waitFor(() => providers.every((p) => p.synced));
    let n = 0;
    const deadline = Date.now() + DURATION_MS;
    while (Date.now() < deadline) {
      writer.doc.getMap('meta').set('beacon', { n: n++, t: performance.now() });
      await new Promise((r) => setTimeout(r, 1000 / RATE));
    }
    const expected = n * (CLIENTS / 2);
    await waitFor(() => same.length >= expected && cross.length >= expected, 10_000).catch(() => {});
    return {
      same_p50: median(same),
      cross_p50: median(cross),
      same_p99: percentile(same, 99),
      cross_p99: percentile(cross, 99),
      beacons: n,
    };
  } finally {
    for (const p of providers) {
      p.destroy();
      p.doc.destroy();
    }
    for (const inst of [a, b]) inst.child.kill('SIGTERM');
    await Promise.all(
      [a, b].map((inst) => new Promise((r) => (inst.child.exitCode !== null ? r(null) : inst.child.once('exit', r)))),
    );
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.end();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
const runs = [];
for (let i = 0; i < RUNS; i++) {
  const r = await run();
  const added = r.cross_p50 - r.same_p50;
  console.log(
    `run ${i + 1}: same-instance p50 ${round(r.same_p50)} ms, cross-instance p50 ${round(r.cross_p50)} ms, added ${round(added)} ms (${r.beacons} beacons, load ${loadavg()[0]!.toFixed(2)})`,
  );
  runs.push({ ...r, added });
}
const byAdded = [...runs].sort((x, y) => x.added - y.added);
const mid = byAdded[Math.floor(byAdded.length / 2)]!;
const result = {
  clients: CLIENTS,
  hop_added_p50_ms: round(mid.added),
  same_instance_p50_ms: round(mid.same_p50),
  cross_instance_p50_ms: round(mid.cross_p50),
  same_instance_p99_ms: round(mid.same_p99),
  cross_instance_p99_ms: round(mid.cross_p99),
  runs: runs.map((r) => round(r.added)),
};
console.log(JSON.stringify(result));

// Record it: the scale-out figure in latest.json (other scenarios untouched) and a section in RESULTS.md.
const latestFile = join(BENCH, 'results', 'latest.json');
if (existsSync(latestFile)) {
  const latest = JSON.parse(readFileSync(latestFile, 'utf8'));
  latest.scenarios = { ...latest.scenarios, scaleout: result };
  writeFileSync(latestFile, JSON.stringify(latest, null, 2) + '\n');
}
const resultsFile = join(BENCH, 'RESULTS.md');
const section = [
  '## Scale-out',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)}, load average ${loadavg()[0]!.toFixed(2)}: two Marginalia instances on one PostgreSQL log and one Redis, ${CLIENTS} clients (half on each), one writer on instance A sending ${RATE} beacons/s for ${DURATION_MS / 1000} s; ${RUNS} runs, the median run shown. Run: \`npm run bench:scaleout --workspace bench\`.`,
  '',
  '| | p50 ms | p99 ms |',
  '|---|---:|---:|',
  `| receiver on the writer's instance | ${result.same_instance_p50_ms} | ${result.same_instance_p99_ms} |`,
  `| receiver on the other instance (Redis hop) | ${result.cross_instance_p50_ms} | ${result.cross_instance_p99_ms} |`,
  '',
  `Added by the hop (median): **${result.hop_added_p50_ms} ms** (runs: ${result.runs.join(', ')} ms); goal <= 5 ms: ${result.hop_added_p50_ms <= 5 ? 'met' : 'missed'}.`,
  '',
].join('\n');
const md = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '# Benchmark results\n\n';
const start = md.indexOf('## Scale-out');
const next = start < 0 ? -1 : md.indexOf('\n## ', start + 1);
const updated =
  start < 0 ? `${md.trimEnd()}\n\n${section}` : `${md.slice(0, start)}${section}${next < 0 ? '' : md.slice(next + 1)}`;
writeFileSync(resultsFile, updated.endsWith('\n') ? updated : `${updated}\n`);
process.exit(0);
