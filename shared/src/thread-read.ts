/**
 * Reading threads: plain snapshots from the Y.Maps. Entries written by a buggy or hostile client (the policy
 * layer should stop those) are skipped rather than crashing every reader.
 */
import * as Y from 'yjs';
import { articleIndex, decodeRelative, type ArticleIndex } from './article.js';
import { resolveAnchor, type AnchorState } from './anchor.js';
import { threadsMap, type Comment, type Thread } from './schema.js';

const str = (v: unknown): v is string => typeof v === 'string';
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function readComment(map: Y.Map<unknown>): Comment | null {
  const id = map.get('id');
  const authorId = map.get('authorId');
  const createdAt = map.get('createdAt');
  if (!str(id) || !str(authorId) || !num(createdAt)) return null;
  const authorName = map.get('authorName');
  const body = map.get('body');
  const editedAt = map.get('editedAt');
  const deleted = map.get('deleted') === true;
  return {
    id,
    authorId,
    authorName: str(authorName) ? authorName : '',
    body: deleted ? '' : str(body) ? body : '',
    createdAt,
    editedAt: num(editedAt) ? editedAt : null,
    deleted,
  };
}

export function readThreadMap(map: Y.Map<unknown>): Thread | null {
  const id = map.get('id');
  const anchor = map.get('anchor') as Thread['anchor'] | undefined;
  const quote = map.get('quote') as Thread['quote'] | undefined;
  const createdBy = map.get('createdBy');
  const createdAt = map.get('createdAt');
  if (!str(id) || !str(createdBy) || !num(createdAt)) return null;
  if (typeof anchor !== 'object' || anchor === null || !str(anchor.start) || !str(anchor.end)) return null;
  if (typeof quote !== 'object' || quote === null || !str(quote.exact)) return null;
  const tagList = map.get('tags');
  const commentList = map.get('comments');
  const tags: string[] = [];
  if (tagList instanceof Y.Array) for (const t of tagList.toArray()) if (str(t) && !tags.includes(t)) tags.push(t);
  const comments: Comment[] = [];
  if (commentList instanceof Y.Array) {
    for (const c of commentList.toArray()) {
      const comment = c instanceof Y.Map ? readComment(c as Y.Map<unknown>) : null;
      if (comment) comments.push(comment);
    }
  }
  const resolvedBy = map.get('resolvedBy');
  const resolvedAt = map.get('resolvedAt');
  return {
    id,
    anchor: { start: anchor.start, end: anchor.end },
    quote: {
      exact: quote.exact,
      prefix: str(quote.prefix) ? quote.prefix : '',
      suffix: str(quote.suffix) ? quote.suffix : '',
    },
    createdBy,
    createdAt,
    status: map.get('status') === 'resolved' ? 'resolved' : 'open',
    resolvedBy: str(resolvedBy) ? resolvedBy : null,
    resolvedAt: num(resolvedAt) ? resolvedAt : null,
    tags,
    comments,
  };
}

/** Compares without subtracting, so infinities (positions gone) sort last instead of giving NaN. */
function cmp<T extends number | string>(a: T, b: T): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function allThreads(doc: Y.Doc): Thread[] {
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
  const at = new Map<string, number>();
  const threads = allThreads(doc);
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
  const resolved = allThreads(doc).map((t): ResolvedThread => {
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
