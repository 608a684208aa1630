/**
 * What the search index holds of one document: its title, each article block, and each live comment with what
 * it is found by besides its body (the quote of its thread, the thread's tags, its author's name) and filtered
 * by (status, author, tags, time). Computed from the document as it is now; a deleted comment has no row.
 */
import * as Y from 'yjs';
import { createHash } from 'node:crypto';
import {
  articleBlocks,
  readMeta,
  readThreadCached,
  rootText,
  threadsMap,
  type Comment,
  type Thread,
} from '@marginalia/shared';
import type { SearchRowsTable } from '../storage/schema.js';

export type SearchRow = Omit<SearchRowsTable, 'id' | 'doc_id'>;

/** Tags as stored: one per line, each between line breaks, so that a filter can look for "\n<tag>\n". */
export const storedTags = (tags: readonly string[]): string | null => (tags.length ? `\n${tags.join('\n')}\n` : null);

export const readStoredTags = (stored: string | null): string[] => (stored ? stored.split('\n').filter(Boolean) : []);

const digest = (s: string): string => createHash('sha256').update(s).digest('base64url').slice(0, 22);

function row(fields: Omit<SearchRow, 'hash'>): SearchRow {
  return { ...fields, hash: digest(JSON.stringify(fields)) };
}

const EMPTY = {
  thread_id: null,
  comment_id: null,
  author_id: null,
  author_name: null,
  status: null,
  tags: null,
  created_at: null,
  quote: null,
} as const;

export function documentSearchRows(doc: Y.Doc): SearchRow[] {
  const rows: SearchRow[] = [];
  for (const _ of rowSteps(doc, rows));
  return rows;
}

/**
 * The same, computed in slices of at most `sliceMs` with the event loop let through between them: a busy
 * document's rows cost tens of milliseconds, and live delivery must not wait for them. The document may change
 * between slices: the rows then hold at least its state when the call began (a thread changed meanwhile is
 * marked and computed again next time).
 */
export async function documentSearchRowsInSlices(doc: Y.Doc, sliceMs = 5): Promise<SearchRow[]> {
  const rows: SearchRow[] = [];
  let sliceStart = performance.now();
  for (const _ of rowSteps(doc, rows)) {
    if (performance.now() - sliceStart < sliceMs) continue;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  }
  return rows;
}

/** Pushes the document's rows onto `rows`, pausing (yield) after the article and after each thread. */
function* rowSteps(doc: Y.Doc, rows: SearchRow[]): Generator<void> {
  const meta = readMeta(doc);
  if (meta?.title) rows.push(row({ ...EMPTY, key: 't', kind: 'title', body: meta.title, created_at: meta.createdAt }));
  for (const r of articleRows(doc)) rows.push(r);
  yield;
  const threads = threadsMap(doc);
  for (const key of [...threads.keys()]) {
    const value = threads.get(key);
    if (value === undefined) continue; // deleted during a pause
    for (const r of threadRows(doc, value)) rows.push(r);
    yield;
  }
}

/**
 * The article's rows, kept per document until the article changes (a deep observer on its root): a busy
 * document's threads change several times a second, its article seldom, and walking and hashing every block
 * each time cost more than the threads' rows.
 */
const articleRowsOf = new WeakMap<Y.Doc, SearchRow[] | null>();

function articleRows(doc: Y.Doc): SearchRow[] {
  const inTransaction = doc._transaction !== null;
  const known = inTransaction ? undefined : articleRowsOf.get(doc);
  if (known) return known;
  if (known === undefined && !inTransaction) {
    // First use: watch the article from now on (null: computed rows are stale).
    rootText(doc).observeDeep(() => articleRowsOf.set(doc, null));
  }
  // Blocks are keyed by their content, so a block inserted or removed leaves the others' rows as they are.
  const rows: SearchRow[] = [];
  const seen = new Map<string, number>();
  for (const block of articleBlocks(doc)) {
    const text = block.runs.map((r) => r.text).join('');
    if (text.trim() === '') continue;
    const h = digest(text);
    const n = (seen.get(h) ?? 0) + 1;
    seen.set(h, n);
    rows.push(row({ ...EMPTY, key: `a:${h}:${n}`, kind: 'article', body: text }));
  }
  if (!inTransaction) articleRowsOf.set(doc, rows);
  return rows;
}

/**
 * The rows last computed for a thread record and for a comment record. A busy document is projected several times
 * a second: with its records read through readThreadCached, an unchanged thread is the same record (its rows are
 * reused whole) and a thread with one new reply is a new record whose unchanged comments are the same records, so
 * only that reply's row is computed and hashed.
 */
const rowsOfThread = new WeakMap<Thread, SearchRow[]>();
const rowOfComment = new WeakMap<Comment, { context: string; row: SearchRow }>();

/** The search rows of one thread (none for a malformed one). */
function threadRows(doc: Y.Doc, value: unknown): SearchRow[] {
  const thread = value instanceof Y.Map ? readThreadCached(doc, value as Y.Map<unknown>) : null;
  if (!thread) return [];
  const known = rowsOfThread.get(thread);
  if (known) return known;
  const tags = storedTags(thread.tags);
  // What a comment's row takes from its thread: a change to it changes every row of the thread.
  const context = JSON.stringify([thread.id, thread.status, tags, thread.quote.exact]);
  const rows: SearchRow[] = [];
  for (const c of thread.comments) {
    if (c.deleted) continue;
    const reused = rowOfComment.get(c);
    if (reused?.context === context) {
      rows.push(reused.row);
      continue;
    }
    const made = row({
      key: `c:${c.id}`,
      kind: 'comment',
      thread_id: thread.id,
      comment_id: c.id,
      author_id: c.authorId,
      author_name: c.authorName,
      status: thread.status,
      tags,
      created_at: c.createdAt,
      body: c.body,
      quote: thread.quote.exact,
    });
    rowOfComment.set(c, { context, row: made });
    rows.push(made);
  }
  rowsOfThread.set(thread, rows);
  return rows;
}
