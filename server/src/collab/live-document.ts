/**
 * One loaded document: its Y.Doc, awareness and connections, and the write path every change takes:
 *   check (by the caller) -> append to the durable log -> apply -> broadcast.
 * Updates that arrive in one event-loop turn are stored in one transaction, applied, merged and encoded once
 * for all recipients. Nothing is broadcast that is not stored.
 */
import * as Y from 'yjs';
import { Awareness, removeAwarenessStates } from 'y-protocols/awareness';
import type { Storage, StoredState } from '../storage/types.js';
import type { Limits } from '../config.js';
import { EMPTY_UPDATE, encodeAwareness, encodeStep2Update, encodeUpdate } from './protocol.js';
import { SeqTracker } from './seq-tracker.js';
import { encodeAwarenessUpdate } from 'y-protocols/awareness';
import { log } from '../log.js';
import { foldInWorker, sliceInWorker } from '../storage/storage-worker.js';
import { storedPieces } from '../storage/stored-state.js';
import { Outgoing } from './wire.js';

/** A recipient of broadcasts: a WebSocket connection, or (later) a peer instance. */
export interface Peer {
  /** A broadcast comes as an Outgoing (framed once for all recipients); a message for this peer alone as bytes. */
  send(message: Uint8Array | Outgoing): void;
  /** Ends the peer's session with a close code and reason. */
  close(code: number, reason: string): void;
}

interface PendingWrite {
  update: Uint8Array;
  /** Already applied to `doc` (server-side changes); stored after the fact, or the document is discarded. */
  applied: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** What the rest of the server learns from a live document. */
export interface DocumentHooks {
  /** After each stored batch, with its sequence numbers and merged update (activity; scale-out publishes it). */
  onStored?(live: LiveDocument, seqs: number[], update: Uint8Array): void;
  /** After a local client's awareness changed (scale-out publishes it). */
  onLocalAwareness?(live: LiveDocument, update: Uint8Array): void;
}

/** The owner recorded for the client ids under which the server itself writes (REST changes, imports). */
export const SERVER_WRITER = 'marginalia:server';

/** Origin of the transaction that applies a stored batch of clients' updates. */
export const CLIENT_ORIGIN = 'marginalia:client-updates';

/** Origin of changes that come from the store or another instance, already stored there. */
export const STORED_ORIGIN = 'marginalia:stored';

/** A full-state encoding kept for clients that join with nothing, and the state vector it covers. */
interface FullState {
  update: Uint8Array;
  stateVector: Map<number, number>;
}

/** Documents whose full state encodes smaller than this are encoded per joining client instead of cached. */
const FULL_STATE_CACHE_MIN_BYTES = 64 * 1024;

const stateVectorOf = (doc: Y.Doc): Map<number, number> => Y.decodeStateVector(Y.encodeStateVector(doc));

/** `update` as the cached full state, covering `covered` (a state vector, or the document it was encoded from), if large. */
function fullStateIfLarge(update: Uint8Array, covered: Y.Doc | Map<number, number>): FullState | null {
  if (update.byteLength < FULL_STATE_CACHE_MIN_BYTES) return null;
  return { update, stateVector: covered instanceof Y.Doc ? stateVectorOf(covered) : covered };
}

/** A stored write that takes this long is logged: clients notice it (their changes wait to be confirmed). */
const SLOW_WRITE_MS = 100;

export class LoadError extends Error {}

/** Ends a build whose stored state cannot be applied: never an empty or partial stand-in document. */
function buildFailed(id: string, doc: Y.Doc, e: unknown): never {
  doc.destroy();
  throw new LoadError(`stored state of ${id} could not be applied: ${(e as Error).message}`);
}

/**
 * The document from its stored pieces in one go. The first piece (the snapshot, or the first log entry of a
 * document never compacted: a large import) is a complete update already encoded: cached as the full state.
 */
function buildWhole(id: string, pieces: Uint8Array[]): { doc: Y.Doc; full: FullState | null } {
  const doc = new Y.Doc({ gc: true });
  let full: FullState | null = null;
  try {
    for (const [i, piece] of pieces.entries()) {
      Y.applyUpdate(doc, piece);
      if (i === 0) full = fullStateIfLarge(piece, doc);
    }
  } catch (e) {
    buildFailed(id, doc, e);
  }
  return { doc, full };
}

/**
 * The document from its stored pieces a slice per event-loop turn, so that a large document's build never holds
 * the thread: other documents and clients arriving meanwhile are served between slices. The first piece (the
 * bulk) is cut into slices in the worker (slice.ts); the log entries after it are small and already in the order
 * they were written, so they follow as they are. Null when the state cannot be sliced (it is then built whole).
 */
async function buildSliced(id: string, pieces: Uint8Array[]): Promise<{ doc: Y.Doc; full: FullState | null } | null> {
  let sliced;
  try {
    sliced = await sliceInWorker(pieces[0]!);
  } catch (e) {
    log.warn('stored state not sliced; built whole', { doc: id, error: (e as Error).message });
    return null;
  }
  if (!sliced) return null;
  const doc = new Y.Doc({ gc: true });
  try {
    for (const update of [...sliced.slices, ...pieces.slice(1)]) {
      Y.applyUpdate(doc, update);
      await new Promise((r) => setImmediate(r));
    }
  } catch (e) {
    buildFailed(id, doc, e);
  }
  const short = [...sliced.stateVector].some(([client, clock]) => Y.getState(doc.store, client) < clock);
  if (doc.store.pendingStructs || doc.store.pendingDs || short) {
    // Not what slicing promises: build it the proven way instead.
    log.warn('sliced build incomplete; built whole', { doc: id });
    doc.destroy();
    return null;
  }
  return { doc, full: fullStateIfLarge(pieces[0]!, sliced.stateVector) };
}

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
  private snapshotBytes: number;
  /** Log entries applied here (own writes, and other instances' through scale-out). */
  readonly seqs: SeqTracker;
  private catchingUp: Promise<void> | null = null;
  private compacting: Promise<void> | null = null;
  /**
   * The full state as last stored in one piece (the snapshot it loaded, each compaction's fold) or encoded for a
   * joiner: a new client is sent it as is, then what changed since. Encoding a large document for every joiner
   * costs the event loop hundreds of milliseconds each time.
   */
  private full: FullState | null = null;
  /**
   * Server-side changes (`change`) are applied before they are stored; until each one's store settles, nothing is
   * answered from the document (a joiner would otherwise be sent a change that a failing store then drops).
   */
  private readonly unstoredChanges = new Set<Promise<void>>();
  /** The document's state vector right after loading: what a client sent the stored state while it loaded has. */
  readonly loadedStateVector: Map<number, number>;

  private constructor(
    readonly id: string,
    private readonly storage: Storage,
    private readonly limits: Limits,
    doc: Y.Doc,
    state: { entries: number; bytes: number; snapshotBytes: number; lastSeq: number },
    private readonly hooks: DocumentHooks,
    full: FullState | null,
  ) {
    this.doc = doc;
    this.full = full;
    this.loadedStateVector = stateVectorOf(doc);
    this.logEntries = state.entries;
    this.logBytes = state.bytes;
    this.snapshotBytes = state.snapshotBytes;
    this.seqs = new SeqTracker(state.lastSeq);
    this.awareness = new Awareness(doc);
    this.awareness.setLocalState(null);
    this.awareness.on('update', this.onAwarenessUpdate);
  }

  /**
   * Latest snapshot + replay of the log after it. Throws LoadError: never an empty stand-in document.
   * `beforeBuild` sees the stored state as soon as it is read (clients that arrive now can be sent it while the
   * document is built), and whether the build will be sliced (else it occupies this thread until done); the build
   * starts when it resolves.
   */
  static async load(
    id: string,
    storage: Storage,
    limits: Limits,
    hooks: DocumentHooks = {},
    beforeBuild?: (state: StoredState, build: { sliced: boolean }) => Promise<void>,
  ): Promise<LiveDocument> {
    let state;
    try {
      state = await storage.log.loadState(id);
    } catch (e) {
      throw new LoadError(`storage unavailable: ${(e as Error).message}`);
    }
    const pieces = storedPieces(state);
    const sliced = pieces.reduce((n, p) => n + p.byteLength, 0) >= limits.slicedLoadBytes;
    await beforeBuild?.(state, { sliced });
    const { doc, full } = (sliced ? await buildSliced(id, pieces) : null) ?? buildWhole(id, pieces);
    const lastSeq = state.updates.at(-1)?.seq ?? state.snapshotSeq;
    const bytes = state.updates.reduce((n, u) => n + u.data.byteLength, 0);
    return new LiveDocument(
      id,
      storage,
      limits,
      doc,
      { entries: state.updates.length, bytes, snapshotBytes: state.snapshot?.byteLength ?? 0, lastSeq },
      hooks,
      full,
    );
  }

  /**
   * The messages that answer a client's sync step 1: everything the document has beyond `stateVector`. A client
   * with nothing gets what changed since the cached full state (an update), then that full state (sync step 2).
   */
  answerSyncStep1(stateVector: Map<number, number>): Uint8Array[] {
    if (stateVector.size === 0) {
      if (!this.full) {
        const update = Y.encodeStateAsUpdate(this.doc);
        this.full = fullStateIfLarge(update, this.doc);
        return [encodeStep2Update(update)];
      }
      // What changed since goes first: the client keeps it pending until the full state (which it builds on)
      // arrives as sync step 2, so a client that counts itself synced at step 2 then has everything.
      const since = Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(this.full.stateVector));
      const full = encodeStep2Update(this.full.update);
      return since.byteLength > EMPTY_UPDATE.byteLength ? [encodeUpdate(since), full] : [full];
    }
    return [encodeStep2Update(Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(stateVector)))];
  }

  /** Owners of Yjs client ids seen so far (cache of the stored claims). */
  private readonly writerOwners = new Map<number, string>();

  /**
   * Claims the client ids an update writes under for `userId` (first writer owns an id, in storage, so the claim
   * holds across restarts and instances). Returns an id owned by someone else, or null.
   */
  async claimWriters(clientIds: number[], userId: string): Promise<number | null> {
    const unknown = clientIds.filter((id) => !this.writerOwners.has(id));
    if (unknown.length) {
      const owners = await this.storage.log.claimClientIds(this.id, userId, unknown);
      for (const [id, owner] of owners) this.writerOwners.set(id, owner);
    }
    return clientIds.find((id) => this.writerOwners.get(id) !== userId) ?? null;
  }

  /** The connection that announced presence under this client id, if one here did. */
  awarenessOwner(clientId: number): Peer | null {
    for (const p of this.peers) if ((p as { controlledIds?: Set<number> }).controlledIds?.has(clientId)) return p;
    return null;
  }

  /** About how many bytes the document takes in storage (snapshot + log since): the size limit's measure. */
  get storedBytes(): number {
    return this.snapshotBytes + this.logBytes;
  }

  /** Queues an update (already checked by policy) for the write path; resolves once stored and applied. */
  submit(update: Uint8Array): Promise<void> {
    return this.enqueue(update, false);
  }

  /**
   * Runs a server-side change (REST, import) as one transaction and stores it through the same path.
   * Resolves once it is durable; if storing fails the document is marked broken and unloaded by its owner.
   */
  async change(fn: (doc: Y.Doc) => void, origin: unknown): Promise<void> {
    if (this.broken) throw new WriteError('document is being reloaded; try again');
    if ((await this.claimWriters([this.doc.clientID], SERVER_WRITER)) !== null) {
      // someone wrote under this copy's random client id first: take another before writing
      this.doc.clientID = Math.floor(Math.random() * 2 ** 31);
      throw new WriteError('client id taken; try again');
    }
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
    if (updates.length > 0) {
      const stored = this.enqueue(updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates), true);
      const settled = stored.then(
        () => {},
        () => {},
      );
      this.unstoredChanges.add(settled);
      void settled.then(() => this.unstoredChanges.delete(settled));
      await stored;
    }
    if (failure !== null) throw failure;
  }

  /** Resolves once every server-side change applied so far is stored (or failed: then `broken` is set). */
  async changesSettled(): Promise<void> {
    while (this.unstoredChanges.size) await Promise.all([...this.unstoredChanges]);
  }

  /** Marks this copy untrusted and closes its connections; it is unloaded once they are gone, and reloaded on demand. */
  private discard(): void {
    this.broken = true;
    for (const p of this.peers) p.close(1011, 'document reloading');
  }

  private enqueue(update: Uint8Array, applied: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ update, applied, resolve, reject });
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
    const started = performance.now();
    try {
      seqs = await this.storage.log.appendUpdates(
        this.id,
        batch.map((w) => w.update),
      );
      const ms = performance.now() - started;
      // Everything this document's clients send waits for this (the disk, or the database server).
      if (ms >= SLOW_WRITE_MS)
        log.warn('slow storage write', { doc: this.id, ms: Math.round(ms), updates: batch.length });
    } catch (e) {
      const err = new WriteError(`could not store the update: ${(e as Error).message}`);
      log.error('append failed', { doc: this.id, error: (e as Error).message });
      for (const w of batch) w.reject(err);
      // A server-side change in the batch is in memory but not stored: the copy is no longer trusted. Its clients
      // reconnect to a copy loaded from storage (they never received the change: nothing unstored is sent).
      if (batch.some((w) => w.applied)) this.discard();
      return;
    }
    let merged: Uint8Array;
    try {
      // One transaction for the whole batch: observers and update encoding run once, not once per update.
      this.doc.transact(() => {
        for (const w of batch) if (!w.applied) Y.applyUpdate(this.doc, w.update);
      }, CLIENT_ORIGIN);
      for (const w of batch) this.logBytes += w.update.byteLength;
      this.logEntries += batch.length;
      this.seqs.add(seqs);
      merged = batch.length === 1 ? batch[0]!.update : Y.mergeUpdates(batch.map((w) => w.update));
    } catch (e) {
      // Stored but not applicable (the policy should have refused it): the copy in memory is no longer
      // trusted. Its connections are closed and it reloads from the log; the process carries on.
      log.error('stored update could not be applied', { doc: this.id, error: (e as Error).message });
      const err = new WriteError('update could not be applied');
      for (const w of batch) w.reject(err);
      this.discard();
      return;
    }
    this.broadcast(encodeUpdate(merged));
    for (const w of batch) w.resolve();
    this.hooks.onStored?.(this, seqs, merged);
    // A fold costs the whole document, so it waits until the log is also at least half the snapshot's size: the
    // cost per stored byte stays constant however large the document grows (a hot room is not folded every second).
    const logLong = this.logEntries > this.limits.compactAfterUpdates || this.logBytes > this.limits.compactAfterBytes;
    if (logLong && this.logBytes * 2 >= this.snapshotBytes) this.compactInBackground();
  }

  /**
   * Folds the stored log into one snapshot, from what is stored, not from memory. The fold runs in a worker
   * thread while writes go on (one compaction at a time); only the entries it folded leave the log.
   */
  private compactInBackground(): void {
    if (this.compacting) return;
    this.compacting = (async () => {
      try {
        const out: { folded?: { entries: number; bytes: number; update: Uint8Array; stateVector: Uint8Array } } = {};
        const upto = await this.storage.log.compact(this.id, async (state) => {
          const { update, stateVector } = await foldInWorker(state);
          const bytes = state.updates.reduce((n, u) => n + u.data.byteLength, 0);
          out.folded = { entries: state.updates.length, bytes, update, stateVector };
          return update;
        });
        const f = out.folded;
        if (upto < 0 || !f) return;
        this.logEntries = Math.max(0, this.logEntries - f.entries);
        this.logBytes = Math.max(0, this.logBytes - f.bytes);
        this.snapshotBytes = f.update.byteLength;
        // The new snapshot is a full state already encoded (and stored): joiners are sent it from now on.
        this.full = fullStateIfLarge(f.update, Y.decodeStateVector(f.stateVector));
      } catch (e) {
        // The log is intact; compaction is retried after the next write.
        log.warn('compaction failed', { doc: this.id, error: (e as Error).message });
      } finally {
        this.compacting = null;
      }
    })();
  }

  /**
   * Applies updates that are already stored (by another instance, or found in the log on catch-up) and sends
   * local clients what was new to this copy.
   */
  applyStored(updates: Uint8Array[], seqs: Iterable<number>): void {
    const fresh: Uint8Array[] = [];
    const capture = (u: Uint8Array) => fresh.push(u);
    this.doc.on('update', capture);
    try {
      for (const u of updates) Y.applyUpdate(this.doc, u, STORED_ORIGIN);
    } finally {
      this.doc.off('update', capture);
    }
    this.seqs.add(seqs);
    if (fresh.length) this.broadcast(encodeUpdate(fresh.length === 1 ? fresh[0]! : Y.mergeUpdates(fresh)));
  }

  /** Reads what the log holds beyond what this copy has applied, and applies it (one catch-up at a time). */
  catchUp(): Promise<void> {
    return (this.catchingUp ??= (async () => {
      try {
        const from = this.seqs.through;
        const tail = await this.storage.log.updatesAfter(this.id, from);
        if (tail) {
          this.applyStored(
            tail.map((u) => u.data),
            tail.map((u) => u.seq),
          );
          if (tail.length) this.seqs.advanceTo(tail.at(-1)!.seq);
        } else {
          // compaction folded entries we lack into the snapshot: apply the whole stored state (idempotent)
          const state = await this.storage.log.loadState(this.id);
          this.applyStored(storedPieces(state), []);
          this.seqs.advanceTo(state.updates.at(-1)?.seq ?? state.snapshotSeq);
        }
      } finally {
        this.catchingUp = null;
      }
    })());
  }

  /** Waits until every queued write has been stored and applied (or failed), and a running compaction ended. */
  async idle(): Promise<void> {
    while (this.flushing || this.flushScheduled || this.pending.length || this.compacting) {
      if (this.flushing) await this.flushing;
      else if (this.compacting) await this.compacting;
      else await new Promise((r) => setImmediate(r));
    }
  }

  broadcast(message: Uint8Array): void {
    const outgoing = new Outgoing(message);
    for (const p of this.peers) p.send(outgoing);
  }

  private onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const changed = added.concat(updated, removed);
    if (changed.length === 0) return;
    if (origin && typeof origin === 'object' && 'controlledIds' in origin) {
      const ids = (origin as { controlledIds: Set<number> }).controlledIds;
      for (const id of added) ids.add(id);
      for (const id of removed) ids.delete(id);
      this.hooks.onLocalAwareness?.(this, encodeAwarenessUpdate(this.awareness, changed));
    }
    this.broadcast(encodeAwareness(this.awareness, changed));
  };

  /** Clears the awareness states a departing peer controlled (as its own change, so other instances hear it). */
  forgetAwareness(peer: { controlledIds: Set<number> }): void {
    const list = [...peer.controlledIds];
    if (list.length) removeAwarenessStates(this.awareness, list, peer);
  }

  destroy(): void {
    this.awareness.off('update', this.onAwarenessUpdate);
    this.awareness.destroy();
    this.doc.destroy();
  }
}
