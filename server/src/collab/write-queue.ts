/**
 * A document's write path: every change takes it, admitted first (admit.ts), then
 *   append to the durable log -> apply to the document -> broadcast -> `stored` event.
 * Updates queued in one event-loop turn are stored as one batch (one transaction), applied in one Yjs
 * transaction, merged and encoded once for all recipients. Nothing is broadcast that is not stored. One batch is
 * stored at a time: what arrives meanwhile waits for the turn after it.
 */
import * as Y from 'yjs';
import type { Storage } from '../storage/types.js';
import type { Hooks, WriteNote } from './hooks.js';
import type { LiveDocument } from './live-document.js';
import { encodeUpdate } from './protocol.js';
import { metrics } from '../metrics.js';

/** A change that was not stored (so it is nowhere): the sender may send it again. */
export class WriteError extends Error {}

/** Origin of the transaction that applies a stored batch of clients' updates. */
export const CLIENT_ORIGIN = 'marginalia:client-updates';

const NO_NOTE: WriteNote = { author: null, deleted: [] };

/** A stored write that takes this long is logged: clients notice it (their changes wait to be confirmed). */
const SLOW_WRITE_MS = 100;

interface QueuedWrite {
  update: Uint8Array;
  /** Already applied to the document (server-side changes); stored after the fact, or the document is discarded. */
  applied: boolean;
  note: WriteNote;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class WriteQueue {
  private pending: QueuedWrite[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly document: LiveDocument,
    private readonly storage: Storage,
    private readonly hooks: Hooks,
  ) {}

  /**
   * Queues an update for the next batch; resolves once it is stored and applied, rejects with WriteError if it
   * could not be (then it is in neither). `applied`: the update is already in the document (a server-side change).
   */
  enqueue(update: Uint8Array, applied = false, note: WriteNote = NO_NOTE): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ update, applied, note, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Stores what is queued as one batch now rather than at the end of the turn, unless a batch is being stored:
   * then resolves when that one is done (what is queued follows it).
   */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.length === 0) return Promise.resolve();
    this.flushing = this.storeBatch().finally(this.flushed);
    return this.flushing;
  }

  /** Resolves once every queued update has been stored and applied (or has failed). */
  async settled(): Promise<void> {
    while (this.flushing || this.scheduled || this.pending.length) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(this.flushScheduled);
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    void this.flush();
  };

  private readonly flushed = (): void => {
    this.flushing = null;
    if (this.pending.length) this.schedule();
  };

  private async storeBatch(): Promise<void> {
    const live = this.document;
    const batch = this.pending;
    this.pending = [];
    const updates = batch.map((w) => w.update);
    let seqs: number[];
    const started = performance.now();
    try {
      seqs = await this.storage.log.appendUpdates(live.id, updates);
      const ms = performance.now() - started;
      // Everything this document's clients send waits for this (the disk, or the database server).
      if (ms >= SLOW_WRITE_MS) live.log.warn('slow storage write', { ms: Math.round(ms), updates: batch.length });
    } catch (e) {
      const err = new WriteError(`could not store the update: ${(e as Error).message}`);
      live.log.error('append failed', { error: (e as Error).message });
      for (const w of batch) w.reject(err);
      // A server-side change in the batch is in memory but not stored: the copy is no longer trusted. Its clients
      // reconnect to a copy loaded from storage (they never received the change: nothing unstored is sent).
      if (batch.some((w) => w.applied)) live.discard();
      return;
    }
    let merged: Uint8Array;
    try {
      // One transaction for the whole batch: observers and update encoding run once, not once per update.
      live.doc.transact(() => {
        for (const w of batch) if (!w.applied) Y.applyUpdate(live.doc, w.update);
      }, CLIENT_ORIGIN);
      live.storedLog.appended(updates);
      live.seqs.add(seqs);
      merged = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates);
    } catch (e) {
      // Stored but not applicable (admission should have refused it): the copy in memory is no longer trusted.
      // Its connections are closed and it reloads from the log; the process carries on.
      live.log.error('stored update could not be applied', { error: (e as Error).message });
      const err = new WriteError('update could not be applied');
      for (const w of batch) w.reject(err);
      live.discard();
      return;
    }
    // The hooks before the local fan-out: the scale-out publish is then on its way to the other instances while
    // this one writes to its own sockets (a hot room's fan-out takes milliseconds), not after. What the hooks do
    // at once is small (a publish, timers, counters); their work that waits runs after the broadcast.
    this.hooks.onStored({
      document: live,
      documentId: live.id,
      seqs,
      update: merged,
      writes: batch.map((w) => w.note),
    });
    live.broadcast(encodeUpdate(merged));
    metrics.flushSeconds.observe((performance.now() - started) / 1000);
    for (const w of batch) w.resolve();
  }
}
