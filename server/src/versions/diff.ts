/**
 * What changed between two states of a document: the article word by word (jsdiff's diffWordsWithSpace over the
 * two plain texts), with who wrote each insertion, and the threads' events (created, resolved, reopened,
 * deleted, commented).
 *
 * Attribution comes from the CRDT itself: every inserted character is a Yjs item written under a client id, and
 * each client id has one owner (the `client_ids` claims). A character of `to` is new when its clock is at or past
 * `from`'s state vector for its client. Yjs records no author for a deletion: a deleted character is attributed to
 * the user noted as deleting its item when the deletion arrived (deletions.ts), else to the author of the text
 * that replaced it, else to no one (null).
 */
import * as Y from 'yjs';
import { articleIndex, readThreads, sortThreads, type ArticleIndex, type Thread } from '@marginalia/shared';
import { wordReplacements } from './word-changes.js';

export interface ArticleChange {
  op: 'insert' | 'delete';
  text: string;
  /** Offset in the `to` article text (for a deletion: where the deleted text was). */
  at: number;
  /** The user who made it; null when not known. */
  by: string | null;
}

export interface ThreadChange {
  op: 'created' | 'resolved' | 'reopened' | 'deleted' | 'commented';
  threadId: string;
  commentId?: string;
  by: string | null;
}

export interface DocumentDiff {
  article: ArticleChange[];
  threads: ThreadChange[];
  /** Characters inserted and deleted per user (attributed changes only). */
  counts: Map<string, { inserted: number; deleted: number }>;
}

/**
 * One side of a diff: a document, or a version's read copy (read-copy.ts: a doc holding the article, whose state
 * vector is the document's, and the threads as records).
 */
export type DiffSide = Y.Doc | { doc: Y.Doc; threads: readonly Thread[] };

/**
 * `owner(clientId)`: the user who owns a Yjs client id of the document, if any; `deleter(client, clock)`: the user
 * noted as deleting that item, if any.
 */
export function diffDocuments(
  fromSide: DiffSide,
  toSide: DiffSide,
  owner: (clientId: number) => string | undefined,
  deleter: (client: number, clock: number) => string | undefined = () => undefined,
): DocumentDiff {
  const from = fromSide instanceof Y.Doc ? fromSide : fromSide.doc;
  const to = toSide instanceof Y.Doc ? toSide : toSide.doc;
  const fromIndex = articleIndex(from);
  const toIndex = articleIndex(to);
  const known = Y.decodeStateVector(Y.encodeStateVector(from));
  const counts = new Map<string, { inserted: number; deleted: number }>();
  const count = (by: string | null, field: 'inserted' | 'deleted', n: number) => {
    if (by === null || n === 0) return;
    const c = counts.get(by) ?? { inserted: 0, deleted: 0 };
    c[field] += n;
    counts.set(by, c);
  };

  const article: ArticleChange[] = [];
  for (const { atOld, atNew: at, removed, added } of wordReplacements(fromIndex.text, toIndex.text)) {
    // The insertions with their authors, the deletion by whoever replaced it.
    const inserts = added ? attributed(toIndex, at, added, known, owner) : [];
    if (removed) {
      const replacedBy = inserts.find((s) => s.by !== null)?.by ?? null;
      for (const s of deletedBy(fromIndex, atOld, removed, deleter, replacedBy)) {
        article.push({ op: 'delete', text: s.text, at, by: s.by });
        count(s.by, 'deleted', s.text.replace(/\s/g, '').length);
      }
    }
    for (const s of inserts) {
      article.push(s);
      count(s.by, 'inserted', s.text.replace(/\s/g, '').length);
    }
  }
  return { article, threads: threadChanges(threadsOf(fromSide, fromIndex), threadsOf(toSide, toIndex)), counts };
}

/** A side's threads in readThreads' order. */
function threadsOf(side: DiffSide, index: ArticleIndex): Thread[] {
  return side instanceof Y.Doc ? readThreads(side, index) : sortThreads(side.threads, index);
}

/** An inserted span of `to`, split where the author of its new characters changes. */
function attributed(
  index: ArticleIndex,
  at: number,
  text: string,
  known: Map<number, number>,
  owner: (clientId: number) => string | undefined,
): ArticleChange[] {
  // The author of each character: its owner if it is new; old characters and block separators take their
  // neighbours' (a word diff reports whole words, some of whose letters were there before).
  const authors: (string | null | undefined)[] = [];
  for (let k = 0; k < text.length; k++) {
    const offset = at + k;
    if (!index.isContent(offset)) {
      authors.push(undefined);
      continue;
    }
    const item = index.toRelative(offset, 0).item;
    const isNew = item !== null && item.clock >= (known.get(item.client) ?? 0);
    authors.push(isNew ? (owner(item.client) ?? null) : undefined);
  }
  const first = authors.find((a) => a !== undefined);
  let current: string | null = first === undefined ? null : first;
  const spans: ArticleChange[] = [];
  for (let k = 0; k < text.length; k++) {
    const a = authors[k];
    if (a !== undefined && a !== current) current = a;
    const last = spans.at(-1);
    if (last && last.by === current) last.text += text[k];
    else spans.push({ op: 'insert', text: text[k]!, at: at + k, by: current });
  }
  return spans;
}

/** A deleted span of `from`, split where its deleter changes; characters with no noted deleter take `fallback`. */
function deletedBy(
  index: ArticleIndex,
  at: number,
  text: string,
  deleter: (client: number, clock: number) => string | undefined,
  fallback: string | null,
): { text: string; by: string | null }[] {
  const spans: { text: string; by: string | null }[] = [];
  let current: string | null = null;
  for (let k = 0; k < text.length; k++) {
    const offset = at + k;
    if (index.isContent(offset)) {
      const item = index.toRelative(offset, 0).item;
      current = (item && deleter(item.client, item.clock)) ?? fallback;
    } else if (k === 0) {
      current = fallback;
    }
    const last = spans.at(-1);
    if (last && last.by === current) last.text += text[k];
    else spans.push({ text: text[k]!, by: current });
  }
  return spans;
}

function threadChanges(before: Thread[], after: Thread[]): ThreadChange[] {
  const out: ThreadChange[] = [];
  const old = new Map(before.map((t) => [t.id, t]));
  const now = new Set(after.map((t) => t.id));
  for (const t of after) {
    const was = old.get(t.id);
    if (!was) out.push({ op: 'created', threadId: t.id, by: t.createdBy });
    const oldComments = new Map((was?.comments ?? []).map((c) => [c.id, c]));
    t.comments.forEach((c, i) => {
      const prior = oldComments.get(c.id);
      // The first comment of a new thread is its creation.
      const isNew = !prior && !(was === undefined && i === 0);
      if (isNew) out.push({ op: 'commented', threadId: t.id, commentId: c.id, by: c.authorId });
      if (c.deleted && !prior?.deleted && (prior !== undefined || isNew))
        out.push({ op: 'deleted', threadId: t.id, commentId: c.id, by: null });
    });
    if ((was?.status ?? 'open') !== t.status) {
      out.push(
        t.status === 'resolved'
          ? { op: 'resolved', threadId: t.id, by: t.resolvedBy }
          : { op: 'reopened', threadId: t.id, by: null },
      );
    }
  }
  for (const t of before) if (!now.has(t.id)) out.push({ op: 'deleted', threadId: t.id, by: null });
  return out;
}
