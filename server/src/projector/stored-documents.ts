/**
 * Documents built from storage for the projector's consumers, when this instance has no loaded copy (another
 * instance serves the document, or nobody does). Building one means reading and applying its whole stored state,
 * and a busy document is projected many times a minute: a built document is kept for `keepMs` after its last use
 * and brought up to date with the entries stored since (`updatesAfter`), and built anew only when compaction has
 * folded those into a snapshot.
 */
import * as Y from 'yjs';
import type { DocumentLog } from '../storage/types.js';
import { storedPieces } from '../storage/stored-state.js';

interface Kept {
  doc: Y.Doc;
  /** The last log sequence number applied. */
  seq: number;
  timer: NodeJS.Timeout;
}

export class StoredDocuments {
  private readonly kept = new Map<string, Kept>();

  constructor(
    private readonly log: DocumentLog,
    private readonly keepMs = 10_000,
    private readonly max = 16,
  ) {}

  /** The document as stored now. It stays owned by this cache: do not destroy it. */
  async get(docId: string): Promise<Y.Doc> {
    return (await this.read(docId)).doc;
  }

  /** The document as stored now, with the last log entry it holds (`through`). The document stays owned here. */
  async read(docId: string): Promise<{ doc: Y.Doc; through: number }> {
    const known = this.kept.get(docId);
    if (known) {
      const after = await this.log.updatesAfter(docId, known.seq);
      if (after !== null && this.kept.get(docId) === known) {
        for (const u of after) Y.applyUpdate(known.doc, u.data);
        known.seq = after.at(-1)?.seq ?? known.seq;
        this.touch(docId, known);
        return { doc: known.doc, through: known.seq };
      }
      this.drop(docId);
    }
    const state = await this.log.loadState(docId);
    const doc = new Y.Doc();
    for (const piece of storedPieces(state)) Y.applyUpdate(doc, piece);
    const kept: Kept = { doc, seq: state.updates.at(-1)?.seq ?? state.snapshotSeq, timer: setTimeout(() => {}, 0) };
    this.drop(docId);
    if (this.kept.size >= this.max) this.drop(this.kept.keys().next().value!);
    this.kept.set(docId, kept);
    this.touch(docId, kept);
    return { doc, through: kept.seq };
  }

  close(): void {
    for (const id of [...this.kept.keys()]) this.drop(id);
  }

  private touch(docId: string, kept: Kept): void {
    clearTimeout(kept.timer);
    kept.timer = setTimeout(() => this.drop(docId), this.keepMs);
    kept.timer.unref();
  }

  private drop(docId: string): void {
    const kept = this.kept.get(docId);
    if (!kept) return;
    clearTimeout(kept.timer);
    kept.doc.destroy();
    this.kept.delete(docId);
  }
}
