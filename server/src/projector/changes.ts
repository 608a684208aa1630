/**
 * What a projected batch did to a document's threads, in domain terms: threads created, comments created, edited
 * and deleted, threads resolved and reopened, each with the user who did it. Notifications and webhooks are built
 * on it.
 *
 * It never rebuilds the document as it was before the batch (compaction may have folded that state into a
 * snapshot beyond the projector's cursor). Instead it decodes the batch's own updates, which name the structs they
 * wrote (client id and clock ranges), and compares them with the document as it is now: a thread or comment map
 * whose item was written in the batch was created by it; a field whose current value (the map key's current item)
 * was written in the batch was set by it. Whatever the batch wrote that a later change has replaced again is not
 * reported: the later batch reports that one.
 *
 * Actors: a new thread's creator and a new comment's author are in the map itself (the rule table holds them to the
 * writer's own id), and so is the user who resolved a thread. For edits, deletions and reopenings the actor is the
 * owner of the client id that wrote the value (the entry's authors; a REST change is written under a client id
 * claimed for its caller). A change the server made on nobody's behalf (an import, the CLI) is owned by the server's
 * writer, and then the comment's author (edits, deletions) or nobody (reopenings) is named instead.
 */
import * as Y from 'yjs';
import { THREADS } from '@marginalia/shared';
import type { ProjectedBatch } from './projector.js';

export type ChangeKind =
  'thread.created' | 'comment.created' | 'comment.edited' | 'comment.deleted' | 'thread.resolved' | 'thread.reopened';

export interface DocumentChange {
  kind: ChangeKind;
  threadId: string;
  /** The comment concerned; for `thread.created` its first comment; null for status changes. */
  commentId: string | null;
  /** The user who made the change, or null when it cannot be known (a reopening over REST). */
  actor: string | null;
  /** The log entry that wrote it. */
  seq: number;
}

/** The owner recorded for client ids the server writes under (collab/live-document.ts's SERVER_WRITER). */
const SERVER_WRITER = 'marginalia:server';

/** The structs a batch wrote: per client id, clock ranges with the entry that wrote each. */
export class BatchStructs {
  private readonly ranges = new Map<number, { from: number; to: number; entry: number }[]>();
  /** The first id of each item the batch wrote. */
  private readonly items: Y.ID[] = [];

  constructor(readonly batch: ProjectedBatch) {
    batch.entries.forEach((entry, index) => {
      for (const struct of Y.decodeUpdate(entry.update).structs) {
        // Only items hold content: GC and Skip structs write nothing a reader sees.
        if (!(struct instanceof Y.Item)) continue;
        const list = this.ranges.get(struct.id.client) ?? [];
        list.push({ from: struct.id.clock, to: struct.id.clock + struct.length, entry: index });
        this.ranges.set(struct.id.client, list);
        this.items.push(struct.id);
      }
    });
  }

  /**
   * The keys of `threads` (the document's threads map, in `doc`) under which the batch wrote something `doc`
   * still holds, each with the comment maps it wrote in or created: every change `changesOf` reports is an item
   * written in the batch inside one of these threads (or the thread's own item), so the others need no look, and
   * within a thread only these comments. Costs the batch's size, not the document's.
   */
  threadsTouched(doc: Y.Doc, threads: Y.Map<unknown>): Map<string, Set<unknown>> {
    const touched = new Map<string, Set<unknown>>();
    for (const id of this.items) {
      if (Y.getState(doc.store, id.client) <= id.clock) continue;
      // The item holding that clock now (items split and merge only with the same parent).
      let item: Y.Item | null;
      try {
        const struct = Y.getItem(doc.store, id) as unknown;
        item = struct instanceof Y.Item ? struct : null; // garbage-collected: nothing left to report
      } catch {
        item = null;
      }
      // The types from the item up (its own content first, when it is one): a comment is a map in a list in a thread.
      const chain: Y.AbstractType<unknown>[] = [];
      if (item?.content instanceof Y.ContentType) chain.push(item.content.type);
      while (item) {
        const parent = item.parent;
        if (!(parent instanceof Y.AbstractType)) break;
        if (parent === threads) {
          if (item.parentSub === null) break;
          const comments = touched.get(item.parentSub) ?? new Set();
          touched.set(item.parentSub, comments);
          const [comment, list] = [chain.at(-3), chain.at(-2)];
          if (comment instanceof Y.Map && list instanceof Y.Array) comments.add(comment);
          break;
        }
        chain.push(parent);
        item = parent._item;
      }
    }
    return touched;
  }

  /** The index of the entry that wrote the struct with this id, or -1 when the batch did not write it. */
  entryOf(id: Y.ID): number {
    for (const r of this.ranges.get(id.client) ?? []) if (id.clock >= r.from && id.clock < r.to) return r.entry;
    return -1;
  }

  has(id: Y.ID | null | undefined): boolean {
    return id != null && this.entryOf(id) >= 0;
  }

  /** Whether `doc` holds everything the batch wrote (a loaded copy may lag behind what is stored). */
  coveredBy(doc: Y.Doc): boolean {
    for (const [client, list] of this.ranges) if (list.some((r) => Y.getState(doc.store, client) < r.to)) return false;
    return true;
  }

  /** The one user (not the server) who wrote the struct, if the entry that wrote it names exactly one. */
  writerOf(id: Y.ID): string | null {
    const entry = this.batch.entries[this.entryOf(id)];
    const people = entry?.authors.filter((a) => a !== SERVER_WRITER) ?? [];
    return people.length === 1 ? people[0]! : null;
  }

  seqOf(id: Y.ID): number {
    return this.batch.entries[this.entryOf(id)]?.seq ?? this.batch.entries.at(-1)?.seq ?? 0;
  }
}

/** The current item of a map key: the last value written under it. */
const keyItem = (map: Y.Map<unknown>, key: string): Y.Item | undefined => map._map.get(key);
const itemOf = (type: Y.Map<unknown>): Y.Item | null => type._item;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The first comment map in a thread's list (its entries may include junk a hostile client wrote). */
function firstMap(list: Y.Array<unknown>): Y.Map<unknown> | null {
  for (let item = list._start; item; item = item.right) {
    if (item.deleted || !item.countable) continue;
    for (const value of item.content.getContent()) if (value instanceof Y.Map) return value as Y.Map<unknown>;
  }
  return null;
}

/**
 * What the batch did to the document's threads, in log order (within one entry, in the order it wrote them).
 * `doc` is the document now, holding at least everything the batch wrote (see BatchStructs.coveredBy).
 */
export function changesOf(batch: ProjectedBatch | BatchStructs, doc: Y.Doc): DocumentChange[] {
  const structs = batch instanceof BatchStructs ? batch : new BatchStructs(batch);
  const changes: DocumentChange[] = [];
  const add = (kind: ChangeKind, threadId: string, commentId: string | null, actor: string | null, at: Y.ID) =>
    changes.push({ kind, threadId, commentId, actor, seq: structs.seqOf(at) });

  const threads = doc.getMap<unknown>(THREADS);
  // Only the threads and comments the batch wrote in: a busy thread's other comments are not looked at.
  for (const [threadId, touchedComments] of structs.threadsTouched(doc, threads)) {
    const thread = threads.get(threadId);
    if (!(thread instanceof Y.Map)) continue;
    const threadItem = itemOf(thread);
    const comments = thread.get('comments');
    const threadIsNew = threadItem !== null && structs.has(threadItem.id);
    // A new thread's first comment is the thread's creation.
    const first = threadIsNew && comments instanceof Y.Array ? firstMap(comments) : null;

    if (threadIsNew)
      add('thread.created', threadId, str(first?.get('id')), str(thread.get('createdBy')), threadItem.id);
    for (const value of touchedComments) {
      const comment = value as Y.Map<unknown>;
      const commentId = str(comment.get('id'));
      const item = itemOf(comment);
      // Still in this thread's list (not removed from it, the list not replaced).
      if (!commentId || !item || item.deleted || item.parent !== comments) continue;
      const author = str(comment.get('authorId'));
      const deleted = comment.get('deleted') === true;
      const isNew = structs.has(item.id);
      if (isNew && comment !== first) add('comment.created', threadId, commentId, author, item.id);
      // A comment is created undeleted, so a flag that is true now and was written in the batch was set by it.
      const deletedItem = keyItem(comment, 'deleted');
      if (deleted && deletedItem && structs.has(deletedItem.id)) {
        add('comment.deleted', threadId, commentId, structs.writerOf(deletedItem.id) ?? author, deletedItem.id);
        continue;
      }
      const bodyItem = keyItem(comment, 'body');
      if (!isNew && !deleted && bodyItem && structs.has(bodyItem.id))
        add('comment.edited', threadId, commentId, structs.writerOf(bodyItem.id) ?? author, bodyItem.id);
    }

    const statusItem = keyItem(thread, 'status');
    if (statusItem && structs.has(statusItem.id)) {
      const resolved = thread.get('status') === 'resolved';
      // A thread is created open: a new thread's status set in the batch is news only once it is resolved.
      if (resolved) {
        const by = str(thread.get('resolvedBy')) ?? structs.writerOf(statusItem.id);
        add('thread.resolved', threadId, null, by, statusItem.id);
      } else if (!threadIsNew) {
        add('thread.reopened', threadId, null, structs.writerOf(statusItem.id), statusItem.id);
      }
    }
  }
  return changes.sort((a, b) => a.seq - b.seq);
}

/**
 * The document as it is now, holding at least what the batch wrote: the loaded copy when it has everything the batch
 * wrote, else the document as stored.
 */
export async function documentNow(
  structs: BatchStructs,
  loaded: Y.Doc | null,
  stored: () => Promise<Y.Doc>,
): Promise<Y.Doc> {
  return loaded && structs.coveredBy(loaded) ? loaded : stored();
}
