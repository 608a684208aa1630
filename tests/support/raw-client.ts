/**
 * A minimal y-websocket client on a raw `ws` socket, for tests and drills that need exact control: no
 * reconnects, every frame visible, arbitrary frames sendable. It does the handshake (sends sync step 1,
 * answers the server's step 1), applies what the server sends, and sends every local change as an update.
 * `confirmed` follows what the server echoed back: the server broadcasts only what it stored, so a clock
 * the echo covers is durable. Deletions advance no clock: the ids this client deleted are tracked apart until
 * an echo's delete set covers them.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import * as authProtocol from 'y-protocols/auth';

const REMOTE = 'raw-client:remote';

export interface Closed {
  /** Close code, or the HTTP status when the upgrade itself was refused. */
  code: number;
  reason: string;
  /** True when refused at upgrade with an HTTP status (then `code` is that status). */
  http: boolean;
}

export interface RawClient {
  doc: Y.Doc;
  ws: WebSocket;
  /** Resolves after the server's sync step 2 was applied; rejects if the socket ends first. */
  synced: Promise<void>;
  /** Resolves when the socket ends (never rejects). */
  closed: Promise<Closed>;
  /** Reasons of auth messages received ("permission denied: …"). */
  denied: string[];
  /** Highest clock + 1 per client seen in updates the server sent (what it has stored). */
  confirmed: Map<number, number>;
  /** Sync step 2 messages received so far (answers to our step 1). */
  step2s(): number;
  /** Resolves once `pred` holds, checked after every message the client handles; rejects after `timeout`. */
  until(pred: () => boolean, timeout?: number, what?: string): Promise<void>;
  /** Sends a sync step 1 and resolves true on its answer, false if the socket ends first. */
  probe(timeout?: number): Promise<boolean>;
  isOpen(): boolean;
  send(frame: Uint8Array): void;
  /** Resolves once the server has echoed every local change made so far (it is stored). */
  flushed(timeout?: number): Promise<void>;
  close(): Promise<Closed>;
}

export interface RawOptions {
  headers?: Record<string, string>;
  /** Do not send anything on open (the caller drives the protocol). */
  silent?: boolean;
  /** Do not send local changes automatically. */
  manual?: boolean;
  /** Reuse this document (a client reconnecting with what it has); it is not destroyed on close. */
  doc?: Y.Doc;
}

export function syncStep1(doc: Y.Doc): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  syncProtocol.writeSyncStep1(e, doc);
  return encoding.toUint8Array(e);
}

export function updateFrame(update: Uint8Array, syncType: number = syncProtocol.messageYjsUpdate): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, syncType);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

export function rawClient(wsUrl: string, docId: string, token: string | null, opts: RawOptions = {}): RawClient {
  const doc = opts.doc ?? new Y.Doc();
  const url = `${wsUrl}/collab/${encodeURIComponent(docId)}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const ws = new WebSocket(url, { headers: opts.headers });
  const denied: string[] = [];
  const confirmed = new Map<number, number>();
  let isSynced = false;
  let step2s = 0;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  let resolveSynced!: () => void;
  let rejectSynced!: (e: Error) => void;
  const synced = new Promise<void>((res, rej) => {
    resolveSynced = res;
    rejectSynced = rej;
  });
  synced.catch(() => {});
  let resolveClosed!: (c: Closed) => void;
  const closed = new Promise<Closed>((res) => (resolveClosed = res));
  let done = false;
  const finish = (c: Closed) => {
    if (done) return;
    done = true;
    if (!isSynced) rejectSynced(new Error(`socket ended before sync: ${c.code} ${c.reason}`));
    resolveClosed(c);
    wake();
  };

  const send = (frame: Uint8Array) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(frame);
  };
  /** Ids ("client:clock") this client deleted that no echo has covered yet. */
  const unconfirmedDeletes = new Set<string>();
  const deletedIds = (update: Uint8Array): string[] => {
    const ids: string[] = [];
    for (const [client, ranges] of Y.decodeUpdate(update).ds.clients)
      for (const r of ranges) for (let c = r.clock; c < r.clock + r.len; c++) ids.push(`${client}:${c}`);
    return ids;
  };
  const noteConfirmed = (update: Uint8Array) => {
    try {
      for (const [client, clock] of Y.parseUpdateMeta(update).to)
        confirmed.set(client, Math.max(confirmed.get(client) ?? 0, clock));
      if (unconfirmedDeletes.size) for (const id of deletedIds(update)) unconfirmedDeletes.delete(id);
    } catch {
      /* not ours to judge */
    }
  };

  ws.binaryType = 'nodebuffer';
  ws.on('unexpected-response', (_req, res) => {
    finish({ code: res.statusCode ?? 0, reason: res.statusMessage ?? '', http: true });
    ws.terminate();
  });
  ws.on('open', () => {
    if (!opts.silent) send(syncStep1(doc));
  });
  ws.on('message', (data: Buffer) => {
    const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const decoder = decoding.createDecoder(frame);
    const type = decoding.readVarUint(decoder);
    if (type === 0) {
      const sub = decoding.peekVarUint(decoder);
      if (sub !== syncProtocol.messageYjsSyncStep1) {
        const copy = decoding.createDecoder(frame);
        decoding.readVarUint(copy);
        decoding.readVarUint(copy);
        noteConfirmed(decoding.readVarUint8Array(copy));
      }
      const reply = encoding.createEncoder();
      encoding.writeVarUint(reply, 0);
      const kind = syncProtocol.readSyncMessage(decoder, reply, doc, REMOTE);
      if (encoding.length(reply) > 1 && !opts.silent) send(encoding.toUint8Array(reply));
      if (kind === syncProtocol.messageYjsSyncStep2) step2s++;
      if (kind === syncProtocol.messageYjsSyncStep2 && !isSynced) {
        isSynced = true;
        resolveSynced();
      }
    } else if (type === 2) {
      authProtocol.readAuthMessage(decoder, doc, (_y, reason) => denied.push(reason));
    }
    wake();
  });
  ws.on('close', (code, reason) => finish({ code, reason: reason.toString(), http: false }));
  ws.on('error', () => {});
  const onUpdate = (u: Uint8Array, origin: unknown) => {
    if (origin === REMOTE) return;
    for (const id of deletedIds(u)) unconfirmedDeletes.add(id);
    send(updateFrame(u));
  };
  if (!opts.manual) doc.on('update', onUpdate);

  const client: RawClient = {
    doc,
    ws,
    synced,
    closed,
    denied,
    confirmed,
    isOpen: () => ws.readyState === WebSocket.OPEN,
    step2s: () => step2s,
    send,
    until(pred, timeout = 10_000, what = 'a condition') {
      if (pred()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pred()) {
            finishWait();
            resolve();
          } else if (done) {
            finishWait();
            reject(new Error(`socket closed while waiting for ${what}`));
          }
        };
        const timer = setTimeout(() => {
          finishWait();
          reject(new Error(`timed out after ${timeout} ms waiting for ${what}`));
        }, timeout);
        const finishWait = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async probe(timeout = 10_000) {
      if (done) return false;
      const before = step2s;
      send(syncStep1(doc));
      await client.until(() => step2s > before || done, timeout, 'the answer to sync step 1');
      return step2s > before;
    },
    flushed(timeout = 10_000) {
      const own = Y.getState(doc.store, doc.clientID);
      return client.until(
        () => (confirmed.get(doc.clientID) ?? 0) >= own && unconfirmedDeletes.size === 0,
        timeout,
        'the server to confirm local changes',
      );
    },
    async close() {
      if (!done) {
        if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000);
        const t = setTimeout(() => ws.terminate(), 2000);
        await closed;
        clearTimeout(t);
      }
      doc.off('update', onUpdate);
      if (!opts.doc) doc.destroy();
      return closed;
    },
  };
  return client;
}
