import { describe, expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import { readThreads, readThread } from '@marginalia/shared';
import { startServer, createDocument, createUser, api, type TestServer } from '../support/server.js';
import { connectClient, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = [
  'The committee met on Tuesday. The committee agreed to publish the report.',
  'Funding for the second phase remains uncertain, according to the minutes.',
].join('\n\n');

describe('threads over REST', () => {
  let server: TestServer;
  let docId: string;
  let carl: { token: string; id: string };
  let vera: { token: string; id: string };
  let watcher: TestClient;
  const extra: TestClient[] = [];

  beforeAll(async () => {
    server = await startServer();
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    carl = await createUser(server, 'carl', 'Carl Commenter');
    vera = await createUser(server, 'vera', 'Vera Viewer');
    await api(server.url, server.adminToken).put(`/documents/${docId}/members/carl`, { role: 'commenter' });
    await api(server.url, server.adminToken).put(`/documents/${docId}/members/vera`, { role: 'viewer' });
    watcher = connectClient(server.wsUrl, docId, server.adminToken);
    await watcher.synced();
  });
  afterEach(() => {
    for (const c of extra.splice(0)) c.destroy();
  });
  afterAll(async () => {
    watcher.destroy();
    await server.dispose();
  });

  test('a thread created by offsets is anchored exactly and a connected client sees it at once', async () => {
    const carlApi = api(server.url, carl.token);
    const text = (await carlApi.get(`/documents/${docId}/text`)).text;
    const start = text.indexOf('second phase');
    const r = await carlApi.post(`/documents/${docId}/threads`, {
      start,
      end: start + 'second phase'.length,
      body: 'Which phase is this?',
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ id: expect.any(String), commentId: expect.any(String), mentions: [] });

    const seen = await waitFor(() => readThread(watcher.doc, r.body.id));
    expect(seen.quote.exact).toBe('second phase');
    expect(seen.createdBy).toBe(carl.id);
    expect(seen.comments[0]).toMatchObject({
      authorId: carl.id,
      authorName: 'Carl Commenter',
      body: 'Which phase is this?',
    });

    const list = (await carlApi.get(`/documents/${docId}/threads`)).body as any[];
    const listed = list.find((t) => t.id === r.body.id);
    expect(listed).toMatchObject({
      anchorState: 'exact',
      start,
      end: start + 12,
      status: 'open',
      quote: { exact: 'second phase' },
    });
    expect(text.slice(listed.start, listed.end)).toBe('second phase');
  });

  test('a thread created by a unique quote lands on it; prefix/suffix single out a repeated one', async () => {
    const carlApi = api(server.url, carl.token);
    const text = (await carlApi.get(`/documents/${docId}/text`)).text;
    const unique = await carlApi.post(`/documents/${docId}/threads`, {
      exact: 'according to the minutes',
      body: 'Source?',
    });
    expect(unique.status).toBe(201);
    const repeated = await carlApi.post(`/documents/${docId}/threads`, {
      exact: 'The committee',
      prefix: 'Tuesday. ',
      body: 'Same committee?',
    });
    expect(repeated.status).toBe(201);
    const threads = (await carlApi.get(`/documents/${docId}/threads`)).body as any[];
    const t = threads.find((x) => x.id === repeated.body.id);
    expect(t.start).toBe(text.lastIndexOf('The committee'));
    expect(threads.find((x) => x.id === unique.body.id).start).toBe(text.indexOf('according to the minutes'));
  });

  test('an ambiguous or missing quote is 422 and creates nothing', async () => {
    const carlApi = api(server.url, carl.token);
    const before = (await carlApi.get(`/documents/${docId}/threads`)).body.length;
    const ambiguous = await carlApi.post(`/documents/${docId}/threads`, { exact: 'The committee', body: 'x' });
    expect(ambiguous.status).toBe(422);
    expect(ambiguous.body.error).toMatch(/several times/);
    const missing = await carlApi.post(`/documents/${docId}/threads`, { exact: 'not in the article', body: 'x' });
    expect(missing.status).toBe(422);
    const outOfRange = await carlApi.post(`/documents/${docId}/threads`, { start: 5, end: 100_000, body: 'x' });
    expect(outOfRange.status).toBe(422);
    const noBody = await carlApi.post(`/documents/${docId}/threads`, { start: 0, end: 3, body: '   ' });
    expect(noBody.status).toBe(400);
    const unknownTag = await carlApi.post(`/documents/${docId}/threads`, {
      start: 0,
      end: 3,
      body: 'x',
      tags: ['nope'],
    });
    expect(unknownTag.status).toBe(422);
    expect((await carlApi.get(`/documents/${docId}/threads`)).body.length).toBe(before);
  });

  test('replies, resolve and reopen reach connected clients; tags come from the vocabulary', async () => {
    const admin = api(server.url, server.adminToken);
    const carlApi = api(server.url, carl.token);
    expect(
      (await admin.put(`/documents/${docId}/vocabulary/question`, { color: '#3366cc', description: 'Needs an answer' }))
        .status,
    ).toBe(200);
    const t = await carlApi.post(`/documents/${docId}/threads`, {
      exact: 'publish the report',
      body: 'When?',
      tags: ['question'],
    });
    expect(t.status).toBe(201);
    const reply = await admin.post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: 'Next month.' });
    expect(reply.status).toBe(201);
    await waitFor(() => readThread(watcher.doc, t.body.id)?.comments.length === 2);
    expect(readThread(watcher.doc, t.body.id)!.tags).toEqual(['question']);

    expect((await carlApi.patch(`/documents/${docId}/threads/${t.body.id}`, { status: 'resolved' })).status).toBe(200);
    await waitFor(() => readThread(watcher.doc, t.body.id)?.status === 'resolved');
    expect(readThread(watcher.doc, t.body.id)!.resolvedBy).toBe(carl.id);
    expect((await carlApi.patch(`/documents/${docId}/threads/${t.body.id}`, { status: 'open' })).status).toBe(200);
    await waitFor(() => readThread(watcher.doc, t.body.id)?.status === 'open');
    expect((await carlApi.patch(`/documents/${docId}/threads/${t.body.id}`, { status: 'closed' })).status).toBe(400);
    expect((await carlApi.patch(`/documents/${docId}/threads/not-a-thread`, { status: 'resolved' })).status).toBe(404);
    expect((await carlApi.post(`/documents/${docId}/threads/not-a-thread/comments`, { body: 'x' })).status).toBe(404);
  });

  test('a thread is re-attached to another passage by its creator or an editor, not by other commenters', async () => {
    const admin = api(server.url, server.adminToken);
    const carlApi = api(server.url, carl.token);
    const cleo = await createUser(server, 'cleo', 'Cleo Commenter');
    await admin.put(`/documents/${docId}/members/cleo`, { role: 'commenter' });
    const cleoApi = api(server.url, cleo.token);
    const t = await carlApi.post(`/documents/${docId}/threads`, { exact: 'met on Tuesday', body: 'Which Tuesday?' });
    expect(t.status).toBe(201);
    const url = `/documents/${docId}/threads/${t.body.id}`;
    const placed = async () => (await carlApi.get(url)).body as { anchorState: string; start: number; end: number };
    const text = (await carlApi.get(`/documents/${docId}/text`)).text;

    // Its creator, by quote.
    const byQuote = await carlApi.patch(url, { passage: { exact: 'second phase' } });
    expect(byQuote.status).toBe(200);
    expect(byQuote.body.quote.exact).toBe('second phase');
    await waitFor(() => readThread(watcher.doc, t.body.id)?.quote.exact === 'second phase');
    expect(await placed()).toMatchObject({ anchorState: 'exact', start: text.indexOf('second phase') });
    // Someone else who only comments may not; nothing changes.
    const refused = await cleoApi.patch(url, { passage: { exact: 'the minutes' } });
    expect(refused.status).toBe(403);
    expect(readThread(watcher.doc, t.body.id)!.quote.exact).toBe('second phase');
    // An editor (here the owner) may, by offsets.
    const start = text.indexOf('publish the report');
    const byOffsets = await admin.patch(url, { passage: { start, end: start + 'publish the report'.length } });
    expect(byOffsets.status).toBe(200);
    expect(await placed()).toMatchObject({ anchorState: 'exact', start, end: start + 18 });
    // A passage that cannot be anchored.
    expect((await carlApi.patch(url, { passage: { exact: 'not in the article' } })).status).toBe(422);
    expect((await carlApi.patch(url, { passage: { start: 5, end: 1e6 } })).status).toBe(422);
    expect((await api(server.url, vera.token).patch(url, { passage: { exact: 'the minutes' } })).status).toBe(403);
  });

  test('authors edit and delete their own comments; others may not (owner may delete)', async () => {
    const admin = api(server.url, server.adminToken);
    const carlApi = api(server.url, carl.token);
    const t = await carlApi.post(`/documents/${docId}/threads`, { exact: 'met on Tuesday', body: 'Original' });
    const base = `/documents/${docId}/threads/${t.body.id}/comments/${t.body.commentId}`;
    expect((await carlApi.patch(base, { body: 'Edited' })).status).toBe(200);
    await waitFor(() => readThread(watcher.doc, t.body.id)?.comments[0]?.body === 'Edited');
    expect(readThread(watcher.doc, t.body.id)!.comments[0]!.editedAt).toEqual(expect.any(Number));

    const reply = await admin.post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: 'Admin reply' });
    expect(
      (await carlApi.patch(`/documents/${docId}/threads/${t.body.id}/comments/${reply.body.id}`, { body: 'hijack' }))
        .status,
    ).toBe(403);
    expect((await carlApi.delete(`/documents/${docId}/threads/${t.body.id}/comments/${reply.body.id}`)).status).toBe(
      403,
    );
    expect((await admin.delete(base)).status).toBe(204);
    await waitFor(() => readThread(watcher.doc, t.body.id)?.comments[0]?.deleted === true);
    expect(readThread(watcher.doc, t.body.id)!.comments[0]!.body).toBe('');
    expect(readThread(watcher.doc, t.body.id)!.comments[1]!.body).toBe('Admin reply');
  });

  test('viewers read threads but may not write them (403)', async () => {
    const veraApi = api(server.url, vera.token);
    expect((await veraApi.get(`/documents/${docId}/threads`)).status).toBe(200);
    expect((await veraApi.post(`/documents/${docId}/threads`, { exact: 'met on Tuesday', body: 'x' })).status).toBe(
      403,
    );
    expect((await api(server.url).get(`/documents/${docId}/threads`)).status).toBe(401);
  });

  test('threads written over REST are stored: a client connecting after a restart has them all', async () => {
    const before = readThreads(watcher.doc).length;
    expect(before).toBeGreaterThan(3);
    await server.restart();
    const fresh = connectClient(server.wsUrl, docId, server.adminToken);
    extra.push(fresh);
    await fresh.synced();
    expect(readThreads(fresh.doc).length).toBe(before);
    expect(fresh.doc.get('root', Y.XmlText).length).toBe(watcher.doc.get('root', Y.XmlText).length);
  });
});
