/**
 * Automatic versions, derived from the stored log: while a document is being changed, its state is recorded as a
 * version at most once per `intervalMs` (MARGINALIA_VERSION_INTERVAL_MS), whoever changed it and however (browser,
 * stock Yjs client, REST, CLI, another instance). Automatic versions older than `keepMs` are deleted as new ones
 * are recorded; named versions are never deleted.
 *
 * The state recorded is the document as stored when the batch is projected, which may be ahead of the batch:
 * compaction folds entries into the snapshot before the projector reaches them (projector.ts). So a version
 * covers at least its batch; `upto_seq` says how far it is known to reach.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { DocumentLog } from '../storage/types.js';
import { foldVersionInWorker } from '../storage/storage-worker.js';
import { insertVersion, lastAutomaticAt, pruneAutomatic } from '../versions/store.js';
import type { ProjectionConsumer } from './projector.js';

export function versionsConsumer(deps: {
  db: Kysely<Database>;
  log: DocumentLog;
  /** Least time between two automatic versions of one document. */
  intervalMs: number;
  /** How long automatic versions are kept. */
  keepMs: number;
  now?: () => number;
}): ProjectionConsumer {
  const now = deps.now ?? Date.now;
  return {
    name: 'versions',
    async prepare(batch) {
      const at = now();
      // The database is read outside the transaction; two projections of one document never overlap (the
      // projector's cursor check and, on PostgreSQL, its lock), so this stays true until the effects run.
      const last = await lastAutomaticAt(deps.db, batch.docId);
      if (last !== null && at - last < deps.intervalMs) return async () => {};
      const state = await deps.log.loadState(batch.docId);
      // Folding a large document costs seconds: in the storage worker, as compaction does, off the event loop; the
      // version's read copy (versions/read-copy.ts) is read there from the same folded document.
      const { update, readCopy } = await foldVersionInWorker(state);
      const uptoSeq = Math.max(batch.entries.at(-1)!.seq, state.updates.at(-1)?.seq ?? state.snapshotSeq);
      const author =
        [...batch.entries]
          .reverse()
          .find((e) => e.authors.length)
          ?.authors.at(-1) ?? null;
      return async (trx) => {
        await insertVersion(trx, {
          docId: batch.docId,
          name: null,
          createdBy: author,
          automatic: true,
          uptoSeq,
          state: update,
          readCopy,
          createdAt: at,
        });
        await pruneAutomatic(trx, batch.docId, at - deps.keepMs);
      };
    },
  };
}
