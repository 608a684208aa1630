/**
 * Test servers. `startServer` runs the built server (server/dist/cli.js serve) as a child process on a free
 * port with its own temporary DATA_DIR and an admin account; it can be stopped, killed and restarted on the
 * same port and data. Build first (`npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { POSTGRES_URL, dropSchema, uniqueSchema } from './services.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'server', 'dist', 'cli.js');
export const ADMIN = { username: 'admin', password: 'admin-password' };

export interface TestServer {
  url: string;
  wsUrl: string;
  port: number;
  dataDir: string;
  adminToken: string;
  child: ChildProcess;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit (graceful: pending writes stored, sockets closed with 1001). */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Starts again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops the server and removes its data directory. */
  dispose(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  dataDir?: string;
  port?: number;
}

function spawnServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const output = () => out;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 20 s:\n${out}`));
    }, 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (x: Buffer) => (out += x.toString()));
        resolve({ child, url: m[1]!, output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before starting:\n${out}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'marginalia-test-'));
  const baseEnv: Record<string, string> = {
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    MARGINALIA_ADMIN_USER: ADMIN.username,
    MARGINALIA_ADMIN_PASSWORD: ADMIN.password,
    // Stopping a test server does not wait out the drain that SIGTERM starts in production.
    MARGINALIA_DRAIN_MS: '0',
    ...opts.env,
  };
  let started = await spawnServer({ ...baseEnv, PORT: String(opts.port ?? 0) });
  const port = Number(new URL(started.url).port);
  const adminToken = await login(started.url, ADMIN.username, ADMIN.password);
  const server: TestServer = {
    url: started.url,
    wsUrl: started.url.replace(/^http/, 'ws'),
    port,
    dataDir,
    adminToken,
    get child() {
      return started.child;
    },
    output: () => started.output(),
    async stop() {
      const done = exited(started.child);
      started.child.kill('SIGTERM');
      return done;
    },
    async kill() {
      const done = exited(started.child);
      started.child.kill('SIGKILL');
      await done;
    },
    async restart() {
      if (started.child.exitCode === null && started.child.signalCode === null) await server.stop();
      started = await spawnServer({ ...baseEnv, PORT: String(port) });
    },
    async dispose() {
      if (started.child.exitCode === null && started.child.signalCode === null) await server.kill();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

export async function login(url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new Error(`login ${username} failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** A small JSON client for the REST API. */
export function api(url: string, token?: string) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}/api${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: json, text, headers: res.headers };
  };
  return {
    get: (path: string, headers?: Record<string, string>) => call('GET', path, undefined, headers),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => call('POST', path, body ?? {}, headers),
    put: (path: string, body?: unknown) => call('PUT', path, body ?? {}),
    patch: (path: string, body?: unknown) => call('PATCH', path, body ?? {}),
    delete: (path: string) => call('DELETE', path),
  };
}

/**
 * The admin as a writer of threads and comments: its user id (its token's subject) and its name (the username the
 * server created it with). A new thread or comment must carry both, whoever sends it.
 */
export function adminAuthor(s: Pick<TestServer, 'adminToken'>): { id: string; name: string } {
  const payload = JSON.parse(Buffer.from(s.adminToken.split('.')[1]!, 'base64url').toString()) as { sub: string };
  return { id: payload.sub, name: ADMIN.username };
}

/** Creates a user (as admin) and returns a token for it. */
export async function createUser(
  s: Pick<TestServer, 'url' | 'adminToken'>,
  username: string,
  name = username,
): Promise<{ token: string; id: string }> {
  const password = `${username}-password`;
  const r = await api(s.url, s.adminToken).post('/users', { username, password, name });
  if (r.status !== 201) throw new Error(`create user ${username}: ${r.status} ${r.text}`);
  return { token: await login(s.url, username, password), id: r.body.id };
}

export interface Member {
  token: string;
  id: string;
  name: string;
}

/** Creates a user and makes them a member of the document with `role` (as admin); fails loudly otherwise. */
export async function addMember(
  s: Pick<TestServer, 'url' | 'adminToken'>,
  docId: string,
  username: string,
  name: string,
  role: string,
): Promise<Member> {
  const user = await createUser(s, username, name);
  const r = await api(s.url, s.adminToken).put(`/documents/${docId}/members/${username}`, { role });
  if (r.status !== 200) throw new Error(`make ${username} ${role}: ${r.status} ${r.text}`);
  return { ...user, name };
}

/** Creates a document from plain text (as `token`'s user, who becomes owner). */
export async function createDocument(
  url: string,
  token: string,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const r = await api(url, token).post('/documents', { title: 'Test article', format: 'text', content, ...extra });
  if (r.status !== 201) throw new Error(`create document: ${r.status} ${r.text}`);
  return r.body.id as string;
}

export function tempDir(prefix = 'marginalia-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A suite's server on a PostgreSQL schema of its own, and a connection of the test's own to that database. */
export interface PostgresServerSuite {
  readonly schema: string;
  server: TestServer;
  sql: pg.Client;
}

/**
 * Starts a server on a new PostgreSQL schema before the suite's tests (with a connection for the tests' own SQL:
 * locks, triggers) and ends both, dropping the schema, after them. Call inside the suite's `describe`.
 */
export function postgresServerSuite(prefix: string): PostgresServerSuite {
  const suite = { schema: uniqueSchema(prefix) } as PostgresServerSuite;
  beforeAll(async () => {
    suite.server = await startServer({ env: { DATABASE_URL: POSTGRES_URL, MARGINALIA_PG_SCHEMA: suite.schema } });
    suite.sql = new pg.Client({ connectionString: POSTGRES_URL });
    await suite.sql.connect();
  });
  afterAll(async () => {
    await suite.sql?.end();
    await suite.server?.dispose();
    await dropSchema(suite.schema);
  });
  return suite;
}
