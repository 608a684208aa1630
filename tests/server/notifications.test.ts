/**
 * Notifications (docs/API.md): derived from the stored log, whoever wrote the comment; each kind reaches exactly its
 * recipients — never the actor, never someone who cannot read the document; read over REST, marked read, and live
 * over Server-Sent Events.
 */
import { describe, expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import { addComment } from '@marginalia/shared';
import {
  startServer,
  createDocument,
  addMember,
  createUser,
  api,
  type TestServer,
  type Member,
} from '../support/server.js';
import { connectClient, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { openStream, type Stream } from '../support/sse.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';

interface Item {
  id: string;
  kind: string;
  documentId: string;
  documentTitle: string;
  threadId: string;
  commentId: string | null;
  actor: { id: string | null; name: string };
  excerpt: string;
  createdAt: number;
  readAt: number | null;
}

describe('notifications', () => {
  let server: TestServer;
  let docId: string;
  let ann: Member; // commenter
  let bob: Member; // commenter
  let cleo: Member; // commenter
  let vera: Member; // viewer
  let olga: { token: string; id: string }; // no access
  const clients: TestClient[] = [];
  const streams: Stream[] = [];

  const inbox = async (
    who: { token: string },
    query = '',
  ): Promise<{ items: Item[]; unread: number; nextCursor: string | null }> => {
    const r = await api(server.url, who.token).get(`/notifications${query}`);
    if (r.status !== 200) throw new Error(`GET /notifications: ${r.status} ${r.text}`);
    return r.body;
  };
  /** Waits until the projector has handled every stored change (the admin's own marker notification arrives). */
  let markers = 0;
  const settled = async () => {
    // A thread by bob on a private document followed by the admin: the admin is told once it is projected, and
    // projection is in log order per document — so everything stored on `docId` before it is projected too.
    const before = (await inbox({ token: server.adminToken })).items.filter((i) =>
      i.excerpt.startsWith('marker'),
    ).length;
    markers++;
    const r = await api(server.url, bob.token).post(`/documents/${docId}/threads`, {
      exact: 'Critics',
      body: `marker ${markers}`,
    });
    expect(r.status).toBe(201);
    await waitFor(
      async () =>
        (await inbox({ token: server.adminToken })).items.filter((i) => i.excerpt.startsWith('marker')).length > before,
      { message: 'the marker notification' },
    );
  };
  const kindsOf = async (who: { token: string }, threadId: string) =>
    (await inbox(who)).items
      .filter((i) => i.threadId === threadId)
      .map((i) => i.kind)
      .sort();

  beforeAll(async () => {
    server = await startServer({ env: { MARGINALIA_PROJECTION_DELAY_MS: '0' } });
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    ann = await addMember(server, docId, 'ann', 'Ann Archer', 'commenter');
    bob = await addMember(server, docId, 'bob', 'Bob Baker', 'commenter');
    cleo = await addMember(server, docId, 'cleo', 'Cleo Cole', 'commenter');
    vera = await addMember(server, docId, 'vera', 'Vera Viewer', 'viewer');
    olga = await createUser(server, 'olga', 'Olga Outsider');
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
    for (const s of streams.splice(0)) s.close();
  });
  afterAll(async () => {
    await server.dispose();
  });

  test('a mention tells each mentioned reader, not the actor, not an outsider named in the text', async () => {
    const r = await api(server.url, ann.token).post(`/documents/${docId}/threads`, {
      exact: 'new policy',
      body: '@vera @ann @olga what do you make of this?',
    });
    await settled();
    const [mention] = (await inbox(vera)).items.filter((i) => i.threadId === r.body.id);
    expect(mention).toEqual({
      id: expect.any(String),
      kind: 'mention',
      documentId: docId,
      documentTitle: 'Test article',
      threadId: r.body.id,
      commentId: r.body.commentId,
      actor: { id: ann.id, name: 'Ann Archer' },
      // Mentions as the comment shows them: the names of the people mentioned; an outsider's stays as typed.
      excerpt: '@Vera Viewer @Ann Archer @olga what do you make of this?',
      createdAt: expect.any(Number),
      readAt: null,
    });
    expect(await kindsOf(ann, r.body.id)).toEqual([]);
    expect(await kindsOf(olga, r.body.id)).toEqual([]);
    // The document's creator (the admin) follows it: a new thread, told once.
    expect(await kindsOf({ token: server.adminToken }, r.body.id)).toEqual(['new-thread']);
  });

  test('a reply tells earlier participants, except the replier and those it mentions (told of the mention)', async () => {
    const t = await api(server.url, ann.token).post(`/documents/${docId}/threads`, { exact: 'Monday', body: 'Date?' });
    const a = api(server.url, bob.token);
    await a.post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: 'Tuesday, I think' });
    await settled();
    expect(await kindsOf(ann, t.body.id)).toEqual(['reply']);
    expect(await kindsOf(bob, t.body.id)).toEqual([]);
    // cleo replies, mentioning ann: ann is told of the mention, bob of the reply; vera (never took part) of nothing
    const c = await api(server.url, cleo.token).post(`/documents/${docId}/threads/${t.body.id}/comments`, {
      body: '@ann it was Monday',
    });
    await settled();
    const annItems = (await inbox(ann)).items.filter((i) => i.commentId === c.body.id);
    expect(annItems.map((i) => i.kind)).toEqual(['mention']);
    expect((await inbox(bob)).items.filter((i) => i.commentId === c.body.id).map((i) => i.kind)).toEqual(['reply']);
    expect(await kindsOf(vera, t.body.id)).toEqual([]);
    expect(await kindsOf(cleo, t.body.id)).toEqual([]);
  });

  test('resolving and reopening tell the thread’s participants, not the actor nor bystanders', async () => {
    const t = await api(server.url, ann.token).post(`/documents/${docId}/threads`, { exact: 'lacked', body: 'Vague' });
    await api(server.url, bob.token).post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: 'Agreed' });
    await api(server.url, cleo.token).patch(`/documents/${docId}/threads/${t.body.id}`, { status: 'resolved' });
    await settled();
    expect(await kindsOf(ann, t.body.id)).toEqual(['reply', 'resolved']);
    expect(await kindsOf(bob, t.body.id)).toEqual(['resolved']);
    expect(await kindsOf(cleo, t.body.id)).toEqual([]);
    expect(await kindsOf(vera, t.body.id)).toEqual([]);
    const resolved = (await inbox(bob)).items.find((i) => i.threadId === t.body.id)!;
    expect(resolved.actor).toEqual({ id: cleo.id, name: 'Cleo Cole' });
    expect(resolved.excerpt).toBe('lacked');

    // reopened by ann over WebSocket (her own client id names her as the actor)
    const c = connectClient(server.wsUrl, docId, ann.token);
    clients.push(c);
    await c.synced();
    const { setThreadStatus } = await import('@marginalia/shared');
    setThreadStatus(c.doc, t.body.id, 'open', ann.id);
    await settled();
    expect(await kindsOf(bob, t.body.id)).toEqual(['reopened', 'resolved']);
    // cleo resolved it but neither opened it nor wrote in it: no participant
    expect(await kindsOf(cleo, t.body.id)).toEqual([]);
    expect(await kindsOf(ann, t.body.id)).toEqual(['reply', 'resolved']);
  });

  test('changes made over REST are told with their actor, who is not told of them', async () => {
    const t = await api(server.url, ann.token).post(`/documents/${docId}/threads`, {
      exact: 'on Monday',
      body: 'When?',
    });
    await api(server.url, bob.token).post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: 'Then' });
    await api(server.url, bob.token).patch(`/documents/${docId}/threads/${t.body.id}`, { status: 'resolved' });
    await settled();
    // ann reopens over REST: she took part, but she is the actor
    await api(server.url, ann.token).patch(`/documents/${docId}/threads/${t.body.id}`, { status: 'open' });
    await settled();
    expect(await kindsOf(ann, t.body.id)).toEqual(['reply', 'resolved']);
    const reopened = (await inbox(bob)).items.find((i) => i.threadId === t.body.id && i.kind === 'reopened');
    expect(reopened?.actor).toEqual({ id: ann.id, name: 'Ann Archer' });
  });

  test('new threads tell followers: the creator unless unfollowed, and whoever follows', async () => {
    expect((await api(server.url, vera.token).put(`/documents/${docId}/follow`, { following: true })).status).toBe(200);
    expect((await api(server.url, vera.token).get(`/documents/${docId}/follow`)).body).toEqual({ following: true });
    expect((await api(server.url, server.adminToken).get(`/documents/${docId}/follow`)).body).toEqual({
      following: true,
    });
    const t1 = await api(server.url, ann.token).post(`/documents/${docId}/threads`, {
      exact: 'minister',
      body: 'Who?',
    });
    await settled();
    expect(await kindsOf(vera, t1.body.id)).toEqual(['new-thread']);
    expect(await kindsOf({ token: server.adminToken }, t1.body.id)).toEqual(['new-thread']);
    expect(await kindsOf(bob, t1.body.id)).toEqual([]);

    await api(server.url, server.adminToken).put(`/documents/${docId}/follow`, { following: false });
    await api(server.url, vera.token).put(`/documents/${docId}/follow`, { following: false });
    const t2 = await api(server.url, ann.token).post(`/documents/${docId}/threads`, {
      exact: 'announced',
      body: 'When?',
    });
    // settle with a follower still in place: bob follows for the marker
    await api(server.url, server.adminToken).put(`/documents/${docId}/follow`, { following: true });
    await settled();
    expect(await kindsOf(vera, t2.body.id)).toEqual([]);
    expect(await kindsOf({ token: server.adminToken }, t2.body.id)).toEqual([]);
    // no access, no follow
    expect((await api(server.url, olga.token).put(`/documents/${docId}/follow`, { following: true })).status).toBe(403);
  });

  test('someone who lost access is told nothing more', async () => {
    const dan = await addMember(server, docId, 'dan', 'Dan Dropped', 'commenter');
    const t = await api(server.url, dan.token).post(`/documents/${docId}/threads`, { exact: 'policy on', body: 'Hm' });
    expect((await api(server.url, server.adminToken).delete(`/documents/${docId}/members/dan`)).status).toBeLessThan(
      300,
    );
    await api(server.url, ann.token).post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: '@dan yes' });
    await settled();
    expect(await kindsOf(dan, t.body.id)).toEqual([]);
  });

  test('a stock Yjs client’s comment notifies as a REST one does', async () => {
    const t = await api(server.url, ann.token).post(`/documents/${docId}/threads`, { exact: 'said', body: 'Who?' });
    const c = connectClient(server.wsUrl, docId, bob.token);
    clients.push(c);
    await c.synced();
    const commentId = addComment(c.doc, t.body.id, {
      authorId: bob.id,
      authorName: 'Bob Baker',
      body: 'Ask @cleo',
      mentions: [cleo.id],
    });
    await settled();
    expect((await inbox(cleo)).items.filter((i) => i.commentId === commentId)).toEqual([
      expect.objectContaining({ kind: 'mention', actor: { id: bob.id, name: 'Bob Baker' }, excerpt: 'Ask @Cleo Cole' }),
    ]);
    expect((await inbox(ann)).items.filter((i) => i.commentId === commentId).map((i) => i.kind)).toEqual(['reply']);
  });

  test('the inbox pages newest first, filters unread, and marks read by id or all at once', async () => {
    const t = await api(server.url, cleo.token).post(`/documents/${docId}/threads`, { exact: 'detail', body: 'x' });
    for (let i = 0; i < 4; i++)
      await api(server.url, cleo.token).post(`/documents/${docId}/threads/${t.body.id}/comments`, {
        body: `@vera ${i}`,
      });
    await settled();
    const all = await inbox(vera);
    const first = await inbox(vera, '?limit=2');
    expect(first.items).toEqual(all.items.slice(0, 2));
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await inbox(vera, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.items).toEqual(all.items.slice(2, 4));
    const times = all.items.map((i) => i.createdAt);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(all.unread).toBe(all.items.filter((i) => i.readAt === null).length);

    const va = api(server.url, vera.token);
    const read = await va.post('/notifications/read', { ids: [all.items[0]!.id] });
    expect(read.body).toEqual({ unread: all.unread - 1 });
    expect((await inbox(vera, '?unread=true')).items.map((i) => i.id)).not.toContain(all.items[0]!.id);
    // someone else's ids change nothing
    await api(server.url, ann.token).post('/notifications/read', { ids: [all.items[1]!.id] });
    expect((await inbox(vera)).unread).toBe(all.unread - 1);
    expect((await va.post('/notifications/read', { all: true })).body).toEqual({ unread: 0 });
    expect((await inbox(vera, '?unread=true')).items).toEqual([]);

    expect((await va.post('/notifications/read', { ids: 'x' })).status).toBe(400);
    expect((await va.get('/notifications?limit=0')).status).toBe(400);
    expect((await va.get('/notifications?cursor=zzz')).status).toBe(400);
    expect((await api(server.url).get('/notifications')).status).toBe(401);
  });

  test('the stream sends each new notification of its user, and only theirs', async () => {
    const veraStream = await openStream(server.url, { authorization: `Bearer ${vera.token}` });
    const annStream = await openStream(server.url, { authorization: `Bearer ${ann.token}` });
    streams.push(veraStream, annStream);
    const t = await api(server.url, cleo.token).post(`/documents/${docId}/threads`, {
      exact: 'Critics said',
      body: 'Hey @vera',
    });
    const event = await veraStream.next((e) => e.data.threadId === t.body.id);
    expect(event.event).toBe('notification');
    expect(event.data).toEqual(
      expect.objectContaining({ kind: 'mention', threadId: t.body.id, actor: { id: cleo.id, name: 'Cleo Cole' } }),
    );
    expect(event.data.id).toBe((await inbox(vera)).items.find((i) => i.threadId === t.body.id)!.id);
    await settled();
    expect(annStream.events.filter((e) => e.data.threadId === t.body.id)).toEqual([]);
  });
});
