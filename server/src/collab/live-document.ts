/**
 * One loaded document: its Y.Doc, presence and connections, what joining clients are sent, and server-side
 * changes. Every change to it takes the write queue (write-queue.ts); who may make one is decided by admit.ts;
 * what follows a stored batch (compaction, scale-out, activity) is an extension (hooks.ts).
 */
import * as Y from 'yjs';
import { Awareness, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import type { Storage, StoredState } from '../storage/types.js';
import type { Limits } from '../config.js';
import { EMPTY_UPDATE, encodeAwareness, encodeStep2Update, encodeUpdate } from './protocol.js';
import { SeqTracker } from './seq-tracker.js';
import { storedPieces } from '../storage/stored-state.js';
import { Outgoing } from './wire.js';
import { buildDocument, fullStateIfLarge, stateVectorOf, type FullState } from './document-build.js';
import { ClientIdClaims } from './client-ids.js';
import { StoredSize } from './stored-size.js';
import { WriteError, WriteQueue } from './write-queue.js';
import type { Hooks, WriteNote } from './hooks.js';
import { log, type Log } from '../log.js';

// REST maps a WriteError to 503 (http/errors.ts imports it from here).
export { WriteError } from './write-queue.js';

/** A recipient of broadcasts: a WebSocket connection, or (later) a peer instance. */
export interface Peer {
  /** A broadcast comes as an Outgoing (framed once for all recipients); a message for this peer alone as bytes. */
  send(message: Uint8Array | Outgoing): void;
  /** Ends the peer's session with a close code and reason. */
  close(code: number, reason: string): void;
}

/** A peer that announces presence: the awareness client ids it controls (null until its first). */
export interface PresenceOwner {
  controlledIds: Set<number> | null;
}

/** What a live document works with: the log it writes to, the limits, and the registered extensions. */
export interface DocumentServices {
  storage: Storage;
  limits: Limits;
  hooks: Hooks;
}

/** The owner recorded for the client ids under which the server itself writes (REST changes, imports). */
export const SERVER_WRITER = 'marginalia:server';

/** Origin of changes that come from the store or another instance, already stored there. */
export const STORED_ORIGIN = 'marginalia:stored';

export class LiveDocument {
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly peers = new Set<Peer>();
  /** Set when a stored write failed after a server-side change was applied: the copy in memory is not trusted. */
  broken = false;
  /** The write path: every change to the document is stored through it before anyone sees it. */
  readonly writes: WriteQueue;
  /** Owners of the Yjs client ids written under in this document. */
  readonly clientIds: ClientIdClaims;
  /** How much of the document is in storage (snapshot + log). */
  readonly storedLog: StoredSize;
  /** Log entries applied here (own writes, and other instances' through scale-out). */
  readonly seqs: SeqTracker;
  readonly limits: Limits;
  /** The document's state vector right after loading: what a client sent the stored state while it loaded has. */
  readonly loadedStateVector: Map<number, number>;
  /** Logs about this document (each line carries its id). */
  readonly log: Log;
  private readonly storage: Storage;
  private readonly hooks: Hooks;
  private catchingUp: Promise<void> | null = null;
  /**
   * The full state as last stored in one piece (the snapshot it loaded, each compaction's fold) or encoded for a
   * joiner: a new client is sent it as is, then what changed since. Encoding a large document for every joiner
   * costs the event loop hundreds of milliseconds each time.
   */
  private full: FullState | null;
  /**
   * Server-side changes (`change`) are applied before they are stored; until each one's store settles, nothing is
   * answered from the document (a joiner would otherwise be sent a change that a failing store then drops).
   */
  private readonly unstoredChanges = new Set<Promise<void>>();

  private constructor(
    readonly id: string,
    doc: Y.Doc,
    full: FullState | null,
    state: StoredState,
    services: DocumentServices,
  ) {
    this.doc = doc;
    this.log = log.child({ doc: id });
    this.full = full;
    this.storage = services.storage;
    this.limits = services.limits;
    this.hooks = services.hooks;
    this.loadedStateVector = stateVectorOf(doc);
    const logBytes = state.updates.reduce((n, u) => n + u.data.byteLength, 0);
    this.storedLog = new StoredSize(state.updates.length, logBytes, state.snapshot?.byteLength ?? 0);
    this.seqs = new SeqTracker(state.updates.at(-1)?.seq ?? state.snapshotSeq);
    this.writes = new WriteQueue(this, services.storage, services.hooks);
    this.clientIds = new ClientIdClaims(id, services.storage);
    this.awareness = new Awareness(doc);
    this.awareness.setLocalState(null);
    this.awareness.on('update', this.onAwarenessUpdate);
  }

  /**
   * The document built from its stored state (latest snapshot + the log after it), a slice per event-loop turn
   * when `sliced`. Throws LoadError: never an empty stand-in document.
   */
  static async build(
    id: string,
    state: StoredState,
    services: DocumentServices,
    opts: { sliced: boolean },
  ): Promise<LiveDocument> {
    const { doc, full } = await buildDocument(id, storedPieces(state), opts.sliced, state.snapshotLead);
    return new LiveDocument(id, doc, full, state, services);
  }

  /**
   * The messages that answer a client's sync step 1: everything the document has beyond `stateVector`. A client
   * with nothing gets the cached full state's lead if it has one (an update: the article, shown before the rest
   * arrives), what changed since the full state (an update), then that full state (sync step 2).
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
      const messages = since.byteLength > EMPTY_UPDATE.byteLength ? [encodeUpdate(since), full] : [full];
      return this.full.lead ? [encodeUpdate(this.full.lead), ...messages] : messages;
    }
    return [encodeStep2Update(Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(stateVector)))];
  }

  /** A full state just stored in one piece (a compaction's fold), with its lead: joiners are sent it from now on. */
  adoptStoredFullState(update: Uint8Array, stateVector: Map<number, number>, lead: Uint8Array | null): void {
    this.full = fullStateIfLarge(update, stateVector, lead);
  }

  /** The connection that announced presence under this client id, if one here did. */
  awarenessOwner(clientId: number): Peer | null {
    for (const p of this.peers) if ((p as Partial<PresenceOwner>).controlledIds?.has(clientId)) return p;
    return null;
  }

  /** About how many bytes the document takes in storage (snapshot + log since): the size limit's measure. */
  get storedBytes(): number {
    return this.storedLog.bytes;
  }

  /**
   * Queues an update (already admitted) for the write path; resolves once stored and applied. `note`: who sent it
   * and what it deletes (for attribution: see versions/deletions.ts).
   */
  submit(update: Uint8Array, note?: WriteNote): Promise<void> {
    return this.writes.enqueue(update, false, note);
  }

  /** Client ids this copy writes under on behalf of users (server-side changes made for them: REST). */
  private readonly writerIds = new Map<string, number>();

  /**
   * Runs a server-side change (REST, import) as one transaction and stores it through the same path.
   * Resolves once it is durable; if storing fails the document is marked broken and unloaded by its owner.
   * `onBehalfOf`: the user who asked for it. The change is then written under a client id claimed for that user,
   * so whoever reads the stored log (the projector: notifications, webhooks) sees who made it. `note`: what the
   * change deletes, and by whom, for attribution (versions/deletions.ts).
   */
  async change(
    fn: (doc: Y.Doc) => void,
    origin: unknown,
    { note, onBehalfOf }: { note?: WriteNote; onBehalfOf?: string } = {},
  ): Promise<void> {
    if (this.broken) throw new WriteError('document is being reloaded; try again');
    const writer = onBehalfOf ?? SERVER_WRITER;
    const clientId = onBehalfOf ? (this.writerIds.get(onBehalfOf) ?? randomClientId()) : this.doc.clientID;
    if ((await this.clientIds.claim([clientId], writer)) !== null) {
      // someone wrote under this random client id first: take another before writing
      if (onBehalfOf) this.writerIds.delete(onBehalfOf);
      else this.doc.clientID = randomClientId();
      throw new WriteError('client id taken; try again');
    }
    if (onBehalfOf) this.writerIds.set(onBehalfOf, clientId);
    const ownId = this.doc.clientID;
    const updates: Uint8Array[] = [];
    const capture = (u: Uint8Array) => updates.push(u);
    let failure: unknown = null;
    this.doc.on('update', capture);
    try {
      // Yjs writes new structs under doc.clientID as the transaction runs; it is this copy's own id again after.
      this.doc.clientID = clientId;
      this.doc.transact(() => fn(this.doc), origin);
    } catch (e) {
      failure = e;
    } finally {
      this.doc.clientID = ownId;
      this.doc.off('update', capture);
    }
    // Whatever the change applied before failing is stored too, so memory and storage never disagree.
    if (updates.length > 0) {
      const stored = this.writes.enqueue(updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates), true, note);
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
  discard(): void {
    this.broken = true;
    for (const p of this.peers) p.close(1011, 'document reloading');
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
      const owner = origin as PresenceOwner;
      if (added.length) {
        const ids = (owner.controlledIds ??= new Set());
        for (const id of added) ids.add(id);
      }
      for (const id of removed) owner.controlledIds?.delete(id);
      // Encoded only when an extension listens (scale-out): a single instance pays nothing for it.
      if (this.hooks.listensToLocalAwareness)
        this.hooks.onLocalAwareness(this, encodeAwarenessUpdate(this.awareness, changed));
    }
    this.broadcast(encodeAwareness(this.awareness, changed));
  };

  /** Clears the awareness states a departing peer controlled (as its own change, so other instances hear it). */
  forgetAwareness(peer: PresenceOwner): void {
    const list = [...(peer.controlledIds ?? [])];
    if (list.length) removeAwarenessStates(this.awareness, list, peer);
  }

  destroy(): void {
    this.awareness.off('update', this.onAwarenessUpdate);
    this.awareness.destroy();
    this.doc.destroy();
  }
}

/** A random Yjs client id (as Yjs makes them: 32 bits, unsigned). */
function randomClientId(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
