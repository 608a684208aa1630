/**
 * Compaction, as an extension: after a stored batch makes a document's log long, the log is folded into one
 * snapshot — from what is stored, not from memory, in a worker thread while writes go on (one compaction per
 * document at a time). Only the entries it folded leave the log; a failed compaction leaves the log intact and is
 * retried after the next write.
 *
 * Before folding, junk no reader can read (thread and comment maps older server versions let clients store:
 * `purgeInvalid`) is deleted as a server-side change through the write path, so connected clients (on every
 * instance) receive the deletion and the snapshot holds none of it; each purge is audited (`document.purged`).
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
      await this.purgeJunk(document);
      const out: { folded?: { entries: number; bytes: number; update: Uint8Array; stateVector: Uint8Array } } = {};
      const upto = await this.storage.log.compact(document.id, async (state) => {
        const { update, stateVector } = await foldInWorker(state);
        const bytes = state.updates.reduce((n, u) => n + u.data.byteLength, 0);
        out.folded = { entries: state.updates.length, bytes, update, stateVector };
        return update;
      });
      const folded = out.folded;
      if (upto < 0 || !folded) return void metrics.compactions.inc({ result: 'skipped' });
      document.storedLog.folded(folded.entries, folded.bytes, folded.update.byteLength);
      // The new snapshot is a full state already encoded (and stored): joiners are sent it from now on.
      document.adoptStoredFullState(folded.update, Y.decodeStateVector(folded.stateVector));
      metrics.compactions.inc({ result: 'ok' });
      metrics.compactionSeconds.observe((performance.now() - started) / 1000);
    } catch (e) {
      metrics.compactions.inc({ result: 'failed' });
      // The log is intact; compaction is retried after the next write.
      document.log.warn('compaction failed', { error: (e as Error).message });
    }
  }

  private async purgeJunk(document: LiveDocument): Promise<void> {
    let purged: ReturnType<typeof purgeInvalid> = { threads: [], comments: 0 };
    await document.change((doc) => void (purged = purgeInvalid(doc)), ORIGIN.purgeInvalid);
    if (purged.threads.length === 0 && purged.comments === 0) return;
    const detail = { threads: purged.threads.length, comments: purged.comments, on: 'compaction' };
    document.log.info('unreadable thread entries purged', detail);
    await this.storage.audit({ docId: document.id, actorId: null, action: 'document.purged', detail });
  }
}
