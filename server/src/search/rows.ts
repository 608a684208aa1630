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
  sharedPrefix,
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

/**
 * A document's rows in groups: `title`, `article`, and `thread:<key>` for each thread (its key in the threads map).
 * A group is the same array as at the last computation while nothing in it changed (a thread's record is read
 * through readThreadCached), and within a changed thread its unchanged comments' rows are the same objects: writing
 * the rows (writeSearchRowGroups) skips what is unchanged by identity, so a projection step costs what changed.
 */
export type SearchRowGroups = Map<string, readonly SearchRow[]>;

export function documentSearchRows(doc: Y.Doc): SearchRow[] {
  const groups: SearchRowGroups = new Map();
  for (const _ of rowSteps(doc, groups));
  return flattenRows(groups);
}

/**
 * The groups' rows as one list, each key once: a malformed document may repeat a comment id (in another thread, or
 * twice in one), and the index holds one row per key, the first in document order.
 */
export function flattenRows(groups: SearchRowGroups): SearchRow[] {
  const keys = new Set<string>();
  const rows: SearchRow[] = [];
  for (const list of groups.values()) {
    for (const row of list) {
      if (keys.has(row.key)) continue;
      keys.add(row.key);
      rows.push(row);
    }
  }
  return rows;
}

/**
 * The document's rows in groups, computed in slices of at most `sliceMs` with the event loop let through between
 * them: a busy document's rows cost tens of milliseconds, and live delivery must not wait for them. The document may
 * change between slices: the rows then hold at least its state when the call began (a thread changed meanwhile is
 * marked and computed again next time).
 */
export async function documentSearchRowGroupsInSlices(doc: Y.Doc, sliceMs = 5): Promise<SearchRowGroups> {
  const groups: SearchRowGroups = new Map();
  let sliceStart = performance.now();
  for (const _ of rowSteps(doc, groups)) {
    if (performance.now() - sliceStart < sliceMs) continue;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  }
  return groups;
}

/** Sets the document's groups in `groups`, pausing (yield) after the article and after each thread. */
function* rowSteps(doc: Y.Doc, groups: SearchRowGroups): Generator<void> {
  groups.set('title', titleRows(doc));
  groups.set('article', articleRows(doc));
  yield;
  const threads = threadsMap(doc);
  for (const key of [...threads.keys()]) {
    const value = threads.get(key);
    if (value === undefined) continue; // deleted during a pause
    groups.set(`thread:${key}`, threadRows(doc, value));
    yield;
  }
}

const NO_ROWS: readonly SearchRow[] = Object.freeze([]);

/** The title's row, the same array while the title and creation time are. */
const titleRowsOf = new WeakMap<Y.Doc, { title: string; createdAt: number; rows: readonly SearchRow[] }>();

function titleRows(doc: Y.Doc): readonly SearchRow[] {
  const meta = readMeta(doc);
  if (!meta?.title) return NO_ROWS;
  const known = titleRowsOf.get(doc);
  if (known && known.title === meta.title && known.createdAt === meta.createdAt) return known.rows;
  const rows = [row({ ...EMPTY, key: 't', kind: 'title', body: meta.title, created_at: meta.createdAt })];
  titleRowsOf.set(doc, { title: meta.title, createdAt: meta.createdAt, rows });
  return rows;
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
 * Per thread map, its last record with its rows, and per comment record its last row. A busy document is projected
 * several times a second: with its records read through readThreadCached, an unchanged thread is the same record
 * (its rows are reused whole), a thread with new replies at its end is the last record's comments plus those (its
 * rows are the last rows plus the replies'), and in any other changed thread the unchanged comments are the same
 * records, so only what changed is computed and hashed.
 */
const lastOfThread = new WeakMap<Y.Map<unknown>, { thread: Thread; context: string; rows: SearchRow[] }>();
const rowOfComment = new WeakMap<Comment, { context: string; row: SearchRow }>();

/** The search rows of one thread (none for a malformed one). */
function threadRows(doc: Y.Doc, value: unknown): readonly SearchRow[] {
  const map = value instanceof Y.Map ? (value as Y.Map<unknown>) : null;
  const thread = map ? readThreadCached(doc, map) : null;
  if (!map || !thread) return NO_ROWS;
  const last = lastOfThread.get(map);
  if (last?.thread === thread) return last.rows;
  const tags = storedTags(thread.tags);
  // What a comment's row takes from its thread: a change to it changes every row of the thread.
  const context = JSON.stringify([thread.id, thread.status, tags, thread.quote.exact]);
  const before = last?.context === context ? last.thread.comments : [];
  const kept = sharedPrefix(before, thread.comments);
  const extended = kept > 0 && kept === before.length;
  const rows: SearchRow[] = extended ? [...last!.rows] : [];
  for (const c of extended ? thread.comments.slice(kept) : thread.comments) {
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
  lastOfThread.set(map, { thread, context, rows });
  return rows;
}
