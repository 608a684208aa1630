import { afterEach, describe, expect, it } from '@jest/globals';
import * as Y from 'yjs';
import {
  ModelError,
  ORIGIN,
  SCHEMA_VERSION,
  addComment,
  articleText,
  createThread,
  deleteComment,
  deleteThread,
  editComment,
  initMeta,
  isUuid,
  observeThreads,
  readMeta,
  readResolvedThreads,
  readThread,
  readThreads,
  readVocabulary,
  removeTag,
  renameTag,
  setMeta,
  setTag,
  setThreadStatus,
  setThreadTags,
  threadsMap,
} from '@marginalia/shared';
import { articleDoc } from '../support/lexical.js';
import { thrownBy } from '../support/errors.js';

const ARTICLE = 'The fall of the Taliban regime in 2001 marked a turning point.\n\nPakistan lobbied for recognition.';
const author = { createdBy: 'user-1', authorName: 'Ada', body: 'Source?' };

const docs: Y.Doc[] = [];
async function doc(): Promise<Y.Doc> {
  const d = await articleDoc(ARTICLE);
  docs.push(d);
  return d;
}
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy();
});

/** Records the origin of every transaction on the doc. */
function origins(d: Y.Doc): unknown[] {
  const seen: unknown[] = [];
  d.on('afterTransaction', (tr: Y.Transaction) => seen.push(tr.origin));
  return seen;
}

describe('createThread', () => {
  it('creates a thread on article offsets with its first comment, in one transaction', async () => {
    const d = await doc();
    const seen = origins(d);
    const { threadId, commentId } = createThread(d, {
      start: 4,
      end: 8,
      ...author,
      tags: ['claim', 'claim'],
      now: 1000,
    });
    expect(seen).toEqual([ORIGIN.createThread]);
    expect(isUuid(threadId) && isUuid(commentId)).toBe(true);
    const t = readThread(d, threadId)!;
    expect(t).toMatchObject({
      id: threadId,
      quote: { exact: 'fall', prefix: 'The ', suffix: ' of the Taliban regime in 2001 m' },
      createdBy: 'user-1',
      createdAt: 1000,
      status: 'open',
      resolvedBy: null,
      resolvedAt: null,
      tags: ['claim'],
    });
    expect(t.comments).toEqual([
      {
        id: commentId,
        authorId: 'user-1',
        authorName: 'Ada',
        body: 'Source?',
        createdAt: 1000,
        editedAt: null,
        deleted: false,
        mentions: [],
      },
    ]);
  });

  it('lays the thread out as ARCHITECTURE §2 says: Y.Array tags, Y.Array of comment Y.Maps, plain anchor and quote', async () => {
    const d = await doc();
    const { threadId } = createThread(d, { start: 4, end: 8, ...author });
    const map = threadsMap(d).get(threadId)!;
    expect(map.get('tags')).toBeInstanceOf(Y.Array);
    const comments = map.get('comments') as Y.Array<Y.Map<unknown>>;
    expect(comments.get(0)).toBeInstanceOf(Y.Map);
    expect([...comments.get(0).keys()].sort()).toEqual([
      'authorId',
      'authorName',
      'body',
      'createdAt',
      'deleted',
      'editedAt',
      'id',
      'mentions',
    ]);
    expect(Object.keys(map.get('anchor') as object).sort()).toEqual(['end', 'start']);
    expect(Object.keys(map.get('quote') as object).sort()).toEqual(['exact', 'prefix', 'suffix']);
  });

  it('creates a thread from a verbatim quote, and from an anchor made elsewhere', async () => {
    const d = await doc();
    const byQuote = createThread(d, { exact: 'turning point', ...author });
    const made = readThread(d, byQuote.threadId)!;
    const byAnchor = createThread(d, { anchor: made.anchor, quote: made.quote, ...author });
    expect(readThread(d, byAnchor.threadId)!.quote).toEqual(made.quote);
  });

  it.each([
    ['an empty body', { start: 0, end: 3, ...author, body: '  ' }, 'invalid'],
    ['a missing author id', { start: 0, end: 3, ...author, createdBy: '' }, 'invalid'],
    ['an id that is no UUID', { start: 0, end: 3, ...author, id: 'abc' }, 'invalid'],
    ['an empty span', { start: 3, end: 3, ...author }, 'invalid'],
    ['a quote not in the article', { exact: 'absent words', ...author }, 'invalid'],
    ['a blank tag', { start: 0, end: 3, ...author, tags: [' '] }, 'invalid'],
  ])('rejects %s with a ModelError', async (_what, input, code) => {
    const d = await doc();
    const err = thrownBy(() => createThread(d, input as Parameters<typeof createThread>[1]));
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ code });
    expect(threadsMap(d).size).toBe(0);
  });

  it('refuses a thread id that exists (conflict)', async () => {
    const d = await doc();
    const { threadId } = createThread(d, { start: 0, end: 3, ...author });
    expect(thrownBy(() => createThread(d, { id: threadId, start: 0, end: 3, ...author }))).toMatchObject({
      code: 'conflict',
    });
  });
});

describe('comments', () => {
  it('replies, edits and soft-deletes, each in one transaction with its origin', async () => {
    const d = await doc();
    const { threadId } = createThread(d, { start: 4, end: 8, ...author, now: 1 });
    const seen = origins(d);
    const reply = addComment(d, threadId, { authorId: 'user-2', authorName: 'Bo', body: 'Here', now: 2 });
    editComment(d, threadId, reply, 'Here it is', 3);
    deleteComment(d, threadId, reply, 4);
    expect(seen).toEqual([ORIGIN.addComment, ORIGIN.editComment, ORIGIN.deleteComment]);
    const [, c] = readThread(d, threadId)!.comments;
    expect(c).toEqual({
      id: reply,
      authorId: 'user-2',
      authorName: 'Bo',
      body: '',
      createdAt: 2,
      editedAt: 4,
      deleted: true,
      mentions: [],
    });
    expect(readThread(d, threadId)!.comments).toHaveLength(2);
  });

  it('reports not-found for an unknown thread or comment, and refuses to edit a deleted comment', async () => {
    const d = await doc();
    const { threadId, commentId } = createThread(d, { start: 4, end: 8, ...author });
    expect(thrownBy(() => addComment(d, 'nope', { authorId: 'u', authorName: '', body: 'x' }))).toMatchObject({
      code: 'not-found',
    });
    expect(thrownBy(() => editComment(d, threadId, 'nope', 'x'))).toMatchObject({ code: 'not-found' });
    deleteComment(d, threadId, commentId);
    expect(thrownBy(() => editComment(d, threadId, commentId, 'x'))).toMatchObject({ code: 'invalid' });
  });
});

describe('status and tags', () => {
  it('resolves and reopens a thread, recording who and when', async () => {
    const d = await doc();
    const { threadId } = createThread(d, { start: 4, end: 8, ...author });
    setThreadStatus(d, threadId, 'resolved', 'user-2', 50);
    expect(readThread(d, threadId)).toMatchObject({ status: 'resolved', resolvedBy: 'user-2', resolvedAt: 50 });
    setThreadStatus(d, threadId, 'open', 'user-3', 60);
    expect(readThread(d, threadId)).toMatchObject({ status: 'open', resolvedBy: null, resolvedAt: null });
  });

  it('sets tags, keeping tags others add concurrently', async () => {
    const a = await doc();
    const b = new Y.Doc();
    docs.push(b);
    const { threadId } = createThread(a, { start: 4, end: 8, ...author, tags: ['x'] });
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    setThreadTags(a, threadId, ['x', 'y']);
    setThreadTags(b, threadId, ['x', 'z']);
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    expect(readThread(a, threadId)!.tags.sort()).toEqual(['x', 'y', 'z']);
    expect(readThread(b, threadId)!.tags.sort()).toEqual(['x', 'y', 'z']);
  });

  it('deletes a thread', async () => {
    const d = await doc();
    const { threadId } = createThread(d, { start: 4, end: 8, ...author });
    deleteThread(d, threadId);
    expect(readThread(d, threadId)).toBeNull();
    expect(thrownBy(() => deleteThread(d, threadId))).toMatchObject({ code: 'not-found' });
  });
});

describe('readers', () => {
  it('lists threads in document order, and with where their anchors resolve now', async () => {
    const d = await doc();
    const later = createThread(d, { exact: 'Pakistan', ...author, now: 1 });
    const earlier = createThread(d, { exact: 'Taliban', ...author, now: 2 });
    expect(readThreads(d).map((t) => t.id)).toEqual([earlier.threadId, later.threadId]);
    const resolved = readResolvedThreads(d);
    const text = articleText(d);
    expect(resolved.map((t) => [t.anchorState, text.slice(t.start!, t.end!)])).toEqual([
      ['exact', 'Taliban'],
      ['exact', 'Pakistan'],
    ]);
  });

  it('skips malformed thread entries instead of failing', async () => {
    const d = await doc();
    threadsMap(d).set('junk', new Y.Map([['id', 42]]) as Y.Map<unknown>);
    createThread(d, { start: 0, end: 3, ...author });
    expect(readThreads(d)).toHaveLength(1);
  });
});

describe('observeThreads', () => {
  it('tells which threads a transaction changed, until unsubscribed', async () => {
    const d = await doc();
    const calls: string[][] = [];
    const stop = observeThreads(d, (ids) => calls.push([...ids]));
    const one = createThread(d, { start: 0, end: 3, ...author });
    const two = createThread(d, { start: 4, end: 8, ...author });
    addComment(d, one.threadId, { authorId: 'u2', authorName: 'Bo', body: 'reply' });
    setThreadTags(d, two.threadId, ['t']);
    d.transact(() => {
      setThreadStatus(d, one.threadId, 'resolved', 'u2');
      setThreadStatus(d, two.threadId, 'resolved', 'u2');
    });
    stop();
    deleteThread(d, one.threadId);
    expect(calls).toEqual([
      [one.threadId],
      [two.threadId],
      [one.threadId],
      [two.threadId],
      [one.threadId, two.threadId],
    ]);
  });
});

describe('meta', () => {
  it('initialises with the schema version, reads back, and patches', async () => {
    const d = await doc();
    expect(readMeta(d)).toBeNull();
    initMeta(d, { title: 'Kandahar', source: 'https://example.org', createdAt: 5 });
    expect(readMeta(d)).toEqual({
      title: 'Kandahar',
      source: 'https://example.org',
      createdAt: 5,
      schemaVersion: SCHEMA_VERSION,
    });
    setMeta(d, { title: 'Kandahar and Islamabad', source: '', author: 'Ada' });
    expect(readMeta(d)).toEqual({
      title: 'Kandahar and Islamabad',
      author: 'Ada',
      createdAt: 5,
      schemaVersion: SCHEMA_VERSION,
    });
    expect(thrownBy(() => initMeta(d, { title: '', createdAt: 1 }))).toMatchObject({ code: 'invalid' });
  });
});

describe('vocabulary', () => {
  it('adds, recolours, renames (also on threads) and removes tags (also from threads)', async () => {
    const d = await doc();
    setTag(d, 'claim', { color: '#f00' });
    setTag(d, 'claim', { color: '#0f0', description: 'a claim to check' });
    setTag(d, 'source', { color: '#00f' });
    const { threadId } = createThread(d, { start: 0, end: 3, ...author, tags: ['claim', 'source'] });
    renameTag(d, 'claim', 'assertion');
    expect(readVocabulary(d)).toEqual({
      assertion: { color: '#0f0', description: 'a claim to check' },
      source: { color: '#00f' },
    });
    expect(readThread(d, threadId)!.tags.sort()).toEqual(['assertion', 'source']);
    expect(thrownBy(() => renameTag(d, 'assertion', 'source'))).toMatchObject({ code: 'conflict' });
    expect(thrownBy(() => renameTag(d, 'nope', 'x'))).toMatchObject({ code: 'not-found' });
    removeTag(d, 'source');
    expect(Object.keys(readVocabulary(d))).toEqual(['assertion']);
    expect(readThread(d, threadId)!.tags).toEqual(['assertion']);
    expect(thrownBy(() => setTag(d, 'x', { color: '' }))).toMatchObject({ code: 'invalid' });
  });
});
