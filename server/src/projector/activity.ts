/**
 * The library's view of each document's activity, kept from the stored log: when it last changed, and how many
 * threads and live comments it holds (documents.updated_at, thread_count, comment_count).
 *
 * The counts are of the document as it is now (its loaded copy if it is loaded here, else as stored), not as of the
 * batch: they are a state, written whole, so projecting a batch again or late leaves them right.
 *
 * Counting walks the whole document, and one projection of a busy document is many batches: counts taken less than
 * `reuseMs` ago are written again rather than taken anew. A change made meanwhile wakes the projector once more,
 * later than that (its delay is longer), so the counts it leaves are never older than the last change.
 */
import * as Y from 'yjs';
import { documentCounts } from '../documents.js';
import { storedPieces } from '../storage/stored-state.js';
import type { DocumentLog } from '../storage/types.js';
import type { ProjectionConsumer } from './projector.js';
import type { StoredDocuments } from './stored-documents.js';

export type Counts = ReturnType<typeof documentCounts>;

export function activityConsumer(deps: {
  log: DocumentLog;
  /** The counts of the document's loaded copy, or null when it is not loaded here. */
  loadedCounts(docId: string): Promise<Counts | null>;
  /** How long counts may be reused for the next batches of a document (0: counted for every batch). */
  reuseMs?: number;
  /** The projector's shared cache of documents built from storage (else each count builds its own copy). */
  stored?: StoredDocuments;
}): ProjectionConsumer {
  const recent = new Map<string, { at: number; counts: Counts }>();
  const reuseMs = deps.reuseMs ?? 0;
  const countsOf = async (docId: string): Promise<Counts> => {
    const now = Date.now();
    const known = recent.get(docId);
    if (known && now - known.at < reuseMs) return known.counts;
    const counts =
      (await deps.loadedCounts(docId)) ??
      (deps.stored ? documentCounts(await deps.stored.get(docId)) : await storedCounts(deps.log, docId));
    if (reuseMs > 0) {
      recent.set(docId, { at: now, counts });
      // Forgotten once stale: the map holds only documents projected within the last moment.
      setTimeout(() => recent.get(docId)?.at === now && recent.delete(docId), reuseMs).unref();
    }
    return counts;
  };
  return {
    name: 'activity',
    async prepare(batch) {
      const counts = await countsOf(batch.docId);
      const at = Date.now();
      return async (trx) => {
        await trx
          .updateTable('documents')
          .set({ updated_at: at, thread_count: counts.threadCount, comment_count: counts.commentCount })
          .where('id', '=', batch.docId)
          .execute();
      };
    },
  };
}

async function storedCounts(log: DocumentLog, docId: string): Promise<Counts> {
  const doc = new Y.Doc();
  try {
    for (const piece of storedPieces(await log.loadState(docId))) Y.applyUpdate(doc, piece);
    return documentCounts(doc);
  } finally {
    doc.destroy();
  }
}
