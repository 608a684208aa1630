/**
 * What the drills share: the built server as a child process (SIGKILL-able, restartable on the same port and
 * data), a small REST client, a minimal y-websocket client on a raw socket, and machine facts for the report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'server', 'dist', 'cli.js');
export const ADMIN = { username: 'admin', password: 'admin-password' };

export interface DrillServer {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  dataDir: string;
  /** The inspector's WebSocket URL when started with `inspect`. */
  inspectorUrl: string | null;
  output(): string;
  kill(): Promise<void>;
  restart(): Promise<number>;
  stop(): Promise<void>;
}

export async function startServer(env: Record<string, string>, opts: { inspect?: boolean } = {}): Promise<DrillServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'marginalia-drill-'));
  let port = 0;
  const launch = () =>
    new Promise<{ child: ChildProcess; url: string; out: () => string; inspectorUrl: string | null }>(
      (resolve, reject) => {
        const args = [...(opts.inspect ? ['--inspect=127.0.0.1:0'] : []), CLI, 'serve'];
        const child = spawn(process.execPath, args, {
          env: {
            ...process.env,
            LOG_LEVEL: 'error',
            MARGINALIA_DRAIN_MS: '0',
            HOST: '127.0.0.1',
            PORT: String(port),
            DATA_DIR: dataDir,
            MARGINALIA_SAMPLE: '0',
            MARGINALIA_ADMIN_USER: ADMIN.username,
            MARGINALIA_ADMIN_PASSWORD: ADMIN.password,
            ...env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let inspectorUrl: string | null = null;
        const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
        const onData = (d: Buffer) => {
          out += d.toString();
          if (out.length > 200_000) out = out.slice(-100_000);
          inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(out)?.[1] ?? null;
          const m = /running at (http:\/\/\S+)/.exec(out);
          if (m && (!opts.inspect || inspectorUrl)) {
            clearTimeout(timer);
            resolve({ child, url: m[1]!, out: () => out, inspectorUrl });
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`server exited (${code ?? signal}) before starting:\n${out}`));
        });
      },
    );
  let current = await launch();
  port = Number(new URL(current.url).port);
  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => c.once('exit', () => r()));
  const server: DrillServer = {
    get url() {
      return current.url;
    },
    get wsUrl() {
      return current.url.replace(/^http/, 'ws');
    },
    get child() {
      return current.child;
    },
    get inspectorUrl() {
      return current.inspectorUrl;
    },
    dataDir,
    output: () => current.out(),
    async kill() {
      const done = exited(current.child);
      current.child.kill('SIGKILL');
      await done;
    },
    async restart() {
      const t0 = performance.now();
      current = await launch();
      return performance.now() - t0;
    },
    async stop() {
      const done = exited(current.child);
      current.child.kill('SIGTERM');
      await done;
    },
  };
  return server;
}

export function api(url: string, token?: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${url}/api${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

export async function login(url: string, username: string, password: string): Promise<string> {
  const r = await api(url)('POST', '/auth/login', { username, password });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  return r.body.token as string;
}

const REMOTE = Symbol('remote');

/** A y-websocket client on a raw socket: handshake, applies what arrives, sends local changes. */
export interface WireClient {
  doc: Y.Doc;
  ws: WebSocket;
  synced: Promise<void>;
  closed: Promise<number>;
  /** Calls `fn` after every message applied (to follow what arrives). */
  onApplied(fn: () => void): void;
}

export function wireClient(wsUrl: string, docId: string, token: string, doc = new Y.Doc()): WireClient {
  const ws = new WebSocket(`${wsUrl}/collab/${docId}?token=${encodeURIComponent(token)}`);
  ws.binaryType = 'nodebuffer';
  const listeners: (() => void)[] = [];
  let resolveSynced!: () => void;
  let rejectSynced!: (e: Error) => void;
  const synced = new Promise<void>((res, rej) => ((resolveSynced = res), (rejectSynced = rej)));
  synced.catch(() => {});
  const closed = new Promise<number>((res) => {
    ws.on('close', (code) => {
      rejectSynced(new Error(`closed ${code}`));
      res(code);
    });
    ws.on('unexpected-response', (_q, r) => {
      rejectSynced(new Error(`upgrade refused ${r.statusCode}`));
      res(r.statusCode ?? 0);
      ws.terminate();
    });
  });
  ws.on('error', () => {});
  const send = (b: Uint8Array) => ws.readyState === WebSocket.OPEN && ws.send(b);
  ws.on('open', () => {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    syncProtocol.writeSyncStep1(e, doc);
    send(encoding.toUint8Array(e));
  });
  ws.on('message', (data: Buffer) => {
    const decoder = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (decoding.readVarUint(decoder) !== 0) return;
    const reply = encoding.createEncoder();
    encoding.writeVarUint(reply, 0);
    const kind = syncProtocol.readSyncMessage(decoder, reply, doc, REMOTE);
    if (encoding.length(reply) > 1) send(encoding.toUint8Array(reply));
    if (kind === syncProtocol.messageYjsSyncStep2) resolveSynced();
    for (const l of listeners) l();
  });
  doc.on('update', (u: Uint8Array, origin: unknown) => {
    if (origin === REMOTE) return;
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    syncProtocol.writeUpdate(e, u);
    send(encoding.toUint8Array(e));
  });
  return { doc, ws, synced, closed, onApplied: (fn) => listeners.push(fn) };
}

/** The machine as the drill saw it: for RESULTS.md. */
export function machine(): string {
  const [l1, l5] = loadavg();
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${l1!.toFixed(2)} / ${l5!.toFixed(2)} (1 / 5 min) at the start`;
}

/** Resident set size of a process in MiB (/proc/<pid>/status VmRSS). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * The server's V8 heap after a full garbage collection, in MiB, read through the inspector protocol of a
 * server started with `inspect` (nothing is added to the server for this).
 */
export async function heapAfterGcMiB(inspectorUrl: string): Promise<number> {
  const ws = new WebSocket(inspectorUrl);
  await new Promise<void>((res, rej) => (ws.once('open', () => res()), ws.once('error', rej)));
  let id = 0;
  const call = (method: string) =>
    new Promise<any>((res) => {
      const my = ++id;
      const onMsg = (d: Buffer) => {
        const m = JSON.parse(d.toString());
        if (m.id === my) {
          ws.off('message', onMsg);
          res(m.result);
        }
      };
      ws.on('message', onMsg);
      ws.send(JSON.stringify({ id: my, method }));
    });
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const usage = await call('Runtime.getHeapUsage');
  ws.close();
  return usage.usedSize / 2 ** 20;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
