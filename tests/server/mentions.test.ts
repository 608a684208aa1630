/**
 * Mentions (docs/API.md, docs/SCHEMA.md): REST fills a comment's `mentions` from `@username` in its body with the
 * users who may read the document, and answers them; a stock Yjs client writes them itself, where the rule table
 * lets it write the body.
 */
import { describe, expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import { addComment, commentMap, editComment, readThread, threadsMap } from '@marginalia/shared';
import { mentionTokens } from '@marginalia/server/mentions.js';
import { startServer, createDocument, addMember, createUser, api, type TestServer } from '../support/server.js';
import { connectClient, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';

describe('@username tokens', () => {
  test('are read at word starts, lower-cased, once each, without trailing punctuation; addresses are none', () => {
    expect(mentionTokens('@Carl and @cleo.m, see @carl. Mail ann@example.org or @x-')).toEqual(['carl', 'cleo.m', 'x']);
    expect(mentionTokens('(@vera) @@eddy')).toEqual(['vera']);
    expect(mentionTokens('no mention @ all')).toEqual([]);
  });
});

describe('mentions over REST and WebSocket', () => {
  let server: TestServer;
  let docId: string;
  let carl: { token: string; id: string; name: string };
  let vera: { token: string; id: string; name: string };
  let cleo: { token: string; id: string; name: string };
  let olga: { token: string; id: string }; // an account that may not read the document
  const clients: TestClient[] = [];
  const admin = () => api(server.url, server.adminToken);

  beforeAll(async () => {
    server = await startServer();
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    carl = await addMember(server, docId, 'carl', 'Carl Commenter', 'commenter');
    vera = await addMember(server, docId, 'vera', 'Vera Viewer', 'viewer');
    cleo = await addMember(server, docId, 'cleo', 'Cleo', 'commenter');
    olga = await createUser(server, 'olga', 'Olga Outsider');
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(async () => {
    await server.dispose();
  });

  const storedComment = async (threadId: string, commentId: string) => {
    const r = await admin().get(`/documents/${docId}/threads/${threadId}`);
    return (r.body.comments as { id: string; body: string; mentions: string[] }[]).find((c) => c.id === commentId)!;
  };

  test('a new thread mentions the readers it names; unknown names and outsiders stay plain text', async () => {
    const body = 'Ask @Vera and @carl, not @olga or @nobody.';
    const r = await api(server.url, carl.token).post(`/documents/${docId}/threads`, { exact: 'new policy', body });
    expect(r.status).toBe(201);
    expect(r.body.mentions).toEqual([
      { id: vera.id, username: 'vera', name: 'Vera Viewer' },
      { id: carl.id, username: 'carl', name: 'Carl Commenter' },
    ]);
    const c = await storedComment(r.body.id, r.body.commentId);
    expect(c.body).toBe(body);
    expect(c.mentions).toEqual([vera.id, carl.id]);
    expect(c.mentions).not.toContain(olga.id);
  });

  test('a reply mentions; editing it replaces its mentions; once deleted it mentions nobody', async () => {
    const t = await api(server.url, carl.token).post(`/documents/${docId}/threads`, { exact: 'lacked', body: 'Hm' });
    const reply = await api(server.url, carl.token).post(`/documents/${docId}/threads/${t.body.id}/comments`, {
      body: '@vera what do you think?',
    });
    expect(reply.status).toBe(201);
    expect(reply.body.mentions).toEqual([{ id: vera.id, username: 'vera', name: 'Vera Viewer' }]);
    expect((await storedComment(t.body.id, reply.body.id)).mentions).toEqual([vera.id]);

    const edit = await api(server.url, carl.token).patch(
      `/documents/${docId}/threads/${t.body.id}/comments/${reply.body.id}`,
      {
        body: 'Asking @admin instead',
      },
    );
    expect(edit.status).toBe(200);
    expect(edit.body.mentions.map((m: { username: string }) => m.username)).toEqual(['admin']);
    expect((await storedComment(t.body.id, reply.body.id)).mentions).toEqual([edit.body.mentions[0].id]);

    await api(server.url, carl.token).delete(`/documents/${docId}/threads/${t.body.id}/comments/${reply.body.id}`);
    expect((await storedComment(t.body.id, reply.body.id)).mentions).toEqual([]);
  });

  test('readable exports show mentions as @Name; the JSON dump keeps the text as written', async () => {
    const md = await admin().get(`/documents/${docId}/export?format=md`);
    expect(md.text).toContain('Ask @Vera Viewer and @Carl Commenter, not @olga or @nobody.');
    const html = await admin().get(`/documents/${docId}/export?format=html`);
    expect(html.text).toContain('Ask @Vera Viewer and @Carl Commenter, not @olga or @nobody.');
    const json = await admin().get(`/documents/${docId}/export?format=json`);
    expect(json.text).toContain('Ask @Vera and @carl, not @olga or @nobody.');
  });

  test('on a document open to guests every account may be mentioned', async () => {
    const open = await createDocument(server.url, server.adminToken, ARTICLE, { guestRole: 'commenter' });
    const r = await admin().post(`/documents/${open}/threads`, { exact: 'Critics', body: 'cc @olga' });
    expect(r.status).toBe(201);
    expect(r.body.mentions).toEqual([{ id: olga.id, username: 'olga', name: 'Olga Outsider' }]);
  });

  test('only owners learn of accounts that cannot read a document (GET …/shareable), never anyone else', async () => {
    const owen = await addMember(server, docId, 'owen', 'Owen Owner', 'owner');
    const editor = await addMember(server, docId, 'eddie', 'Eddie Editor', 'editor');
    const dis = await createUser(server, 'olgadis', 'Olga Disabled');
    expect((await admin().patch('/users/olgadis', { disabled: true })).status).toBe(200);
    const guest = (await api(server.url).post('/auth/guest', { name: 'Gwen' })).body.token as string;

    // the owner (and an administrator, who acts as one) sees the outsider, not the readers nor a disabled account
    for (const token of [owen.token, server.adminToken]) {
      const r = await api(server.url, token).get(`/documents/${docId}/shareable?q=ol`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual([{ id: olga.id, username: 'olga', name: 'Olga Outsider' }]);
    }
    // a word of the name matches too; a wildcard is a plain character
    expect((await api(server.url, owen.token).get(`/documents/${docId}/shareable?q=outs`)).body).toEqual([
      { id: olga.id, username: 'olga', name: 'Olga Outsider' },
    ]);
    expect((await api(server.url, owen.token).get(`/documents/${docId}/shareable?q=%25`)).body).toEqual([]);
    const all = (await api(server.url, owen.token).get(`/documents/${docId}/shareable`)).body as { id: string }[];
    expect(all.map((u) => u.id)).toContain(olga.id);
    for (const reader of [carl, vera, cleo, owen, editor]) expect(all.map((u) => u.id)).not.toContain(reader.id);
    expect(all.map((u) => u.id)).not.toContain(dis.id);

    // nobody else: editors, commenters, viewers, outsiders, guests, the signed-out
    for (const token of [editor.token, carl.token, vera.token, olga.token, guest]) {
      const r = await api(server.url, token).get(`/documents/${docId}/shareable?q=ol`);
      expect([403, 404]).toContain(r.status);
      expect(r.text).not.toContain('olga');
    }
    expect((await api(server.url).get(`/documents/${docId}/shareable?q=ol`)).status).toBe(401);
    // and the people a non-owner may mention are readers only
    const mentionable = (await api(server.url, carl.token).get(`/documents/${docId}/mentionable?q=ol`)).body;
    expect(mentionable).toEqual([]);

    // shared with (as the client's "Share with …" does), the outsider is one no more
    expect(
      (await api(server.url, owen.token).put(`/documents/${docId}/members/olga`, { role: 'commenter' })).status,
    ).toBe(200);
    expect((await api(server.url, owen.token).get(`/documents/${docId}/shareable?q=ol`)).body).toEqual([]);
    expect((await api(server.url, carl.token).get(`/documents/${docId}/mentionable?q=ol`)).body).toEqual([
      { id: olga.id, username: 'olga', name: 'Olga Outsider' },
    ]);
    expect((await api(server.url, owen.token).delete(`/documents/${docId}/members/olga`)).status).toBe(204);

    // while the document is open to guests, every account may read it: nobody to share with
    const open = await createDocument(server.url, owen.token, ARTICLE, { guestRole: 'viewer' });
    expect((await api(server.url, owen.token).get(`/documents/${open}/shareable?q=ol`)).body).toEqual([]);
  });

  test('a stock Yjs client writes mentions with its comment; the rule table holds them to their shape and author', async () => {
    const t = await api(server.url, carl.token).post(`/documents/${docId}/threads`, { exact: 'Monday', body: 'Start' });
    const connect = async (token: string) => {
      const c = connectClient(server.wsUrl, docId, token);
      clients.push(c);
      await c.synced();
      return c;
    };
    const c = await connect(carl.token);
    const commentId = addComment(c.doc, t.body.id, {
      authorId: carl.id,
      authorName: carl.name,
      body: '@vera look',
      mentions: [vera.id],
    });
    await waitFor(async () => (await storedComment(t.body.id, commentId))?.mentions?.[0] === vera.id);
    editComment(c.doc, t.body.id, commentId, 'never mind', undefined, []);
    await waitFor(async () => (await storedComment(t.body.id, commentId)).mentions.length === 0);
    expect(c.closes).toEqual([]);

    // Not a list of ids: refused.
    const bad = await connect(carl.token);
    const comments = (threadsMap(bad.doc).get(t.body.id) as Y.Map<unknown>).get('comments') as Y.Array<unknown>;
    comments.push([
      commentMap({
        id: crypto.randomUUID(),
        authorId: carl.id,
        authorName: carl.name,
        body: 'x',
        createdAt: Date.now(),
        mentions: [42] as unknown as string[],
      }),
    ]);
    await waitFor(() => bad.closes.some((x) => x.code === 4403));
    expect(bad.closes.find((x) => x.code === 4403)!.reason).toMatch(/mentions are an array/);

    // Someone else's comment: its mentions are its author's to change.
    const other = await connect(cleo.token);
    const first = (
      (threadsMap(other.doc).get(t.body.id) as Y.Map<unknown>).get('comments') as Y.Array<Y.Map<unknown>>
    ).get(0);
    first.set('mentions', [vera.id]);
    await waitFor(() => other.closes.some((x) => x.code === 4403));
    expect(other.closes.find((x) => x.code === 4403)!.reason).toMatch(/author/);
    expect(readThread(clients[0]!.doc, t.body.id)!.comments[0]!.mentions).toEqual([]);
  });
});

describe('mentions written as names', () => {
  test('only the mentions of known people change; punctuation and other words stay', async () => {
    const { withMentionNames } = await import('@marginalia/shared');
    const people = new Map([['vera', 'Vera Viewer']]);
    expect(withMentionNames('Hi @Vera. And @bob, mail vera@x.org', people)).toBe(
      'Hi @Vera Viewer. And @bob, mail vera@x.org',
    );
  });
});
