/**
 * Junk cannot enter through REST either (issue 23): thread and comment creation refuse an empty body, a missing
 * field, an extra field and oversized values with 400; an entry stored incomplete before the fix cannot be filled
 * in (404 to every thread route); annotation imports reject such threads and comments in their report (an empty
 * entry, a wrong or oversized id, a missing field, an id taken by junk) and write nothing else than the rule
 * table's fields. Each refused request leaves the document as it was: every entry of `threads`, junk included, as
 * a fresh client receives it.
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals';
import * as Y from 'yjs';
import { COMMENT_FIELDS, THREAD_FIELDS, threadsMap } from '@marginalia/shared';
import { startServer, createDocument, addMember, api, type TestServer, type Member } from '../support/server.js';
import { rawClient } from '../support/raw-client.js';
import { canonical } from '../support/clients.js';
import { writeToStoredLog } from '../support/stored-log.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';

describe('junk cannot enter through REST', () => {
  let server: TestServer;
  let docId: string;
  let carl: Member; // commenter
  let existing: string; // a thread by carl
  const junk = crypto.randomUUID(); // an empty map stored before the fix

  /** Every entry of `threads` and the vocabulary, as a fresh client receives them. */
  async function stateOf(): Promise<string> {
    const c = rawClient(server.wsUrl, docId, server.adminToken);
    await c.synced;
    const state = canonical({
      threads: threadsMap(c.doc).toJSON(),
      vocabulary: c.doc.getMap('vocabulary').toJSON(),
    });
    await c.close();
    return state;
  }

  /** Sends the request as carl and as the owner; each is refused with `status` and changes nothing. */
  async function refused(
    send: (as: ReturnType<typeof api>) => Promise<{ status: number; body: { error?: string } }>,
    status: number,
    error: RegExp,
  ): Promise<void> {
    for (const token of [carl.token, server.adminToken]) {
      const before = await stateOf();
      const res = await send(api(server.url, token));
      expect({ status: res.status, error: res.body?.error }).toEqual({ status, error: expect.stringMatching(error) });
      expect(await stateOf()).toBe(before);
    }
  }

  beforeAll(async () => {
    server = await startServer({ env: { MARGINALIA_SAMPLE: '0' } });
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    carl = await addMember(server, docId, 'carl', 'Carl', 'commenter');
    expect(
      (await api(server.url, server.adminToken).put(`/documents/${docId}/vocabulary/question`, { color: '#3366cc' }))
        .status,
    ).toBe(200);
    const t = await api(server.url, carl.token).post(`/documents/${docId}/threads`, { exact: 'minister', body: 'x' });
    expect(t.status).toBe(201);
    existing = t.body.id;
    await writeToStoredLog(server, docId, (doc) => threadsMap(doc).set(junk, new Y.Map()));
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('creating a thread: an empty body, a missing field, an extra field, oversized values: 400', async () => {
    const post = (body: unknown) => (as: ReturnType<typeof api>) => as.post(`/documents/${docId}/threads`, body);
    await refused(post({}), 400, /^invalid request body/);
    await refused(post({ exact: 'minister' }), 400, /^invalid request body/);
    await refused(post({ body: 'no passage' }), 400, /^invalid request body/);
    await refused(post({ exact: '', body: 'empty quote' }), 400, /^invalid request body/);
    for (const extra of ['id', 'createdBy', 'createdAt', 'comments', 'colour'])
      await refused(
        post({ exact: 'minister', body: 'extra', [extra]: 'x' }),
        400,
        new RegExp(`Unrecognized key: "${extra}"`),
      );
    await refused(post({ exact: 'minister', body: 'x'.repeat(20_001) }), 400, /at most 20000 characters/);
    await refused(post({ exact: 'k'.repeat(20_001), body: 'long quote' }), 400, /^invalid request body/);
    await refused(post({ exact: 'minister', body: 'long tag', tags: ['t'.repeat(61)] }), 400, /^invalid request body/);
  });

  test('replying: an empty body, a missing field, an extra field, an oversized body: 400', async () => {
    const reply = (body: unknown) => (as: ReturnType<typeof api>) =>
      as.post(`/documents/${docId}/threads/${existing}/comments`, body);
    await refused(reply({}), 400, /^invalid request body/);
    await refused(reply({ body: '   ' }), 400, /the comment is empty/);
    await refused(reply({ body: 'forged', authorId: 'u-other' }), 400, /Unrecognized key: "authorId"/);
    await refused(reply({ body: 'with id', id: crypto.randomUUID() }), 400, /Unrecognized key: "id"/);
    await refused(reply({ body: 'x'.repeat(20_001) }), 400, /at most 20000 characters/);
  });

  test('an entry stored incomplete before the fix cannot be filled in: every thread route answers 404', async () => {
    expect(await stateOf()).toContain(junk);
    const thread = `/documents/${docId}/threads/${junk}`;
    await refused((as) => as.post(`${thread}/comments`, { body: 'late fill' }), 404, /no thread/);
    await refused((as) => as.patch(thread, { status: 'resolved' }), 404, /no thread/);
    await refused((as) => as.patch(thread, { tags: ['question'] }), 404, /no thread/);
    await refused((as) => as.patch(thread, { passage: { exact: 'minister' } }), 404, /no thread/);
  });

  test('an import rejects empty, wrongly keyed, oversized and incomplete threads, and writes nothing', async () => {
    const comment = (over: Record<string, unknown> = {}) => ({
      id: crypto.randomUUID(),
      authorId: 'someone',
      authorName: 'Someone',
      body: 'imported',
      createdAt: 1,
      ...over,
    });
    const thread = (over: Record<string, unknown> = {}) => ({
      id: crypto.randomUUID(),
      quote: { exact: 'minister', prefix: 'The ', suffix: ' announced' },
      status: 'open',
      tags: [],
      comments: [comment()],
      ...over,
    });
    const cases: [unknown, RegExp][] = [
      [{}, /UUID id/], // an empty entry
      [thread({ id: 'x' }), /UUID id/], // a wrong key
      [thread({ id: 'k'.repeat(200_000) }), /UUID id/], // an oversized key
      [thread({ quote: null }), /neither a quote nor a passage/], // a missing field
      [thread({ comments: [] }), /no comment/],
      [thread({ comments: [comment({ authorId: '' })] }), /no comment/], // a comment missing a field
      [thread({ comments: [comment({ body: 'x'.repeat(20_001) })] }), /more than 20000 characters/],
      [thread({ quote: { exact: 'q'.repeat(20_001) } }), /quote of more than 20000 characters/],
      [thread({ id: junk }), /taken by an entry that is no readable thread/], // a late fill
    ];
    for (const [entry, reason] of cases) {
      const before = await stateOf();
      const res = await api(server.url, server.adminToken).post(`/documents/${docId}/import?format=json`, {
        format: 'marginalia-dump',
        version: 1,
        threads: [entry],
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ imported: 0, comments: 0 });
      expect(res.body.rejected.map((r: { reason: string }) => r.reason)).toEqual(
        expect.arrayContaining([expect.stringMatching(reason)]),
      );
      expect(await stateOf()).toBe(before);
    }
  });

  test('an imported thread holds the rule table fields and nothing else, within the limits', async () => {
    const id = crypto.randomUUID();
    const res = await api(server.url, server.adminToken).post(`/documents/${docId}/import?format=json`, {
      format: 'marginalia-dump',
      version: 1,
      threads: [
        {
          id,
          // not in the article: kept as an orphan, with its own quote, whose context is cut to its limit
          quote: { exact: 'a passage not in the article', prefix: 'p'.repeat(5_000), suffix: '' },
          status: 'open',
          tags: ['question', 't'.repeat(65)],
          createdBy: 'u-forged', // the import's own field names it does not read
          colour: 'red',
          comments: [
            {
              id: crypto.randomUUID(),
              authorId: 'someone',
              authorName: 'Someone',
              body: 'hello',
              createdAt: 1,
              extra: 'x',
            },
          ],
        },
      ],
    });
    expect(res.body).toMatchObject({ imported: 1, rejected: [], droppedTags: ['t'.repeat(65)] });
    const c = rawClient(server.wsUrl, docId, server.adminToken);
    try {
      await c.synced;
      const map = threadsMap(c.doc).get(id)!;
      expect([...map.keys()].sort()).toEqual(Object.keys(THREAD_FIELDS).sort());
      expect(map.get('createdBy')).toBe('import:someone');
      expect(map.get('quote')).toEqual({
        exact: 'a passage not in the article',
        prefix: 'p'.repeat(1_000),
        suffix: '',
      });
      expect((map.get('tags') as Y.Array<string>).toArray()).toEqual(['question']);
      const first = (map.get('comments') as Y.Array<Y.Map<unknown>>).get(0);
      expect([...first.keys()].sort()).toEqual(Object.keys(COMMENT_FIELDS).sort());
    } finally {
      await c.close();
    }
  });
});
