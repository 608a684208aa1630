/**
 * Change extraction (server/src/projector/changes.ts): what a projected batch did to the threads, told from the
 * batch's own updates and the document as it is now — never from a rebuilt earlier state.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import * as Y from 'yjs';
import {
  addComment,
  createThread,
  deleteComment,
  deleteThread,
  editComment,
  setThreadStatus,
  setThreadTags,
  setTag,
} from '@marginalia/shared';
import { BatchStructs, changesOf, documentNow } from '@marginalia/server/projector/changes.js';
import type { ProjectedBatch } from '@marginalia/server/projector/projector.js';

const SERVER_WRITER = 'marginalia:server';
const docs: Y.Doc[] = [];
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy();
});

/**
 * A document's history: users write on their own replicas; each write is one stored entry (seq from 2), applied to
 * the server's copy. `batch(from, to)` is the projector's batch of those entries.
 */
function history(article = 'The committee met on Tuesday and agreed to publish the report.') {
  const server = new Y.Doc();
  docs.push(server);
  server.get('root', Y.XmlText).insert(0, article);
  setTag(server, 'question', { color: '#3366cc' });
  const entries: ProjectedBatch['entries'] = [];
  const replicas = new Map<string, Y.Doc>();
  const replica = (user: string) => {
    let d = replicas.get(user);
    if (!d) {
      d = new Y.Doc();
      docs.push(d);
      Y.applyUpdate(d, Y.encodeStateAsUpdate(server));
      replicas.set(user, d);
    }
    // catch up with everything stored so far
    Y.applyUpdate(d, Y.encodeStateAsUpdate(server, Y.encodeStateVector(d)));
    return d;
  };
  return {
    server,
    /** `user` makes a change on their replica; it is stored as the next entry. Returns the change's result. */
    write<T>(user: string, change: (doc: Y.Doc) => T, authors: string[] = [user]): T {
      const d = replica(user);
      const before = Y.encodeStateVector(d);
      const result = change(d);
      const update = Y.encodeStateAsUpdate(d, before);
      Y.applyUpdate(server, update);
      entries.push({ seq: entries.length + 2, update, authors });
      return result;
    },
    /** The entries with these sequence numbers (inclusive), as one batch. */
    batch(from: number, to = from): ProjectedBatch {
      return { docId: 'd1', after: from - 1, entries: entries.filter((e) => e.seq >= from && e.seq <= to) };
    },
    get lastSeq() {
      return entries.length + 1;
    },
  };
}

const open =
  (user: string, body = 'Why?', id?: string) =>
  (d: Y.Doc) =>
    createThread(d, { start: 4, end: 13, createdBy: user, authorName: user, body, id });

describe('changes of a batch', () => {
  test('a new thread is one thread.created by its creator, naming its first comment (no comment.created)', () => {
    const h = history();
    const t = h.write('ann', open('ann'));
    expect(changesOf(h.batch(2), h.server)).toEqual([
      { kind: 'thread.created', threadId: t.threadId, commentId: t.commentId, actor: 'ann', seq: 2 },
    ]);
  });

  test('a reply is comment.created by its author; earlier entries outside the batch are not reported', () => {
    const h = history();
    const t = h.write('ann', open('ann'));
    const reply = h.write('bob', (d) => addComment(d, t.threadId, { authorId: 'bob', authorName: 'Bob', body: 'Yes' }));
    expect(changesOf(h.batch(3), h.server)).toEqual([
      { kind: 'comment.created', threadId: t.threadId, commentId: reply, actor: 'bob', seq: 3 },
    ]);
  });

  test('edits and deletions name the writer: an owner deleting another’s comment is the actor', () => {
    const h = history();
    const t = h.write('ann', open('ann'));
    const reply = h.write('bob', (d) => addComment(d, t.threadId, { authorId: 'bob', authorName: 'Bob', body: 'Yes' }));
    h.write('bob', (d) => editComment(d, t.threadId, reply, 'Yes, and no'));
    h.write('olive', (d) => deleteComment(d, t.threadId, t.commentId));
    expect(changesOf(h.batch(4), h.server)).toEqual([
      { kind: 'comment.edited', threadId: t.threadId, commentId: reply, actor: 'bob', seq: 4 },
    ]);
    expect(changesOf(h.batch(5), h.server)).toEqual([
      { kind: 'comment.deleted', threadId: t.threadId, commentId: t.commentId, actor: 'olive', seq: 5 },
    ]);
    // A deletion empties the body too: it is reported once, as a deletion, not also as an edit.
    expect(changesOf(h.batch(4, 5), h.server).map((c) => c.kind)).toEqual(['comment.edited', 'comment.deleted']);
  });

  test('resolving names resolvedBy; reopening names the writer; neither is reported by a tag change', () => {
    const h = history();
    const t = h.write('ann', open('ann'));
    h.write('bob', (d) => setThreadStatus(d, t.threadId, 'resolved', 'bob'));
    h.write('cleo', (d) => setThreadStatus(d, t.threadId, 'open', 'cleo'));
    h.write('cleo', (d) => setThreadTags(d, t.threadId, ['question']));
    expect(changesOf(h.batch(3), h.server)).toEqual([]); // replaced since: the later batch tells
    expect(changesOf(h.batch(3, 4), h.server)).toEqual([
      { kind: 'thread.reopened', threadId: t.threadId, commentId: null, actor: 'cleo', seq: 4 },
    ]);
    expect(changesOf(h.batch(5), h.server)).toEqual([]);
    const h2 = history();
    const t2 = h2.write('ann', open('ann'));
    h2.write('bob', (d) => setThreadStatus(d, t2.threadId, 'resolved', 'bob'));
    expect(changesOf(h2.batch(3), h2.server)).toEqual([
      { kind: 'thread.resolved', threadId: t2.threadId, commentId: null, actor: 'bob', seq: 3 },
    ]);
  });

  test('a batch of several entries reports each change once, in log order, with its own entry and actor', () => {
    const h = history();
    const t = h.write('ann', open('ann'));
    const r1 = h.write('bob', (d) => addComment(d, t.threadId, { authorId: 'bob', authorName: 'Bob', body: '1' }));
    const u = h.write('cleo', open('cleo', 'Second'));
    h.write('ann', (d) => setThreadStatus(d, t.threadId, 'resolved', 'ann'));
    const r2 = h.write('cleo', (d) => addComment(d, u.threadId, { authorId: 'cleo', authorName: 'C', body: '2' }));
    expect(changesOf(h.batch(2, 6), h.server)).toEqual([
      { kind: 'thread.created', threadId: t.threadId, commentId: t.commentId, actor: 'ann', seq: 2 },
      { kind: 'comment.created', threadId: t.threadId, commentId: r1, actor: 'bob', seq: 3 },
      { kind: 'thread.created', threadId: u.threadId, commentId: u.commentId, actor: 'cleo', seq: 4 },
      { kind: 'thread.resolved', threadId: t.threadId, commentId: null, actor: 'ann', seq: 5 },
      { kind: 'comment.created', threadId: u.threadId, commentId: r2, actor: 'cleo', seq: 6 },
    ]);
  });

  test('created and changed within one batch: created (and deleted, or resolved) — never edited or reopened', () => {
    const h = history();
    const t = h.write('ann', open('ann'));
    const r = h.write('bob', (d) => addComment(d, t.threadId, { authorId: 'bob', authorName: 'Bob', body: 'x' }));
    h.write('bob', (d) => editComment(d, t.threadId, r, 'y'));
    h.write('bob', (d) => deleteComment(d, t.threadId, r));
    h.write('ann', (d) => setThreadStatus(d, t.threadId, 'resolved', 'ann'));
    expect(changesOf(h.batch(2, 6), h.server).map((c) => [c.kind, c.commentId, c.actor])).toEqual([
      ['thread.created', t.commentId, 'ann'],
      ['comment.created', r, 'bob'],
      ['comment.deleted', r, 'bob'],
      ['thread.resolved', null, 'ann'],
    ]);
    const h2 = history();
    const t2 = h2.write('ann', open('ann'));
    h2.write('ann', (d) => setThreadStatus(d, t2.threadId, 'resolved', 'ann'));
    h2.write('ann', (d) => setThreadStatus(d, t2.threadId, 'open', 'ann'));
    expect(changesOf(h2.batch(2, 4), h2.server).map((c) => c.kind)).toEqual(['thread.created']);
  });

  test('a thread deleted since is not reported; other threads of the batch are', () => {
    const h = history();
    const t = h.write('ann', open('ann'));
    const u = h.write('bob', open('bob', 'Other'));
    h.write('olive', (d) => deleteThread(d, t.threadId));
    expect(changesOf(h.batch(2, 3), h.server).map((c) => c.threadId)).toEqual([u.threadId]);
    expect(changesOf(h.batch(4), h.server)).toEqual([]);
  });

  test('a reply removed from its list since, or whose list was replaced, is not reported; a reply beside it is', () => {
    const h = history();
    const t = h.write('ann', open('ann'));
    const gone = h.write('bob', (d) => addComment(d, t.threadId, { authorId: 'bob', authorName: 'Bob', body: 'Gone' }));
    const kept = h.write('cy', (d) => addComment(d, t.threadId, { authorId: 'cy', authorName: 'Cy', body: 'Kept' }));
    // A hostile client removes the entry itself (the model marks comments deleted instead).
    h.write('bob', (d) => {
      const list = (d.getMap('threads').get(t.threadId) as Y.Map<unknown>).get('comments') as Y.Array<Y.Map<unknown>>;
      list.delete(list.toArray().findIndex((c) => c.get('id') === gone));
    });
    expect(changesOf(h.batch(3, 4), h.server).map((c) => [c.kind, c.commentId])).toEqual([['comment.created', kept]]);
    const u = h.write('ann', open('ann', 'Another'));
    h.write('bob', (d) => addComment(d, u.threadId, { authorId: 'bob', authorName: 'Bob', body: 'Mine' }));
    h.write('bob', (d) => (d.getMap('threads').get(u.threadId) as Y.Map<unknown>).set('comments', new Y.Array()));
    expect(changesOf(h.batch(7), h.server)).toEqual([]);
  });

  test('works on a document rebuilt from a compacted snapshot that folds the batch and what came after', () => {
    const h = history();
    const t = h.write('ann', open('ann'));
    const r = h.write('bob', (d) => addComment(d, t.threadId, { authorId: 'bob', authorName: 'Bob', body: 'a' }));
    h.write('bob', (d) => editComment(d, t.threadId, r, 'b'));
    h.write('bob', (d) => editComment(d, t.threadId, r, 'c'));
    // what compaction stores: the whole state, garbage-collected, in one update
    const snapshot = new Y.Doc();
    docs.push(snapshot);
    Y.applyUpdate(snapshot, Y.encodeStateAsUpdate(h.server));
    const folded = new Y.Doc();
    docs.push(folded);
    Y.applyUpdate(folded, Y.encodeStateAsUpdate(snapshot));
    expect(changesOf(h.batch(3), folded).map((c) => c.kind)).toEqual(['comment.created']);
    expect(changesOf(h.batch(4), folded)).toEqual([]);
    expect(changesOf(h.batch(5), folded).map((c) => [c.kind, c.seq])).toEqual([['comment.edited', 5]]);
  });

  test('server-side writes (REST) name the thread creator and comment author, and nobody for a reopening', () => {
    const h = history();
    const t = h.write('ann', open('ann'), [SERVER_WRITER]);
    const r = h.write('bob', (d) => addComment(d, t.threadId, { authorId: 'bob', authorName: 'B', body: 'x' }), [
      SERVER_WRITER,
    ]);
    h.write('bob', (d) => editComment(d, t.threadId, r, 'y'), [SERVER_WRITER]);
    h.write('bob', (d) => setThreadStatus(d, t.threadId, 'resolved', 'bob'), [SERVER_WRITER]);
    expect(changesOf(h.batch(2, 3), h.server).map((c) => [c.kind, c.actor])).toEqual([
      ['thread.created', 'ann'],
      ['comment.created', 'bob'],
    ]);
    expect(changesOf(h.batch(4, 5), h.server).map((c) => [c.kind, c.actor])).toEqual([
      ['comment.edited', 'bob'],
      ['thread.resolved', 'bob'],
    ]);
    h.write('bob', (d) => setThreadStatus(d, t.threadId, 'open', 'bob'), [SERVER_WRITER]);
    expect(changesOf(h.batch(6), h.server)).toEqual([
      { kind: 'thread.reopened', threadId: t.threadId, commentId: null, actor: null, seq: 6 },
    ]);
  });

  test('article edits and entries that only delete report nothing', () => {
    const h = history();
    h.write('eddy', (d) => d.get('root', Y.XmlText).insert(0, 'Breaking: '));
    h.write('eddy', (d) => d.get('root', Y.XmlText).delete(0, 3), []);
    expect(changesOf(h.batch(2, 3), h.server)).toEqual([]);
  });

  test('a loaded copy that lacks part of the batch is not used: the stored document is', async () => {
    const h = history();
    const lagging = new Y.Doc();
    docs.push(lagging);
    Y.applyUpdate(lagging, Y.encodeStateAsUpdate(h.server));
    const t = h.write('ann', open('ann'));
    const structs = new BatchStructs(h.batch(2));
    expect(structs.coveredBy(lagging)).toBe(false);
    expect(structs.coveredBy(h.server)).toBe(true);
    let loads = 0;
    const stored = async () => {
      loads++;
      const d = new Y.Doc();
      docs.push(d);
      Y.applyUpdate(d, Y.encodeStateAsUpdate(h.server));
      return d;
    };
    const fromStore = await documentNow(structs, lagging, stored);
    expect(changesOf(structs, fromStore).map((c) => c.threadId)).toEqual([t.threadId]);
    expect(await documentNow(structs, h.server, stored)).toBe(h.server);
    expect(loads).toBe(1);
  });
});

describe('documents built from storage for the projector', () => {
  test('are kept, brought up to date with later entries, and rebuilt after a compaction', async () => {
    const { openSqliteStorage } = await import('@marginalia/server/storage/sqlite.js');
    const { StoredDocuments } = await import('@marginalia/server/projector/stored-documents.js');
    const { documentRecord } = await import('../support/records.js');
    const storage = await openSqliteStorage(':memory:');
    const stored = new StoredDocuments(storage.log, 60_000);
    const writer = new Y.Doc();
    docs.push(writer);
    try {
      await storage.createDocument({
        record: documentRecord('d1'),
        initialUpdate: Y.encodeStateAsUpdate(writer),
        members: [],
      });
      const write = async (text: string) => {
        const before = Y.encodeStateVector(writer);
        writer.getText('t').insert(writer.getText('t').length, text);
        await storage.log.appendUpdates('d1', [Y.encodeStateAsUpdate(writer, before)]);
      };
      await write('a');
      const first = await stored.get('d1');
      expect(first.getText('t').toString()).toBe('a');
      await write('b');
      const again = await stored.get('d1');
      expect(again).toBe(first); // kept, and caught up
      expect(again.getText('t').toString()).toBe('ab');
      await write('c');
      await storage.log.compact('d1');
      await write('d');
      const rebuilt = await stored.get('d1');
      expect(rebuilt.getText('t').toString()).toBe('abcd');
    } finally {
      stored.close();
      await storage.close();
    }
  });
});
