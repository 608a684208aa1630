/**
 * Keeps the search index (search/) from the stored log. For a batch of a document, the rows of the document as it
 * is now are computed (from its loaded copy when that has applied the whole batch, else from storage) and, in the
 * projection transaction, only the rows whose content hash changed are written. The rows are a state, written
 * whole: projecting a batch again, late, or after a crash leaves the same index, and each change is indexed once
 * whatever instance or process stored it, loaded or not.
 *
 * A busy document is many batches per projection: rows computed from a state that already held a later batch's
 * entries serve for that batch too (for at most `reuseMs`), so a long catch-up computes them once.
 *
 * Comparing with the stored rows needs their keys and hashes: the consumer keeps the rows it committed for a
 * document (for `keepMs` after its last projection here), and uses them instead of reading every stored row again
 * while the document's cursor and search epoch are still what its commit left (no other instance projected it and
 * no reindex rewrote its rows meanwhile; the projection transaction has checked the cursor already). Rows are
 * computed and kept in groups (a thread's, the article's) that stay the same objects while unchanged, so a step
 * compares only what changed since the last (writeSearchRowGroups): its cost follows the batch, not the document.
 */
import type * as Y from 'yjs';
import { documentSearchRowGroupsInSlices, type SearchRowGroups } from '../search/rows.js';
import { searchEpoch, storedSearchRows, writeSearchRowGroups, type WrittenRows } from '../search/store.js';
import type { DocumentLog } from '../storage/types.js';
import type { ProjectedBatch, ProjectionConsumer } from './projector.js';
import type { StoredDocuments } from './stored-documents.js';

export interface Computed {
  groups: SearchRowGroups;
  /** The last log entry the document they were computed from held. */
  through: number;
}

export function searchConsumer(deps: {
  log: DocumentLog;
  /** Computes the rows from the document's loaded copy, if it is loaded here (null: not loaded, or broken). */
  fromLoaded(docId: string, rows: (doc: Y.Doc) => Promise<SearchRowGroups>): Promise<Computed | null>;
  reuseMs?: number;
  /** How long the rows committed for a document are kept after its last projection here. */
  keepMs?: number;
  /** The projector's shared cache of documents built from storage (else each batch builds its own copy). */
  stored?: StoredDocuments;
}): ProjectionConsumer {
  const recent = new Map<string, Computed & { at: number }>();
  const reuseMs = deps.reuseMs ?? 1000;
  const keepMs = deps.keepMs ?? 60_000;
  /** Per document: the stored rows as this consumer's last commit left them. */
  const committedRows = new Map<string, { cursor: number; epoch: number; rows: WrittenRows; at: number }>();
  const pending = new WeakMap<ProjectedBatch, { cursor: number; epoch: number; rows: WrittenRows | undefined }>();
  const fromStorage = async (docId: string): Promise<Computed | null> => {
    if (!deps.stored) return storedSearchRows(deps.log, docId);
    const { doc, through } = await deps.stored.read(docId);
    return { groups: await documentSearchRowGroupsInSlices(doc), through };
  };
  const rowsOf = async (docId: string, seq: number): Promise<SearchRowGroups> => {
    const now = Date.now();
    const known = recent.get(docId);
    if (known && now - known.at < reuseMs && known.through >= seq) return known.groups;
    let computed = await deps.fromLoaded(docId, documentSearchRowGroupsInSlices);
    // The loaded copy applies an entry just after storing it: it may not hold this batch yet.
    if (!computed || computed.through < seq) computed = await fromStorage(docId);
    if (!computed) return new Map();
    recent.set(docId, { ...computed, at: now });
    setTimeout(() => recent.get(docId)?.at === now && recent.delete(docId), reuseMs).unref();
    return computed.groups;
  };
  return {
    name: 'search',
    heavy: true,
    async prepare(batch) {
      const last = batch.entries.at(-1)?.seq ?? batch.after;
      const groups = await rowsOf(batch.docId, last);
      return async (trx) => {
        // A document deleted meanwhile: its rows went with it (foreign key), and none are written for it.
        const exists = await trx.selectFrom('documents').select('id').where('id', '=', batch.docId).executeTakeFirst();
        if (!exists) return;
        const epoch = await searchEpoch(trx, batch.docId);
        const known = committedRows.get(batch.docId);
        // Taken: written over in place, and void if this transaction does not commit.
        committedRows.delete(batch.docId);
        const before = known && known.cursor === batch.after && known.epoch === epoch ? known.rows : undefined;
        const written = await writeSearchRowGroups(trx, batch.docId, groups, before);
        pending.set(batch, { cursor: last, epoch, rows: written });
      };
    },

    committed(batch) {
      const done = pending.get(batch);
      pending.delete(batch);
      const now = Date.now();
      for (const [docId, known] of committedRows) if (now - known.at > keepMs) committedRows.delete(docId);
      if (done?.rows) committedRows.set(batch.docId, { ...done, rows: done.rows, at: now });
    },
  };
}
