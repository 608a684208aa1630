/**
 * What the search index holds of one document: its title, each article block, and each live comment with what
 * it is found by besides its body (the quote of its thread, the thread's tags, its author's name) and filtered
 * by (status, author, tags, time). Computed from the document as it is now; a deleted comment has no row.
 */
import * as Y from 'yjs';
import { createHash } from 'node:crypto';
import { articleBlocks, readMeta, threadsMap, readThreadMap } from '@marginalia/shared';
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
  // Blocks are keyed by their content, so a block inserted or removed leaves the others' rows as they are.
  const seen = new Map<string, number>();
  for (const block of articleBlocks(doc)) {
    const text = block.runs.map((r) => r.text).join('');
    if (text.trim() === '') continue;
    const h = digest(text);
    const n = (seen.get(h) ?? 0) + 1;
    seen.set(h, n);
    rows.push(row({ ...EMPTY, key: `a:${h}:${n}`, kind: 'article', body: text }));
  }
  yield;
  // A thread's rows come from its own subtree only: those of threads nothing changed in since the last call are
  // reused (a busy document is projected several times a second; reading every comment each time would cost
  // the whole document per projection).
  const cache = doc._transaction === null ? threadRowsCache(doc) : null;
  if (cache) {
    for (const key of cache.dirty) cache.rows.delete(key);
    cache.dirty.clear();
  }
  const threads = threadsMap(doc);
  for (const key of [...threads.keys()]) {
    const value = threads.get(key);
    if (value === undefined) continue; // deleted during a pause
    let own = cache?.rows.get(key);
    if (!own) {
      own = threadRows(value);
      cache?.rows.set(key, own);
    }
    for (const r of own) rows.push(r);
    yield;
  }
}

/** The search rows of one thread (none for a malformed one). */
function threadRows(value: unknown): SearchRow[] {
  const thread = value instanceof Y.Map ? readThreadMap(value) : null;
  if (!thread) return [];
  const rows: SearchRow[] = [];
  for (const c of thread.comments) {
    if (c.deleted) continue;
    rows.push(
      row({
        key: `c:${c.id}`,
        kind: 'comment',
        thread_id: thread.id,
        comment_id: c.id,
        author_id: c.authorId,
        author_name: c.authorName,
        status: thread.status,
        tags: storedTags(thread.tags),
        created_at: c.createdAt,
        body: c.body,
        quote: thread.quote.exact,
      }),
    );
  }
  return rows;
}

/**
 * Per document: the rows last computed for each thread, and the threads changed since (a deep observer on the
 * threads map marks them; a thread added, replaced or deleted is a change of the map's key).
 */
interface ThreadRowsCache {
  rows: Map<string, SearchRow[]>;
  dirty: Set<string>;
}
const threadCaches = new WeakMap<Y.Doc, ThreadRowsCache>();

function threadRowsCache(doc: Y.Doc): ThreadRowsCache {
  let cache = threadCaches.get(doc);
  if (cache) return cache;
  const made: ThreadRowsCache = { rows: new Map(), dirty: new Set() };
  const threads = threadsMap(doc);
  threads.observeDeep((events) => {
    for (const event of events) {
      if (event.target === threads) for (const key of (event as Y.YMapEvent<unknown>).keysChanged) made.dirty.add(key);
      else if (typeof event.path[0] === 'string') made.dirty.add(event.path[0]);
      else made.rows.clear(); // not expected: forget everything rather than keep a stale row
    }
  });
  threadCaches.set(doc, made);
  cache = made;
  return cache;
}
