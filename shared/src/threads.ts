/**
 * Threads: typed mutators (one Yjs transaction each, with an ORIGIN) and readers returning plain snapshots.
 * Layout (docs/SCHEMA.md): threads: Y.Map threadId -> Y.Map { id, anchor, quote, createdBy, createdAt, status,
 * resolvedBy, resolvedAt, tags: Y.Array<string>, comments: Y.Array<Y.Map comment> }.
 */
import * as Y from 'yjs';
import { anchorFromOffsets, anchorFromQuote, type QuoteQuery } from './anchor.js';
import { ModelError } from './errors.js';
import { isUuid, newId } from './ids.js';
import { ORIGIN } from './origins.js';
import { threadsMap, type AnchorPositions, type TextQuote, type Thread, type ThreadStatus } from './schema.js';
import { commentMap, isWritableAnchor, isWritableQuote, readThreadHead, writeThreadMap } from './rules.js';
import { readComment, readThreadMap } from './thread-read.js';

/** Where a new thread goes: article offsets, a verbatim quote, or an anchor made elsewhere (e.g. by a client). */
export type ThreadTarget =
  | { start: number; end: number }
  | ({ exact: string } & Omit<QuoteQuery, 'exact'>)
  | { anchor: AnchorPositions; quote: TextQuote };

export interface NewThread {
  id?: string;
  createdBy: string;
  authorName: string;
  body: string;
  tags?: readonly string[];
  now?: number;
  /** Id of the first comment; random by default. */
  commentId?: string;
  /** User ids the first comment mentions. */
  mentions?: readonly string[];
}

export interface NewComment {
  authorId: string;
  authorName: string;
  body: string;
  id?: string;
  now?: number;
  /** User ids the comment mentions. */
  mentions?: readonly string[];
}

function requireId(id: string | undefined): string {
  if (id === undefined) return newId();
  if (!isUuid(id)) throw new ModelError('invalid', 'ids must be UUIDs');
  return id;
}

function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ModelError('invalid', `${what} must be a non-empty string`);
  return value;
}

function cleanMentions(mentions: readonly unknown[] | undefined): string[] {
  const out: string[] = [];
  for (const m of mentions ?? []) {
    if (typeof m !== 'string' || m.trim() === '') throw new ModelError('invalid', 'mentions must be user ids');
    if (!out.includes(m)) out.push(m);
  }
  return out;
}

function cleanTags(tags: readonly unknown[] | undefined): string[] {
  const out: string[] = [];
  for (const t of tags ?? []) {
    if (typeof t !== 'string' || t.trim() === '') throw new ModelError('invalid', 'tags must be non-empty strings');
    const tag = t.trim();
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
}

function targetAnchor(doc: Y.Doc, target: ThreadTarget): { anchor: AnchorPositions; quote: TextQuote } {
  if ('anchor' in target) {
    if (!isWritableAnchor(target.anchor) || !isWritableQuote(target.quote))
      throw new ModelError('invalid', 'anchor and quote are malformed');
    return { anchor: { start: target.anchor.start, end: target.anchor.end }, quote: { ...target.quote } };
  }
  if ('exact' in target) return anchorFromQuote(doc, target);
  return anchorFromOffsets(doc, target.start, target.end);
}

/**
 * A readable thread stored under its own id. The mutators never fill in an entry readers skip (junk stored before
 * new threads had to arrive whole): to them, and so to REST, there is no such thread.
 */
function threadOf(doc: Y.Doc, threadId: string): Y.Map<unknown> {
  const thread = threadsMap(doc).get(threadId);
  if (!(thread instanceof Y.Map) || readThreadHead(thread)?.id !== threadId)
    throw new ModelError('not-found', `no thread ${threadId}`);
  return thread;
}

function commentsOf(thread: Y.Map<unknown>): Y.Array<Y.Map<unknown>> {
  const comments = thread.get('comments');
  if (!(comments instanceof Y.Array)) throw new ModelError('invalid', 'the thread has no comment list');
  return comments as Y.Array<Y.Map<unknown>>;
}

function commentOf(doc: Y.Doc, threadId: string, commentId: string): Y.Map<unknown> {
  for (const c of commentsOf(threadOf(doc, threadId))) {
    if (c instanceof Y.Map && c.get('id') === commentId) return c;
  }
  throw new ModelError('not-found', `no comment ${commentId} in thread ${threadId}`);
}

/** Opens a thread on a passage with its first comment. Throws AnchorError for a target that cannot be anchored. */
export function createThread(doc: Y.Doc, input: ThreadTarget & NewThread): { threadId: string; commentId: string } {
  const threadId = requireId(input.id);
  const commentId = requireId(input.commentId);
  const createdBy = requireText(input.createdBy, 'createdBy');
  const authorName = typeof input.authorName === 'string' ? input.authorName : '';
  const body = requireText(input.body, 'the comment body');
  const tags = cleanTags(input.tags);
  const mentions = cleanMentions(input.mentions);
  const now = input.now ?? Date.now();
  if (threadsMap(doc).has(threadId)) throw new ModelError('conflict', `thread ${threadId} exists`);
  const { anchor, quote } = targetAnchor(doc, input);
  doc.transact(() => {
    const thread = new Y.Map<unknown>();
    threadsMap(doc).set(threadId, thread);
    writeThreadMap(thread, {
      id: threadId,
      anchor,
      quote,
      createdBy,
      createdAt: now,
      tags,
      comments: [{ id: commentId, authorId: createdBy, authorName, body, createdAt: now, mentions }],
    });
  }, ORIGIN.createThread);
  return { threadId, commentId };
}

/** Removes a thread and all its comments. */
export function deleteThread(doc: Y.Doc, threadId: string): void {
  // junk too (owners may delete anything)
  if (!threadsMap(doc).has(threadId)) throw new ModelError('not-found', `no thread ${threadId}`);
  doc.transact(() => threadsMap(doc).delete(threadId), ORIGIN.deleteThread);
}

/** Appends a reply to a thread. */
export function addComment(doc: Y.Doc, threadId: string, input: NewComment): string {
  const comments = commentsOf(threadOf(doc, threadId));
  const id = requireId(input.id);
  const authorId = requireText(input.authorId, 'authorId');
  const body = requireText(input.body, 'the comment body');
  const authorName = typeof input.authorName === 'string' ? input.authorName : '';
  const mentions = cleanMentions(input.mentions);
  doc.transact(() => {
    comments.push([commentMap({ id, authorId, authorName, body, createdAt: input.now ?? Date.now(), mentions })]);
  }, ORIGIN.addComment);
  return id;
}

/** Replaces a comment's body, and with it the users it mentions (none unless given). */
export function editComment(
  doc: Y.Doc,
  threadId: string,
  commentId: string,
  body: string,
  now?: number,
  mentions?: readonly string[],
): void {
  const comment = commentOf(doc, threadId, commentId);
  const text = requireText(body, 'the comment body');
  const ids = cleanMentions(mentions);
  if (comment.get('deleted') === true) throw new ModelError('invalid', 'a deleted comment cannot be edited');
  doc.transact(() => {
    comment.set('body', text);
    comment.set('mentions', ids);
    comment.set('editedAt', now ?? Date.now());
  }, ORIGIN.editComment);
}

/** Soft delete: the body is emptied and `deleted` set; the comment stays so the thread still reads. */
export function deleteComment(doc: Y.Doc, threadId: string, commentId: string, now?: number): void {
  const comment = commentOf(doc, threadId, commentId);
  if (comment.get('deleted') === true) return;
  doc.transact(() => {
    comment.set('body', '');
    comment.set('deleted', true);
    comment.set('editedAt', now ?? Date.now());
  }, ORIGIN.deleteComment);
}

export function setThreadStatus(
  doc: Y.Doc,
  threadId: string,
  status: ThreadStatus,
  userId: string,
  now?: number,
): void {
  const thread = threadOf(doc, threadId);
  if (status !== 'open' && status !== 'resolved') throw new ModelError('invalid', `unknown status ${String(status)}`);
  requireText(userId, 'userId');
  doc.transact(() => {
    thread.set('status', status);
    thread.set('resolvedBy', status === 'resolved' ? userId : null);
    thread.set('resolvedAt', status === 'resolved' ? (now ?? Date.now()) : null);
  }, ORIGIN.setThreadStatus);
}

/**
 * Re-attaches a thread to another passage (an orphan, or a passage that moved or changed): new positions and a new
 * quote, in one transaction. Editors, owners and the thread's creator may (the rule table's `anchor` and `quote`);
 * the server refuses it from anyone else. Throws AnchorError for a target that cannot be anchored.
 */
export function reattachThread(doc: Y.Doc, threadId: string, target: ThreadTarget): void {
  const thread = threadOf(doc, threadId);
  const { anchor, quote } = targetAnchor(doc, target);
  doc.transact(() => {
    thread.set('anchor', anchor);
    thread.set('quote', quote);
  }, ORIGIN.reattachThread);
}

/**
 * Sets a thread's tags by removing those not wanted and appending those missing, so concurrent tag changes by
 * others are kept. Two users adding one tag at once leave it twice in the Y.Array; readers de-duplicate.
 */
export function setThreadTags(doc: Y.Doc, threadId: string, tags: readonly string[]): void {
  const thread = threadOf(doc, threadId);
  const wanted = cleanTags(tags);
  doc.transact(() => {
    let list = thread.get('tags');
    if (!(list instanceof Y.Array)) {
      list = new Y.Array<string>();
      thread.set('tags', list);
    }
    replaceTags(list as Y.Array<unknown>, wanted);
  }, ORIGIN.setThreadTags);
}

/** Makes `list` hold `wanted` (in place, minimal changes); call inside a transaction. */
export function replaceTags(list: Y.Array<unknown>, wanted: readonly string[]): void {
  const seen = new Set<string>();
  for (let i = list.length - 1; i >= 0; i--) {
    const tag = list.get(i);
    if (typeof tag !== 'string' || !wanted.includes(tag)) list.delete(i, 1);
  }
  for (const tag of list.toArray()) seen.add(tag as string);
  const missing = wanted.filter((t) => !seen.has(t));
  if (missing.length > 0) list.push(missing);
}

/**
 * The keys of `threads` whose entry holds something every reader skips: no readable thread stored under its own
 * id, or a readable thread with elements of `comments` that are no readable comment. What purgeInvalid removes.
 */
export function invalidThreadKeys(doc: Y.Doc): string[] {
  const keys: string[] = [];
  threadsMap(doc).forEach((value, key) => {
    const junk = junkOf(value, key);
    if (junk.thread || junk.comments.length > 0) keys.push(key);
  });
  return keys;
}

/** What is junk in one entry of `threads`: the whole entry, or these indexes of its comments. */
function junkOf(value: unknown, key: string): { thread: boolean; comments: number[] } {
  const thread = value instanceof Y.Map ? readThreadMap(value) : null;
  if (!thread || thread.id !== key) return { thread: true, comments: [] };
  const comments: number[] = [];
  const list = (value as Y.Map<unknown>).get('comments');
  if (list instanceof Y.Array)
    list.forEach((c, i) => {
      if (!(c instanceof Y.Map) || !readComment(c as Y.Map<unknown>)) comments.push(i);
    });
  return { thread: false, comments };
}

/**
 * Removes what every reader skips: entries of `threads` that are no readable thread stored under its own id, and
 * elements of a thread's `comments` that are no readable comment — junk that clients could store before the server
 * required new threads and comments to arrive whole. `only`: look at these keys only (found by invalidThreadKeys,
 * e.g. on a copy of the document; what is no longer junk here stays). One transaction; returns what it removed.
 */
export function purgeInvalid(doc: Y.Doc, only?: Iterable<string>): { threads: string[]; comments: number } {
  const threads: string[] = [];
  const comments: Array<[Y.Array<unknown>, number]> = [];
  const map = threadsMap(doc);
  const look = (value: unknown, key: string) => {
    const junk = junkOf(value, key);
    if (junk.thread) return void threads.push(key);
    const list = (value as Y.Map<unknown>).get('comments') as Y.Array<unknown>;
    for (const i of junk.comments) comments.push([list, i]);
  };
  if (only) {
    for (const key of only) if (map.has(key)) look(map.get(key), key);
  } else map.forEach(look);
  if (threads.length > 0 || comments.length > 0)
    doc.transact(() => {
      for (const key of threads) map.delete(key);
      // last first, so the indexes still to delete stay valid
      for (const [list, i] of comments.reverse()) list.delete(i, 1);
    }, ORIGIN.purgeInvalid);
  return { threads, comments: comments.length };
}

/** A snapshot of one thread, or null if there is none (or it is malformed). */
export function readThread(doc: Y.Doc, threadId: string): Thread | null {
  const thread = threadsMap(doc).get(threadId);
  return thread instanceof Y.Map ? readThreadMap(thread) : null;
}

/**
 * Calls `onChange` with the ids of the threads a transaction changed (created, deleted, or anything inside them),
 * once per transaction. Returns the function that stops observing.
 */
export function observeThreads(
  doc: Y.Doc,
  onChange: (changedThreadIds: Set<string>, origin: unknown) => void,
): () => void {
  const threads = threadsMap(doc);
  const handler = (events: Y.YEvent<Y.AbstractType<unknown>>[], transaction: Y.Transaction): void => {
    const ids = new Set<string>();
    for (const event of events) {
      if (event.target === threads) {
        for (const key of event.changes.keys.keys()) ids.add(key);
      } else {
        const first = event.path[0];
        if (typeof first === 'string') ids.add(first);
      }
    }
    if (ids.size > 0) onChange(ids, transaction.origin);
  };
  threads.observeDeep(handler);
  return () => threads.unobserveDeep(handler);
}
