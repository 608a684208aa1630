/**
 * Reading the threads of a document that keeps changing, at the cost of what changed: the projector reads a busy
 * document several times a second (search rows, notifications), and reading every comment of every touched thread
 * each time costs the whole thread per new reply. Records read before are kept per Y.Map and dropped by a deep
 * observer on the threads map when anything under them changes, so a thread with one new reply is read as its own
 * fields plus that one comment.
 *
 * The records are the same as readThreadMap's and readComment's, shared between callers: do not change them.
 */
import * as Y from 'yjs';
import { readComment, readThreadHead, type Comment, type Thread } from './rules.js';
import { threadsMap } from './schema.js';

interface Cache {
  /** Thread map -> its record (null: malformed). */
  threads: WeakMap<Y.Map<unknown>, Thread | null>;
  /** Thread map -> its own fields (a new reply leaves them as they are). */
  heads: WeakMap<Y.Map<unknown>, Omit<Thread, 'comments'> | null>;
  /** Comment map -> its record (null: malformed). */
  comments: WeakMap<Y.Map<unknown>, Comment | null>;
  /** Thread map -> how many of its comment maps are not marked deleted (documentCounts' count). */
  liveComments: WeakMap<Y.Map<unknown>, number>;
  /**
   * Thread map -> where the last read of its comments list ended, kept while nothing but insertions into that list
   * happened since: a thread with a new reply at its end is read as that reply, not as its whole list again.
   */
  tails: WeakMap<Y.Map<unknown>, Tail>;
}

interface Tail {
  list: Y.Array<unknown>;
  /** The comments read, in list order. */
  comments: Comment[];
  /** The list's last item when it was read (a live comment map: such an item is never merged with another). */
  last: Y.Item;
  /** The list's length then. */
  length: number;
}

const caches = new WeakMap<Y.Doc, Cache>();

function cacheOf(doc: Y.Doc): Cache {
  const cache = caches.get(doc);
  if (cache) return cache;
  const made: Cache = {
    threads: new WeakMap(),
    heads: new WeakMap(),
    comments: new WeakMap(),
    liveComments: new WeakMap(),
    tails: new WeakMap(),
  };
  const threads = threadsMap(doc);
  threads.observeDeep((events, transaction) => {
    let touched: ListChanges | null = null;
    for (const event of events) {
      // The changed type and every type above it, up to the thread (the type just below the threads map).
      const path: Y.AbstractType<unknown>[] = [];
      for (let type: Y.AbstractType<unknown> | null = event.target; type && type !== threads;) {
        path.push(type);
        const parent: unknown = type._item?.parent;
        type = parent instanceof Y.AbstractType ? parent : null;
      }
      const thread = path.at(-1);
      if (!(thread instanceof Y.Map)) continue; // the threads map itself: new keys hold new maps
      // The thread's record lists its comments: any change under it reads it again.
      made.threads.delete(thread);
      // The live count follows comments inserted into the list (a new reply: the usual change), and is counted
      // again after anything else under the thread (a comment marked deleted, an entry removed, a list replaced).
      // So does the tail of the list's last read.
      const count = made.liveComments.get(thread);
      const list = path[0]!;
      let onlyInserted = false;
      if (path.length === 2 && list === thread.get('comments') && (count !== undefined || made.tails.has(thread))) {
        touched ??= listChanges(transaction);
        onlyInserted = !touched.removedFrom.has(list);
      }
      if (!onlyInserted) {
        made.liveComments.delete(thread);
        made.tails.delete(thread);
      } else if (count !== undefined) made.liveComments.set(thread, count + (touched!.liveAdded.get(list) ?? 0));
      // Its own fields, unless the change is inside its comments.
      if (path.length === 1 || path.at(-2) !== thread.get('comments')) made.heads.delete(thread);
      for (const type of path) if (type instanceof Y.Map) made.comments.delete(type);
    }
  });
  caches.set(doc, made);
  return made;
}

interface ListChanges {
  /** Per list: how many live comment maps (not marked deleted) the transaction inserted into it. */
  liveAdded: Map<Y.AbstractType<unknown>, number>;
  /** The lists the transaction removed an entry from. */
  removedFrom: Set<Y.AbstractType<unknown>>;
}

/**
 * What a transaction inserted into and removed from lists, from the structs it created (its state vectors) and its
 * delete set: as many steps as the transaction made, where a Yjs event's own `changes` walks the whole list.
 */
function listChanges(transaction: Y.Transaction): ListChanges {
  const liveAdded = new Map<Y.AbstractType<unknown>, number>();
  const removedFrom = new Set<Y.AbstractType<unknown>>();
  const store = transaction.doc.store;
  transaction.afterState.forEach((after, client) => {
    const before = transaction.beforeState.get(client) ?? 0;
    if (after <= before) return;
    const structs = store.clients.get(client) ?? [];
    for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
      const item = structs[i];
      if (!(item instanceof Y.Item) || item.deleted || item.parentSub !== null) continue;
      const c: unknown = item.content instanceof Y.ContentType ? item.content.type : null;
      if (c instanceof Y.Map && !c.get('deleted') && item.parent instanceof Y.AbstractType)
        liveAdded.set(item.parent, (liveAdded.get(item.parent) ?? 0) + 1);
    }
  });
  Y.iterateDeletedStructs(transaction, transaction.deleteSet, (struct) => {
    if (struct instanceof Y.Item && struct.parentSub === null && struct.parent instanceof Y.AbstractType)
      removedFrom.add(struct.parent);
  });
  return { liveAdded, removedFrom };
}

/**
 * The thread stored in `map` (a value of the document's threads map), as readThreadMap reads it, reusing what was
 * read before and has not changed since. While `doc` is inside a transaction (its observers have not run yet)
 * nothing is reused or kept.
 */
export function readThreadCached(doc: Y.Doc, map: Y.Map<unknown>): Thread | null {
  if (doc._transaction !== null) return readFresh(map, null);
  const cache = cacheOf(doc);
  const known = cache.threads.get(map);
  if (known !== undefined) return known;
  const thread = readFresh(map, cache);
  cache.threads.set(map, thread);
  return thread;
}

function readFresh(map: Y.Map<unknown>, cache: Cache | null): Thread | null {
  let head = cache?.heads.get(map);
  if (head === undefined) {
    head = readThreadHead(map);
    cache?.heads.set(map, head);
  }
  if (!head) return null;
  const list = map.get('comments');
  if (!(list instanceof Y.Array)) return { ...head, comments: [] };
  const tail = cache?.tails.get(map);
  const known = tail?.list === list && !tail.last.deleted ? tail : null;
  // The items after the last read's end, or all of them.
  const comments = known ? [...known.comments] : [];
  let last: Y.Item | null = known ? known.last : null;
  let counted = known ? known.length : 0;
  for (let item = known ? known.last.right : list._start; item; item = item.right) {
    last = item;
    if (item.deleted || !item.countable) continue;
    counted += item.length;
    for (const value of item.content.getContent()) {
      if (!(value instanceof Y.Map)) continue;
      const commentMap = value as Y.Map<unknown>;
      let comment = cache?.comments.get(commentMap);
      if (comment === undefined) {
        comment = readComment(commentMap);
        cache?.comments.set(commentMap, comment);
      }
      if (comment) comments.push(comment);
    }
  }
  // Entries inserted before the last read's end (concurrent inserts can land anywhere): read the whole list.
  if (known && counted !== list.length) {
    cache!.tails.delete(map);
    return readFresh(map, cache);
  }
  if (cache) {
    if (last && !last.deleted && last.content instanceof Y.ContentType)
      cache.tails.set(map, { list, comments, last, length: list.length });
    else cache.tails.delete(map);
  }
  return { ...head, comments };
}

/**
 * How many comment maps of the thread in `map` are not marked deleted (malformed ones count: this is the count
 * the library shows, documentCounts), reusing the count of a thread nothing changed in since.
 */
export function liveCommentCount(doc: Y.Doc, map: Y.Map<unknown>): number {
  const cache = doc._transaction === null ? cacheOf(doc) : null;
  const known = cache?.liveComments.get(map);
  if (known !== undefined) return known;
  const list = map.get('comments');
  let count = 0;
  if (list instanceof Y.Array) for (const c of list) if (c instanceof Y.Map && !c.get('deleted')) count++;
  cache?.liveComments.set(map, count);
  return count;
}

/**
 * How many leading entries two lists share, by identity: a thread's record read through the cache after new replies
 * shares its comments with the record before (so do values derived per comment and kept in step with them), and a
 * reader of the new record can take over what it derived from the old one up to there.
 */
export function sharedPrefix<T>(before: readonly T[], now: readonly T[]): number {
  let n = 0;
  while (n < before.length && n < now.length && before[n] === now[n]) n++;
  return n;
}
