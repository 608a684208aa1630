/**
 * Reading threads: plain snapshots from the Y.Maps, field by field as the rule table (rules.ts) reads them.
 * Entries written by a buggy or hostile client (the policy layer should stop those) are skipped rather than
 * crashing every reader.
 */
import * as Y from 'yjs';
import { articleIndex, decodeRelative, type ArticleIndex } from './article.js';
import { resolveAnchor, type AnchorState } from './anchor.js';
import { readComment, readThreadMap } from './rules.js';
import { threadsMap, type Thread } from './schema.js';

export { readComment, readThreadMap };

/** Compares without subtracting, so infinities (positions gone) sort last instead of giving NaN. */
function cmp<T extends number | string>(a: T, b: T): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Every readable thread of the document, in the threads map's order, unresolved (plain records, JSON-safe). */
export function readThreadRecords(doc: Y.Doc): Thread[] {
  const out: Thread[] = [];
  threadsMap(doc).forEach((value) => {
    const thread = value instanceof Y.Map ? readThreadMap(value) : null;
    if (thread) out.push(thread);
  });
  return out;
}

/**
 * All threads, in document order of their stored start position; threads whose position is gone come last,
 * oldest first. (For order by where they resolve to now, use readResolvedThreads.)
 */
export function readThreads(doc: Y.Doc, index: ArticleIndex = articleIndex(doc)): Thread[] {
  return sortThreads(readThreadRecords(doc), index);
}

/**
 * Thread records (as readThreadRecords reads them, possibly kept elsewhere) in readThreads' order, with `index`
 * the article they belong to. Sorts a copy.
 */
export function sortThreads(records: readonly Thread[], index: ArticleIndex): Thread[] {
  const at = new Map<string, number>();
  const threads = [...records];
  for (const t of threads) {
    let offset: number | null = null;
    try {
      offset = index.fromRelative(decodeRelative(t.anchor.start));
    } catch (err) {
      if (!(err instanceof Error)) throw err; // a malformed stored anchor sorts last
    }
    at.set(t.id, offset ?? Number.POSITIVE_INFINITY);
  }
  return threads.sort((a, b) => cmp(at.get(a.id)!, at.get(b.id)!) || a.createdAt - b.createdAt || cmp(a.id, b.id));
}

export type ResolvedThread = Thread & { anchorState: AnchorState; start: number | null; end: number | null };

/** All threads with where their anchors resolve now (one article index for all), in document order; orphans last. */
export function readResolvedThreads(doc: Y.Doc, index: ArticleIndex = articleIndex(doc)): ResolvedThread[] {
  return resolveThreads(readThreadRecords(doc), index);
}

/**
 * Thread records (as readThreadRecords reads them, possibly kept elsewhere: a version's read copy) resolved in the
 * article `index` reads, in readResolvedThreads' order.
 */
export function resolveThreads(records: readonly Thread[], index: ArticleIndex): ResolvedThread[] {
  const resolved = records.map((t): ResolvedThread => {
    const r = resolveAnchor(index, t);
    return { ...t, anchorState: r.state, start: r.start, end: r.end };
  });
  return resolved.sort(
    (a, b) =>
      cmp(a.start ?? Number.POSITIVE_INFINITY, b.start ?? Number.POSITIVE_INFINITY) ||
      cmp(a.end ?? 0, b.end ?? 0) ||
      a.createdAt - b.createdAt ||
      cmp(a.id, b.id),
  );
}
