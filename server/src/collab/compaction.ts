/**
 * Compaction, as an extension: after a stored batch makes a document's log long, the log is folded into one
 * snapshot — from what is stored, not from memory, in a worker thread while writes go on (one compaction per
 * document at a time). Only the entries it folded leave the log; a failed compaction leaves the log intact and is
 * retried after the next write.
 *
 * Compaction also purges junk: thread and comment maps no reader can read, which clients could store before the
 * server required new threads and comments to arrive whole (the fold finds their keys, in the worker). The purge is
 * a server-side change like any other (stored, sent to every client, audited as `document.purged`).
 */
import * as Y from 'yjs';
import { ORIGIN, purgeInvalid } from '@marginalia/shared';
import type { Storage } from '../storage/types.js';
import type { Limits } from '../config.js';
import { foldInWorker } from '../storage/storage-worker.js';
import type { Extension, StoredEvent } from './hooks.js';
import type { LiveDocument } from './live-document.js';
import { metrics } from '../metrics.js';

export class Compaction implements Extension {
  /** The compaction running per document. */
  private readonly running = new Map<LiveDocument, Promise<void>>();

  constructor(
    private readonly storage: Storage,
    private readonly limits: Limits,
  ) {}

  onStored({ document }: StoredEvent): void {
    const size = document.storedLog;
    // A fold costs the whole document, so it waits until the log is also at least half the snapshot's size: the
    // cost per stored byte stays constant however large the document grows (a hot room is not folded every second).
    const logLong = size.logEntries > this.limits.compactAfterUpdates || size.logBytes > this.limits.compactAfterBytes;
    if (logLong && size.logBytes * 2 >= size.snapshotBytes && !this.running.has(document)) {
      const run = this.compact(document).finally(() => this.running.delete(document));
      this.running.set(document, run);
    }
  }

  /** A document is unloaded only once its compaction ended (storage may close right after). */
  async beforeUnload(document: LiveDocument): Promise<void> {
    await this.running.get(document);
  }

  private async compact(document: LiveDocument): Promise<void> {
    const started = performance.now();
    try {
      const out: {
        folded?: {
          entries: number;
          bytes: number;
          update: Uint8Array;
          stateVector: Uint8Array;
          lead: Uint8Array | null;
          invalid: string[];
        };
      } = {};
      const upto = await this.storage.log.compact(document.id, async (state) => {
        const { update, stateVector, lead, invalid } = await foldInWorker(state, { findInvalid: true });
        const bytes = state.updates.reduce((n, u) => n + u.data.byteLength, 0);
        out.folded = { entries: state.updates.length, bytes, update, stateVector, lead, invalid };
        return { snapshot: update, lead };
      });
      const folded = out.folded;
      if (upto < 0 || !folded) return void metrics.compactions.inc({ result: 'skipped' });
      document.storedLog.folded(folded.entries, folded.bytes, folded.update.byteLength);
      // The new snapshot is a full state already encoded (and stored): joiners are sent it from now on.
      document.adoptStoredFullState(folded.update, Y.decodeStateVector(folded.stateVector), folded.lead);
      metrics.compactions.inc({ result: 'ok' });
      metrics.compactionSeconds.observe((performance.now() - started) / 1000);
      if (folded.invalid.length > 0) await this.purge(document, folded.invalid);
    } catch (e) {
      metrics.compactions.inc({ result: 'failed' });
      // The log is intact; compaction is retried after the next write.
      document.log.warn('compaction failed', { error: (e as Error).message });
    }
  }

  /**
   * Removes the junk under `keys` (found on the stored state) from the live document, as a server-side change:
   * what is no longer junk there (an owner may have completed a map meanwhile) stays.
   */
  private async purge(document: LiveDocument, keys: string[]): Promise<void> {
    let purged = { threads: [] as string[], comments: 0 };
    try {
      await document.change((doc) => {
        purged = purgeInvalid(doc, keys);
      }, ORIGIN.purgeInvalid);
    } catch (e) {
      // the junk stays (readers skip it); the next compaction tries again
      return void document.log.warn('purging junk on compaction failed', { error: (e as Error).message });
    }
    if (purged.threads.length === 0 && purged.comments === 0) return;
    document.log.info('purged junk on compaction', { threads: purged.threads.length, comments: purged.comments });
    await this.storage.audit({
      docId: document.id,
      actorId: null,
      action: 'document.purged',
      detail: { threads: purged.threads.length, comments: purged.comments, by: 'compaction' },
    });
  }
}
