/**
 * readThreadCached reads what readThreadMap reads, and liveCommentCount counts what a fresh count does, after any sequence of changes, made locally or received from
 * another replica: seeded schedules of the mutators' operations and of raw writes a hostile client could make
 * (malformed fields, comments replaced, threads replaced under their key). Replay: MARGINALIA_PROPERTY_SEED.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as Y from 'yjs';
import {
  ModelError,
  addComment,
  commentMap,
  createThread,
  deleteComment,
  editComment,
  liveCommentCount,
  readThreadCached,
  readThreadMap,
  setThreadStatus,
  threadsMap,
} from '@marginalia/shared';
import { articleDoc } from '../support/lexical.js';

const SEED = Number(process.env.MARGINALIA_PROPERTY_SEED ?? 20261207);
const ARTICLE = 'The fall of the Taliban regime in 2001 marked a turning point.\n\nPakistan lobbied for recognition.';

type Op =
  | { kind: 'thread' }
  | { kind: 'reply'; thread: number }
  | { kind: 'edit'; thread: number; comment: number }
  | { kind: 'delete'; thread: number; comment: number }
  | { kind: 'status'; thread: number; resolved: boolean }
  | { kind: 'junk-field'; thread: number; comment: number }
  | { kind: 'junk-thread-field'; thread: number }
  | { kind: 'replace-comments'; thread: number }
  | { kind: 'replace-thread'; thread: number }
  | { kind: 'tag'; thread: number }
  | { kind: 'raw-insert'; thread: number; at: number }
  | { kind: 'remove-comment'; thread: number; comment: number }
  | { kind: 'read' };

const index = fc.nat({ max: 20 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'thread' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('reply' as const), thread: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('edit' as const), thread: index, comment: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), thread: index, comment: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('status' as const), thread: index, resolved: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('junk-field' as const), thread: index, comment: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('junk-thread-field' as const), thread: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace-comments' as const), thread: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace-thread' as const), thread: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tag' as const), thread: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw-insert' as const), thread: index, at: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove-comment' as const), thread: index, comment: index }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'read' as const }) },
);

function pick<T>(list: T[], i: number): T | undefined {
  return list.length ? list[i % list.length] : undefined;
}

const commentMaps = (thread: Y.Map<unknown>): Y.Map<unknown>[] => {
  const list = thread.get('comments');
  return list instanceof Y.Array ? list.toArray().filter((c): c is Y.Map<unknown> => c instanceof Y.Map) : [];
};

let ids = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;

function apply(doc: Y.Doc, o: Op): void {
  const threads = threadsMap(doc);
  const keys = [...threads.keys()].sort();
  const key = 'thread' in o ? pick(keys, o.thread) : undefined;
  const map = key !== undefined ? threads.get(key) : undefined;
  const thread = map instanceof Y.Map ? (map as Y.Map<unknown>) : null;
  const comment = thread && 'comment' in o ? pick(commentMaps(thread), o.comment) : undefined;
  const commentId = typeof comment?.get('id') === 'string' ? (comment.get('id') as string) : null;
  switch (o.kind) {
    case 'thread':
      createThread(doc, { start: 4, end: 8, createdBy: 'u1', authorName: 'Ada', body: 'Source?', id: uuid() });
      return;
    case 'reply':
      if (key && thread?.get('comments') instanceof Y.Array)
        addComment(doc, key, { authorId: 'u2', authorName: 'Bo', body: `reply ${ids}`, id: uuid() });
      return;
    case 'edit':
      if (key && commentId && comment?.get('deleted') !== true) editComment(doc, key, commentId, `edited ${ids++}`);
      return;
    case 'delete':
      if (key && commentId) deleteComment(doc, key, commentId);
      return;
    case 'status':
      if (key && thread) setThreadStatus(doc, key, o.resolved ? 'resolved' : 'open', 'u2');
      return;
    case 'junk-field':
      if (comment) comment.set(ids++ % 2 ? 'body' : 'id', 42);
      return;
    case 'junk-thread-field':
      if (thread) thread.set(ids++ % 2 ? 'quote' : 'createdBy', null);
      return;
    case 'replace-comments':
      if (thread) thread.set('comments', Y.Array.from([new Y.Map<unknown>()]));
      return;
    case 'replace-thread':
      if (key && thread) threads.set(key, new Y.Map<unknown>([['id', key]]));
      return;
    case 'tag': {
      const tags = thread?.get('tags');
      if (tags instanceof Y.Array) tags.push([`tag${ids++}`]);
      return;
    }
    case 'raw-insert': {
      // Several entries at once, anywhere in the list: a well-formed comment, two more live comment maps, one
      // already marked deleted, and junk.
      const list = thread?.get('comments');
      if (list instanceof Y.Array)
        list.insert(o.at % (list.length + 1), [
          commentMap({ id: uuid(), authorId: 'u3', authorName: 'Cy', body: `inserted ${ids}`, createdAt: 1 }),
          new Y.Map<unknown>([
            ['id', uuid()],
            ['deleted', false],
          ]),
          new Y.Map<unknown>([['id', uuid()]]),
          new Y.Map<unknown>([
            ['id', uuid()],
            ['deleted', true],
          ]),
          'junk',
        ]);
      return;
    }
    case 'remove-comment': {
      const list = thread?.get('comments');
      if (list instanceof Y.Array && list.length > 0) list.delete(o.comment % list.length, 1);
      return;
    }
    case 'read':
      return;
  }
}

/** Applies `o`; the mutators refuse to change a thread a junk write made unreadable (ModelError), as they should. */
function applyOrRefused(doc: Y.Doc, o: Op): void {
  try {
    apply(doc, o);
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
  }
}

/** Every thread of `doc` read through the cache and afresh. */
function compareAll(doc: Y.Doc): void {
  threadsMap(doc).forEach((value) => {
    if (!(value instanceof Y.Map)) return;
    const map = value as Y.Map<unknown>;
    expect(readThreadCached(doc, map)).toEqual(readThreadMap(map));
    const list = map.get('comments');
    const live = list instanceof Y.Array ? list.toArray().filter((c) => c instanceof Y.Map && !c.get('deleted')) : [];
    expect(liveCommentCount(doc, map)).toBe(live.length);
  });
}

describe('readThreadCached', () => {
  it('reads what readThreadMap reads, and counts live comments, after every change, local or received (seeded schedules)', async () => {
    console.log(`thread cache: seed ${SEED} (replay with MARGINALIA_PROPERTY_SEED=${SEED})`);
    const base = await articleDoc(ARTICLE);
    const baseState = Y.encodeStateAsUpdate(base);
    base.destroy();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const writer = new Y.Doc();
        const reader = new Y.Doc();
        Y.applyUpdate(writer, baseState);
        Y.applyUpdate(reader, baseState);
        writer.on('update', (update: Uint8Array) => Y.applyUpdate(reader, update));
        try {
          for (const o of ops) {
            applyOrRefused(writer, o);
            compareAll(writer);
            compareAll(reader);
          }
        } finally {
          writer.destroy();
          reader.destroy();
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('reuses the records of what did not change, and reads a changed comment again', async () => {
    const doc = await articleDoc(ARTICLE);
    const { threadId, commentId } = createThread(doc, {
      start: 4,
      end: 8,
      createdBy: 'u1',
      authorName: 'Ada',
      body: 'Source?',
    });
    const other = createThread(doc, { start: 9, end: 12, createdBy: 'u1', authorName: 'Ada', body: 'Why?' });
    const map = threadsMap(doc).get(threadId) as Y.Map<unknown>;
    const otherMap = threadsMap(doc).get(other.threadId) as Y.Map<unknown>;
    const first = readThreadCached(doc, map)!;
    const otherFirst = readThreadCached(doc, otherMap)!;
    expect(readThreadCached(doc, map)).toBe(first);

    addComment(doc, threadId, { authorId: 'u2', authorName: 'Bo', body: 'Here.' });
    const second = readThreadCached(doc, map)!;
    expect(second).not.toBe(first);
    expect(second.comments[0]).toBe(first.comments[0]); // the unchanged comment's record is reused
    expect(second.comments[1]!.body).toBe('Here.');
    expect(readThreadCached(doc, otherMap)).toBe(otherFirst); // another thread's change leaves this one alone

    editComment(doc, threadId, commentId, 'Source, please?');
    const third = readThreadCached(doc, map)!;
    expect(third.comments[0]!.body).toBe('Source, please?');
    expect(third.comments[1]).toBe(second.comments[1]);
    doc.destroy();
  });
});
