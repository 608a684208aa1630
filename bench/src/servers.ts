/**
 * The servers under test, each started as its own process pinned to its own core with the probe preloaded:
 * Marginalia (server/dist/cli.js serve), @y/websocket-server 0.1.1 and Hocuspocus 4.7 (bench/src/targets).
 * Also: Marginalia's accounts and documents for a run, and the seed states the references start from.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openSqliteStorage, createDocument } from '@marginalia/server';
import { ask, pinned, spawnReady, stop, SERVER_CORE, type Child } from './lib/proc.js';
import type { ServerKind, Target } from './lib/clients.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The bench workspace (when running from a frozen copy, the copy's launcher says where the real one is). */
export const BENCH_DIR = process.env.MARGINALIA_BENCH_HOME ?? join(here, '..');
export const ROOT = join(BENCH_DIR, '..');
export const TMP = join(BENCH_DIR, 'tmp');
const PROBE = pathToFileURL(join(here, 'probe.js')).href;
/** The server's CLI as this process resolves @marginalia/server: the frozen copy during a run. */
const CLI = join(dirname(fileURLToPath(import.meta.resolve('@marginalia/server'))), 'cli.js');
export const ARTICLE_FILE = join(ROOT, '..', 'shared', 'fixtures', 'oped-kandahar-islamabad.txt');

export const ADMIN = { username: 'admin', password: 'admin-password' };
export const BENCH_USER = { username: 'bench', password: 'bench-password', name: 'Bench Commenter' };

export interface RunningTarget {
  kind: ServerKind;
  child: Child;
  pid: number;
  http: string;
  ws: string;
  dataDir: string | null;
  /** Storage the server reports (GET /api/health), for Marginalia. */
  storage: string | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Write a V8 CPU profile of the server into this directory (node --cpu-prof). */
  cpuProfDir?: string;
  /** Reuse this data directory (Marginalia) instead of a fresh one. */
  dataDir?: string;
}

export async function startTarget(kind: ServerKind, opts: StartOptions = {}): Promise<RunningTarget> {
  const nodeArgs = ['--expose-gc', '--import', PROBE];
  if (opts.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`);
  mkdirSync(TMP, { recursive: true });
  let dataDir: string | null = null;
  let child: Child;
  if (kind === 'marginalia' || kind === 'marginalia-nopersist') {
    // "persistence off": the storage knob when the server has it; meanwhile the same SQLite on tmpfs (no disk sync).
    const nopersist = kind === 'marginalia-nopersist';
    dataDir = opts.dataDir ?? mkdtempSync(nopersist ? '/dev/shm/marginalia-bench-' : join(TMP, 'data-'));
    child = await spawnReady(pinned(SERVER_CORE, ['node', ...nodeArgs, CLI, 'serve']), {
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        MARGINALIA_ADMIN_USER: ADMIN.username,
        MARGINALIA_ADMIN_PASSWORD: ADMIN.password,
        MARGINALIA_SAMPLE: '0',
        LOG_LEVEL: 'warn',
        MARGINALIA_DRAIN_MS: '0',
        ...(nopersist ? { MARGINALIA_STORAGE: 'memory' } : {}),
        ...opts.env,
      },
      ready: /running at (http:\/\/[^\s]+)/,
    });
  } else {
    const script = join(
      here,
      'targets',
      { hocuspocus: 'hocuspocus.js', 'y-websocket-server': 'ywss.js', floor: 'floor.js' }[kind as string]!,
    );
    child = await spawnReady(pinned(SERVER_CORE, ['node', ...nodeArgs, script]), {
      env: { PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production', ...opts.env },
      ready: /listening on (\d+)/,
    });
  }
  const http = kind.startsWith('marginalia') ? child.ready[1]! : `http://127.0.0.1:${child.ready[1]}`;
  let storage: string | null = null;
  if (kind.startsWith('marginalia'))
    storage = ((await (await fetch(`${http}/api/health`)).json()) as { storage: string }).storage;
  // MARGINALIA_STORAGE=memory keeps SQLite in memory (health still says "sqlite"): no database file is made.
  if (kind === 'marginalia-nopersist')
    storage = existsSync(join(dataDir!, 'marginalia.db')) ? 'sqlite on tmpfs' : 'memory';
  const dir = dataDir;
  return {
    kind,
    child,
    pid: child.pid,
    http,
    ws: http.replace(/^http/, 'ws'),
    dataDir,
    storage,
    async stop() {
      await stop(child.proc);
      if (process.env.BENCH_SERVER_LOG) console.error(`--- ${kind} output ---\n${child.output().slice(-4000)}`);
      if (dir && !opts.dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const probe = <T>(t: RunningTarget, cmd: string) => ask<T>(t.child.proc, { cmd });

/** Documents resident in the server's memory. */
export async function residentDocs(t: RunningTarget): Promise<number | null> {
  if (t.kind.startsWith('marginalia')) {
    return ((await (await fetch(`${t.http}/api/health`)).json()) as { documentsLoaded: number }).documentsLoaded;
  }
  return probe<number | null>(t, 'docs');
}

async function api<T>(
  t: RunningTarget,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${t.http}/api${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

async function login(t: RunningTarget, u: { username: string; password: string }) {
  const r = await api<{ token: string; user: { id: string; name: string } }>(t, 'POST', '/auth/login', null, u);
  if (r.status !== 200) throw new Error(`login ${u.username}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Marginalia: the admin creates the documents (commenters may join) and a commenter account the clients use. */
export async function provision(
  t: RunningTarget,
  docs: { title: string; content: string }[],
): Promise<{ target: Target; owner: Target; docIds: string[]; adminToken: string }> {
  const admin = await login(t, ADMIN);
  const u = await api(t, 'POST', '/users', admin.token, BENCH_USER);
  if (u.status !== 201 && u.status !== 409) throw new Error(`create user: ${u.status} ${JSON.stringify(u.json)}`);
  const docIds: string[] = [];
  for (const d of docs) {
    const r = await api<{ id: string }>(t, 'POST', '/documents', admin.token, {
      title: d.title,
      format: 'text',
      content: d.content,
      guestRole: 'commenter',
    });
    if (r.status !== 201) throw new Error(`create document: ${r.status} ${JSON.stringify(r.json)}`);
    docIds.push(r.json.id);
  }
  const bench = await login(t, BENCH_USER);
  return {
    target: { server: t.kind, base: t.ws, token: bench.token, userId: bench.user.id, userName: bench.user.name },
    owner: { server: t.kind, base: t.ws, token: admin.token, userId: admin.user.id, userName: admin.user.name },
    docIds,
    adminToken: admin.token,
  };
}

/** References need no accounts: any token, any document name. */
export function referenceTarget(t: RunningTarget): Target {
  return { server: t.kind, base: t.ws, token: 'bench-token', userId: 'bench-user', userName: 'Bench Commenter' };
}

/**
 * The state Marginalia stores for an imported article (server-side import), written to a file: the references
 * start empty, so their first client pushes this, and every server holds the same content.
 */
export async function seedState(name: string, content: string): Promise<string> {
  mkdirSync(TMP, { recursive: true });
  const storage = await openSqliteStorage(':memory:');
  try {
    const id = await createDocument(storage, {
      title: name,
      format: 'text',
      content,
      guestRole: null,
      createdBy: 'bench',
      ownerId: null,
    });
    const state = await storage.log.loadState(id);
    const file = join(TMP, `seed-${name}.bin`);
    writeFileSync(file, state.updates[0]!.data);
    return file;
  } finally {
    await storage.close();
  }
}
