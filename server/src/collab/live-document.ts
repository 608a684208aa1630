/**
 * One loaded document: its Y.Doc, awareness and connections, and the write path every change takes:
 *   check (by the caller) -> append to the durable log -> apply -> broadcast.
 * Updates that arrive in one event-loop turn are stored in one transaction, applied, merged and encoded once
 * for all recipients. Nothing is broadcast that is not stored.
 */
import * as Y from 'yjs';
import { Awareness, removeAwarenessStates } from 'y-protocols/awareness';
import type { Storage } from '../storage/types.js';
import type { Limits } from '../config.js';
import { encodeAwareness, encodeUpdate } from './protocol.js';
import { log } from '../log.js';

/** A recipient of broadcasts: a WebSocket connection, or (later) a peer instance. */
export interface Peer {
  send(message: Uint8Array): void;
  /** Ends the peer's session with a close code and reason. */
  close(code: number, reason: string): void;
}

interface PendingWrite {
  update: Uint8Array;
  /** Already applied to `doc` (server-side changes); stored after the fact, or the document is discarded. */
  applied: boolean;
  origin: unknown;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Told after each stored batch (e.g. to keep the library's activity time and counts current). */
export type WriteListener = (live: LiveDocument) => void;

export class LoadError extends Error {}
export class WriteError extends Error {}

export class LiveDocument {
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly peers = new Set<Peer>();
  /** Set when a stored write failed after a server-side change was applied: the copy in memory is not trusted. */
  broken = false;

  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | null = null;
  private logEntries: number;
  private logBytes: number;
  private lastSeq: number;

  private constructor(
    readonly id: string,
    private readonly storage: Storage,
    private readonly limits: Limits,
    doc: Y.Doc,
    state: { entries: number; bytes: number; lastSeq: number },
    private readonly onWrite: WriteListener | undefined,
  ) {
    this.doc = doc;
    this.logEntries = state.entries;
    this.logBytes = state.bytes;
    this.lastSeq = state.lastSeq;
    this.awareness = new Awareness(doc);
    this.awareness.setLocalState(null);
    this.awareness.on('update', this.onAwarenessUpdate);
  }

  /** Latest snapshot + replay of the log after it. Throws LoadError: never an empty stand-in document. */
  static async load(id: string, storage: Storage, limits: Limits, onWrite?: WriteListener): Promise<LiveDocument> {
    let state;
    try {
      state = await storage.loadState(id);
    } catch (e) {
      throw new LoadError(`storage unavailable: ${(e as Error).message}`);
    }
    const doc = new Y.Doc({ gc: true });
    let bytes = 0;
    try {
      if (state.snapshot) Y.applyUpdate(doc, state.snapshot);
      for (const u of state.updates) {
        Y.applyUpdate(doc, u.data);
        bytes += u.data.byteLength;
      }
    } catch (e) {
      doc.destroy();
      throw new LoadError(`stored state of ${id} could not be applied: ${(e as Error).message}`);
    }
    const lastSeq = state.updates.at(-1)?.seq ?? state.snapshotSeq;
    return new LiveDocument(id, storage, limits, doc, { entries: state.updates.length, bytes, lastSeq }, onWrite);
  }

  /** Queues an update (already checked by policy) for the write path; resolves once stored and applied. */
  submit(update: Uint8Array, origin: unknown): Promise<void> {
    return this.enqueue(update, false, origin);
  }

  /**
   * Runs a server-side change (REST, import) as one transaction and stores it through the same path.
   * Resolves once it is durable; if storing fails the document is marked broken and unloaded by its owner.
   */
  async change(fn: (doc: Y.Doc) => void, origin: unknown): Promise<void> {
    if (this.broken) throw new WriteError('document is being reloaded; try again');
    const updates: Uint8Array[] = [];
    const capture = (u: Uint8Array) => updates.push(u);
    let failure: unknown = null;
    this.doc.on('update', capture);
    try {
      this.doc.transact(() => fn(this.doc), origin);
    } catch (e) {
      failure = e;
    } finally {
      this.doc.off('update', capture);
    }
    // Whatever the change applied before failing is stored too, so memory and storage never disagree.
    if (updates.length > 0) await this.enqueue(updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates), true, origin);
    if (failure !== null) throw failure;
  }

  private enqueue(update: Uint8Array, applied: boolean, origin: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ update, applied, origin, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.pending.length) this.scheduleFlush();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let seqs: number[];
    try {
      seqs = await this.storage.appendUpdates(
        this.id,
        batch.map((w) => w.update),
      );
    } catch (e) {
      const err = new WriteError(`could not store the update: ${(e as Error).message}`);
      log.error('append failed', { doc: this.id, error: (e as Error).message });
      if (batch.some((w) => w.applied)) this.broken = true;
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) {
      if (!w.applied) Y.applyUpdate(this.doc, w.update, w.origin);
      this.logBytes += w.update.byteLength;
    }
    this.logEntries += batch.length;
    this.lastSeq = seqs.at(-1) ?? this.lastSeq;
    const merged = batch.length === 1 ? batch[0]!.update : Y.mergeUpdates(batch.map((w) => w.update));
    this.broadcast(encodeUpdate(merged));
    for (const w of batch) w.resolve();
    this.onWrite?.(this);
    const logFull = this.logEntries > this.limits.compactAfterUpdates || this.logBytes > this.limits.compactAfterBytes;
    // A server-side change applied but not yet stored must not slip into a snapshot ahead of its own write.
    if (logFull && !this.pending.some((w) => w.applied)) {
      await this.compact();
    }
  }

  /** Folds the log into one snapshot (in one storage transaction). Runs inside the write path, never beside it. */
  private async compact(): Promise<void> {
    try {
      await this.storage.compact(this.id, Y.encodeStateAsUpdate(this.doc), this.lastSeq);
      this.logEntries = 0;
      this.logBytes = 0;
    } catch (e) {
      // The log is intact; compaction is retried after the next write.
      log.warn('compaction failed', { doc: this.id, error: (e as Error).message });
    }
  }

  /** Waits until every queued write has been stored and applied (or failed). */
  async idle(): Promise<void> {
    while (this.flushing || this.flushScheduled || this.pending.length) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }

  broadcast(message: Uint8Array): void {
    for (const p of this.peers) p.send(message);
  }

  private onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const changed = added.concat(updated, removed);
    if (origin && typeof origin === 'object' && 'controlledIds' in origin) {
      const ids = (origin as { controlledIds: Set<number> }).controlledIds;
      for (const id of added) ids.add(id);
      for (const id of removed) ids.delete(id);
    }
    if (changed.length) this.broadcast(encodeAwareness(this.awareness, changed));
  };

  /** Clears the awareness states a departing peer controlled. */
  forgetAwareness(ids: Iterable<number>): void {
    const list = [...ids];
    if (list.length) removeAwarenessStates(this.awareness, list, null);
  }

  destroy(): void {
    this.awareness.off('update', this.onAwarenessUpdate);
    this.awareness.destroy();
    this.doc.destroy();
  }
}
