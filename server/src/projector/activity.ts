/**
 * The library's view of each document's activity, kept from the stored log: when it last changed, and how many
 * threads and live comments it holds (documents.updated_at, thread_count, comment_count).
 *
 * The counts are of the document as it is now (its loaded copy if it is loaded here, else as stored), not as of the
 * batch: they are a state, written whole, so projecting a batch again or late leaves them right.
 */
import * as Y from 'yjs';
import { documentCounts } from '../documents.js';
import { storedPieces } from '../storage/stored-state.js';
import type { DocumentLog } from '../storage/types.js';
import type { ProjectionConsumer } from './projector.js';

export type Counts = ReturnType<typeof documentCounts>;

export function activityConsumer(deps: {
  log: DocumentLog;
  /** The counts of the document's loaded copy, or null when it is not loaded here. */
  loadedCounts(docId: string): Promise<Counts | null>;
}): ProjectionConsumer {
  return {
    name: 'activity',
    async prepare(batch) {
      const counts = (await deps.loadedCounts(batch.docId)) ?? (await storedCounts(deps.log, batch.docId));
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
