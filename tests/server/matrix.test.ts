/**
 * The role x action matrix (issue 5), table-driven, over REST and WebSocket. Every cell says allowed (and its
 * status) or refused (exact HTTP status or close code); a refused cell also checks that nothing changed: the
 * document as a fresh client receives it, its members, and whether it exists, before and after.
 * Each cell gets its own fixture thread (a comment by the actor and one by another user), written by an admin.
 * New threads and comments arrive whole and valid from every row, owners included (issue 23).
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import { SignJWT } from 'jose';
import {
  addComment,
  articleText,
  createThread,
  deleteComment,
  editComment,
  readThread,
  readVocabulary,
  setTag,
  setThreadStatus,
  setThreadTags,
  readResolvedThreads,
  threadsMap,
} from '@marginalia/shared';
import { adminAuthor, startServer, createUser, api, type TestServer } from '../support/server.js';
import { rawClient, type RawClient } from '../support/raw-client.js';
import { canonical } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';

const ROWS = [
  'owner',
  'editor',
  'commenter',
  'viewer',
  'guest',
  'guest on a document not open to guests',
  'non-member',
  'no token',
  'expired token',
] as const;
type Row = (typeof ROWS)[number];
type Expect = number | 'ok';

// REST: the status each row gets (a 2xx means the action happened). Columns in ROWS order.
//                                    owner editor comm. viewer guest g-closed non-m. none  expired
const REST: Record<string, number[]> = {
  read: /*                        */ [200, 200, 200, 200, 200, 403, 403, 401, 401],
  'create thread': /*             */ [201, 201, 201, 403, 201, 403, 403, 401, 401],
  reply: /*                       */ [201, 201, 201, 403, 201, 403, 403, 401, 401],
  'edit own comment': /*          */ [200, 200, 200, 403, 200, 403, 403, 401, 401],
  "edit other's comment": /*      */ [403, 403, 403, 403, 403, 403, 403, 401, 401],
  'delete own comment': /*        */ [204, 204, 204, 403, 204, 403, 403, 401, 401],
  "delete other's comment": /*    */ [204, 403, 403, 403, 403, 403, 403, 401, 401],
  resolve: /*                     */ [200, 200, 200, 403, 200, 403, 403, 401, 401],
  tag: /*                         */ [200, 200, 200, 403, 200, 403, 403, 401, 401],
  vocabulary: /*                  */ [200, 200, 403, 403, 403, 403, 403, 401, 401],
  members: /*                     */ [200, 403, 403, 403, 403, 403, 403, 401, 401],
  'delete document': /*           */ [204, 403, 403, 403, 403, 403, 403, 401, 401],
  export: /*                      */ [200, 200, 200, 200, 200, 403, 403, 401, 401],
};
// WebSocket: 'ok' (applied, stored, broadcast) or the close code (at upgrade, or after "permission denied").
// The owner may change anything over WebSocket, other people's comments included (REST keeps edits to authors);
// but a new thread or comment arrives whole and valid, whoever sends it.
const WS: Record<string, Expect[]> = {
  read: /*                        */ ['ok', 'ok', 'ok', 'ok', 'ok', 4403, 4403, 4401, 4401],
  'create thread': /*             */ ['ok', 'ok', 'ok', 4403, 'ok', 4403, 4403, 4401, 4401],
  reply: /*                       */ ['ok', 'ok', 'ok', 4403, 'ok', 4403, 4403, 4401, 4401],
  'edit own comment': /*          */ ['ok', 'ok', 'ok', 4403, 'ok', 4403, 4403, 4401, 4401],
  "edit other's comment": /*      */ ['ok', 4403, 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  'delete own comment': /*        */ ['ok', 'ok', 'ok', 4403, 'ok', 4403, 4403, 4401, 4401],
  "delete other's comment": /*    */ ['ok', 4403, 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  resolve: /*                     */ ['ok', 'ok', 'ok', 4403, 'ok', 4403, 4403, 4401, 4401],
  tag: /*                         */ ['ok', 'ok', 'ok', 4403, 'ok', 4403, 4403, 4401, 4401],
  'edit article text': /*         */ ['ok', 'ok', 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  'edit meta': /*                 */ ['ok', 'ok', 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  vocabulary: /*                  */ ['ok', 'ok', 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  // a new thread or comment arrives whole and valid, from everyone: owners too
  'create empty thread': /*       */ [4403, 4403, 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  'create thread without comment': [4403, 4403, 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  'create thread, wrong key': /*  */ [4403, 4403, 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  'create thread, 200,000-char key': [4403, 4403, 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  'create thread missing a field': [4403, 4403, 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  'create thread with extra field': [4403, 4403, 4403, 4403, 4403, 4403, 4403, 4401, 4401],
  'reply missing a field': /*     */ [4403, 4403, 4403, 4403, 4403, 4403, 4403, 4401, 4401],
};

interface Actor {
  token: string | null;
  id: string;
  name: string;
}
interface Cell {
  actor: Actor;
  docId: string;
  threadId: string;
  ownComment: string;
  otherComment: string;
  /** A string unique to the cell, written by the action so its effect can be found. */
  marker: string;
}
type Res = Awaited<ReturnType<ReturnType<typeof api>['get']>>;

interface Action {
  rest?: (c: Cell) => Promise<Res>;
  ws?: (doc: Y.Doc, c: Cell) => void;
  /** The allowed action's effect, seen in the document (after a change) or in the REST answer. */
  seen: (doc: Y.Doc, c: Cell, res?: Res) => boolean | Promise<boolean>;
  /** Needs a document of its own (deleting it). */
  ownDocument?: boolean;
}

/** A thread id of the cell's own, for the actions that make threads by hand. */
const cellKeys = new Map<string, string>();
const keyOf = (c: Cell): string => {
  if (!cellKeys.has(c.marker)) cellKeys.set(c.marker, randomUUID());
  return cellKeys.get(c.marker)!;
};
const comment = (doc: Y.Doc, c: Cell, id: string) => readThread(doc, c.threadId)?.comments.find((x) => x.id === id);
const firstParagraph = (doc: Y.Doc) => doc.get('root', Y.XmlText).toDelta()[0].insert as Y.XmlText;

let server: TestServer;
let admin: ReturnType<typeof api>;

const ACTIONS: Record<string, Action> = {
  read: {
    rest: (c) => api(server.url, c.actor.token ?? undefined).get(`/documents/${c.docId}/threads`),
    seen: (doc, c, res) =>
      res
        ? res.body.some((t: { id: string }) => t.id === c.threadId)
        : articleText(doc).includes('The minister announced') && readThread(doc, c.threadId) !== null,
  },
  'create thread': {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).post(`/documents/${c.docId}/threads`, {
        exact: 'minister',
        body: c.marker,
      }),
    ws: (doc, c) =>
      void createThread(doc, { exact: 'minister', createdBy: c.actor.id, authorName: c.actor.name, body: c.marker }),
    seen: (doc, c) =>
      readResolvedThreads(doc).some(
        (t) => t.createdBy === c.actor.id && t.comments[0]?.body === c.marker && t.quote.exact === 'minister',
      ),
  },
  reply: {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).post(`/documents/${c.docId}/threads/${c.threadId}/comments`, {
        body: c.marker,
      }),
    ws: (doc, c) =>
      void addComment(doc, c.threadId, { authorId: c.actor.id, authorName: c.actor.name, body: c.marker }),
    seen: (doc, c) =>
      readThread(doc, c.threadId)!.comments.some((x) => x.body === c.marker && x.authorId === c.actor.id),
  },
  'edit own comment': {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).patch(
        `/documents/${c.docId}/threads/${c.threadId}/comments/${c.ownComment}`,
        { body: c.marker },
      ),
    ws: (doc, c) => editComment(doc, c.threadId, c.ownComment, c.marker),
    seen: (doc, c) => comment(doc, c, c.ownComment)?.body === c.marker,
  },
  "edit other's comment": {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).patch(
        `/documents/${c.docId}/threads/${c.threadId}/comments/${c.otherComment}`,
        { body: c.marker },
      ),
    ws: (doc, c) => editComment(doc, c.threadId, c.otherComment, c.marker),
    seen: (doc, c) => comment(doc, c, c.otherComment)?.body === c.marker,
  },
  'delete own comment': {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).delete(
        `/documents/${c.docId}/threads/${c.threadId}/comments/${c.ownComment}`,
      ),
    ws: (doc, c) => deleteComment(doc, c.threadId, c.ownComment),
    seen: (doc, c) => comment(doc, c, c.ownComment)?.deleted === true,
  },
  "delete other's comment": {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).delete(
        `/documents/${c.docId}/threads/${c.threadId}/comments/${c.otherComment}`,
      ),
    ws: (doc, c) => deleteComment(doc, c.threadId, c.otherComment),
    seen: (doc, c) => comment(doc, c, c.otherComment)?.deleted === true,
  },
  resolve: {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).patch(`/documents/${c.docId}/threads/${c.threadId}`, {
        status: 'resolved',
      }),
    ws: (doc, c) => setThreadStatus(doc, c.threadId, 'resolved', c.actor.id),
    seen: (doc, c) =>
      readThread(doc, c.threadId)?.status === 'resolved' && readThread(doc, c.threadId)?.resolvedBy === c.actor.id,
  },
  tag: {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).patch(`/documents/${c.docId}/threads/${c.threadId}`, {
        tags: ['question'],
      }),
    ws: (doc, c) => setThreadTags(doc, c.threadId, ['question']),
    seen: (doc, c) => readThread(doc, c.threadId)?.tags.includes('question') === true,
  },
  'edit article text': {
    ws: (doc, c) => firstParagraph(doc).insert(0, c.marker),
    seen: (doc, c) => articleText(doc).includes(c.marker),
  },
  'edit meta': {
    ws: (doc, c) => doc.getMap('meta').set('title', c.marker),
    seen: (doc, c) => doc.getMap('meta').get('title') === c.marker,
  },
  vocabulary: {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).put(`/documents/${c.docId}/vocabulary/${c.marker}`, {
        color: '#112233',
      }),
    ws: (doc, c) => setTag(doc, c.marker, { color: '#112233' }),
    seen: (doc, c) => c.marker in readVocabulary(doc),
  },
  'create empty thread': {
    ws: (doc, c) => threadsMap(doc).set(keyOf(c), new Y.Map()),
    seen: (doc, c) => threadsMap(doc).has(keyOf(c)),
  },
  'create thread without comment': {
    // one update: the thread as createThread writes it, its first comment removed again
    ws: (doc, c) =>
      doc.transact(() => {
        createThread(doc, {
          id: keyOf(c),
          exact: 'minister',
          createdBy: c.actor.id,
          authorName: c.actor.name,
          body: c.marker,
        });
        (threadsMap(doc).get(keyOf(c))!.get('comments') as Y.Array<unknown>).delete(0, 1);
      }),
    seen: (doc, c) => threadsMap(doc).has(keyOf(c)),
  },
  'create thread, wrong key': {
    // whole, but stored under a key (a UUID) that is not its id
    ws: (doc, c) =>
      doc.transact(() => {
        const id = randomUUID();
        createThread(doc, { id, exact: 'minister', createdBy: c.actor.id, authorName: c.actor.name, body: 'x' });
        const copy = threadsMap(doc).get(id)!.clone();
        threadsMap(doc).delete(id);
        threadsMap(doc).set(keyOf(c), copy);
      }),
    seen: (doc, c) => threadsMap(doc).has(keyOf(c)),
  },
  'create thread, 200,000-char key': {
    ws: (doc, c) => threadsMap(doc).set(c.marker.repeat(25_000), new Y.Map()),
    seen: (doc, c) => threadsMap(doc).has(c.marker.repeat(25_000)),
  },
  'create thread missing a field': {
    ws: (doc, c) =>
      doc.transact(() => {
        createThread(doc, {
          id: keyOf(c),
          exact: 'minister',
          createdBy: c.actor.id,
          authorName: c.actor.name,
          body: 'x',
        });
        threadsMap(doc).get(keyOf(c))!.delete('createdAt');
      }),
    seen: (doc, c) => threadsMap(doc).has(keyOf(c)),
  },
  'create thread with extra field': {
    ws: (doc, c) =>
      doc.transact(() => {
        createThread(doc, {
          id: keyOf(c),
          exact: 'minister',
          createdBy: c.actor.id,
          authorName: c.actor.name,
          body: 'x',
        });
        threadsMap(doc).get(keyOf(c))!.set('colour', c.marker);
      }),
    seen: (doc, c) => threadsMap(doc).get(keyOf(c))?.get('colour') === c.marker,
  },
  'reply missing a field': {
    ws: (doc, c) =>
      doc.transact(() => {
        const id = addComment(doc, c.threadId, { authorId: c.actor.id, authorName: c.actor.name, body: c.marker });
        const comments = (threadsMap(doc).get(c.threadId)!.get('comments') as Y.Array<Y.Map<unknown>>).toArray();
        comments.find((x) => x.get('id') === id)!.delete('createdAt');
      }),
    seen: (doc, c) =>
      (threadsMap(doc).get(c.threadId)!.get('comments') as Y.Array<Y.Map<unknown>>)
        .toArray()
        .some((x) => x.get('body') === c.marker),
  },
  members: {
    rest: (c) =>
      api(server.url, c.actor.token ?? undefined).put(`/documents/${c.docId}/members/spare`, { role: 'viewer' }),
    seen: async (_doc, c) =>
      (await admin.get(`/documents/${c.docId}/members`)).body.some((m: { username: string }) => m.username === 'spare'),
  },
  'delete document': {
    rest: (c) => api(server.url, c.actor.token ?? undefined).delete(`/documents/${c.docId}`),
    seen: async (_doc, c) => (await admin.get(`/documents/${c.docId}`)).status === 404,
    ownDocument: true,
  },
  export: {
    rest: (c) => api(server.url, c.actor.token ?? undefined).get(`/documents/${c.docId}/export?format=md`),
    seen: (_doc, _c, res) =>
      /^text\/markdown/.test(res!.headers.get('content-type') ?? '') && res!.text.includes('Other has a say'),
  },
};

describe('role x action matrix (REST and WebSocket)', () => {
  const actors = {} as Record<Row, Actor>;
  const docs = { open: '', closed: '' };
  const watchers: Record<string, RawClient> = {};
  let other: Actor;
  let ownerToken = '';

  const docOf = (row: Row) => (row === 'guest' ? docs.open : docs.closed);

  /** A document owned by the owner row, with the member rows, optionally open to guests as commenters. */
  async function makeDocument(open: boolean): Promise<string> {
    const r = await api(server.url, ownerToken).post('/documents', {
      title: 'Matrix article',
      format: 'text',
      content: ARTICLE,
      ...(open ? { guestRole: 'commenter' } : {}),
    });
    expect(r.status).toBe(201);
    const owner = api(server.url, ownerToken);
    for (const [username, role] of [
      ['edd', 'editor'],
      ['com', 'commenter'],
      ['vie', 'viewer'],
      ['exp', 'commenter'],
    ]) {
      expect((await owner.put(`/documents/${r.body.id}/members/${username}`, { role })).status).toBe(200);
    }
    expect((await admin.put(`/documents/${r.body.id}/vocabulary/question`, { color: '#3366cc' })).status).toBe(200);
    return r.body.id as string;
  }

  async function watcher(docId: string): Promise<RawClient> {
    if (!watchers[docId]) {
      watchers[docId] = rawClient(server.wsUrl, docId, server.adminToken);
      await watchers[docId]!.synced;
    }
    return watchers[docId]!;
  }

  /** Everything a cell could change: the document as a fresh client gets it, its members, its existence. */
  async function snapshot(docId: string): Promise<string> {
    const exists = (await admin.get(`/documents/${docId}`)).status;
    if (exists !== 200) return canonical({ exists });
    const fresh = rawClient(server.wsUrl, docId, server.adminToken);
    await fresh.synced;
    const d = fresh.doc;
    const state = {
      root: d.get('root', Y.XmlText).toString(),
      meta: d.getMap('meta').toJSON(),
      vocabulary: d.getMap('vocabulary').toJSON(),
      threads: d.getMap('threads').toJSON(),
    };
    await fresh.close();
    const members = (await admin.get(`/documents/${docId}/members`)).body;
    return canonical({ exists, state, members });
  }

  /** A fresh thread by `other` holding a comment by `other` and one by the actor, stored before the cell runs. */
  async function fixture(row: Row, ownDocument: boolean): Promise<Cell> {
    const docId = ownDocument ? await makeDocument(row === 'guest') : docOf(row);
    const w = await watcher(docId);
    const actor = actors[row];
    // The admin (an owner) writes them whole in its own name, as everyone must, then hands them to their
    // authors: owners may change any field of a thread or comment that exists.
    const me = adminAuthor(server);
    const { threadId, commentId: otherComment } = createThread(w.doc, {
      start: 0,
      end: 3,
      createdBy: me.id,
      authorName: me.name,
      body: 'Other has a say',
    });
    const ownComment = addComment(w.doc, threadId, { authorId: me.id, authorName: me.name, body: 'Actor wrote this' });
    w.doc.transact(() => {
      const thread = threadsMap(w.doc).get(threadId)!;
      thread.set('createdBy', other.id);
      for (const c of (thread.get('comments') as Y.Array<Y.Map<unknown>>).toArray()) {
        const author = c.get('id') === ownComment ? actor : other;
        c.set('authorId', author.id);
        c.set('authorName', author.name);
      }
    });
    await w.flushed();
    await admin.delete(`/documents/${docId}/members/spare`);
    return { actor, docId, threadId, ownComment, otherComment, marker: `m${randomUUID().slice(0, 8)}` };
  }

  beforeAll(async () => {
    server = await startServer({ env: { MARGINALIA_SAMPLE: '0' } });
    admin = api(server.url, server.adminToken);
    const user = async (username: string, name: string): Promise<Actor> => ({
      ...(await createUser(server, username, name)),
      name,
    });
    actors.owner = await user('own', 'Olive Owner');
    ownerToken = actors.owner.token!;
    actors.editor = await user('edd', 'Eddy Editor');
    actors.commenter = await user('com', 'Cora Commenter');
    actors.viewer = await user('vie', 'Vera Viewer');
    actors['non-member'] = await user('out', 'Otto Outsider');
    other = await user('ola', 'Ola Other');
    await user('spare', 'Spare User');
    const expired = await user('exp', 'Exa Expired');
    const guest = await api(server.url).post('/auth/guest', { name: 'Gina Guest' });
    actors.guest = { token: guest.body.token, id: guest.body.user.id, name: 'Gina Guest' };
    const guest2 = await api(server.url).post('/auth/guest', { name: 'Gus Guest' });
    actors['guest on a document not open to guests'] = {
      token: guest2.body.token,
      id: guest2.body.user.id,
      name: 'Gus Guest',
    };
    actors['no token'] = { token: null, id: 'nobody', name: 'Nobody' };
    // An expired token of a commenter member, signed with the server's own key (DATA_DIR/secret.key, as tokens.ts).
    const key = new TextEncoder().encode(readFileSync(join(server.dataDir, 'secret.key'), 'utf8').trim());
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expiredToken = await new SignJWT({ username: 'exp', name: expired.name, guest: false, admin: false })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(expired.id)
      .setIssuedAt(past - 60)
      .setExpirationTime(past)
      .setJti(randomUUID())
      .sign(key);
    actors['expired token'] = { token: expiredToken, id: expired.id, name: expired.name };
    docs.open = await makeDocument(true);
    docs.closed = await makeDocument(false);
  });
  afterAll(async () => {
    for (const w of Object.values(watchers)) await w.close();
    await server?.dispose();
  });

  test('the expired token is refused for being expired, not for a bad signature', async () => {
    const me = await api(server.url, actors['expired token'].token!).get('/auth/me');
    expect(me.status).toBe(401);
    expect(me.body.error).toMatch(/expired/);
  });

  describe.each(ROWS.map((row, column) => [row, column] as const))('%s', (row, column) => {
    for (const [name, statuses] of Object.entries(REST)) {
      const want = statuses[column]!;
      const allowed = want < 300;
      test(`${row}: ${name} over REST -> ${allowed ? 'allowed' : 'refused'} ${want}`, async () => {
        const action = ACTIONS[name]!;
        const cell = await fixture(row, action.ownDocument === true);
        const before = allowed ? '' : await snapshot(cell.docId);
        const res = await action.rest!(cell);
        expect({ status: res.status, error: res.body?.error }).toMatchObject({ status: want });
        if (allowed) {
          const w = action.ownDocument ? null : await watcher(cell.docId);
          await waitFor(() => action.seen(w?.doc ?? new Y.Doc(), cell, res), {
            message: `${name}: effect of the allowed call`,
          });
        } else {
          expect(typeof res.body?.error).toBe('string');
          expect(await snapshot(cell.docId)).toBe(before);
        }
      });
    }

    for (const [name, outcomes] of Object.entries(WS)) {
      const want = outcomes[column]!;
      test(`${row}: ${name} over WebSocket -> ${want === 'ok' ? 'allowed' : `refused ${want}`}`, async () => {
        const action = ACTIONS[name]!;
        const cell = await fixture(row, false);
        const before = await snapshot(cell.docId);
        const client = rawClient(server.wsUrl, cell.docId, cell.actor.token);
        try {
          const opened = await client.synced.then(
            () => true,
            () => false,
          );
          if (!opened) {
            // refused at upgrade: no change could even be sent
            const closed = await client.closed;
            expect({ code: closed.code, http: closed.http }).toEqual({ code: want, http: false });
          } else {
            expect(readThread(client.doc, cell.threadId)).not.toBeNull();
            if (action.ws) action.ws(client.doc, cell);
            if (want === 'ok') {
              await client.flushed();
              const w = await watcher(cell.docId);
              await waitFor(() => action.seen(w.doc, cell), { message: `${name}: effect seen by another client` });
              expect(client.isOpen()).toBe(true);
            } else {
              const closed = await client.closed;
              expect(closed.code).toBe(want);
              expect(closed.reason).toMatch(/^permission denied: /);
              expect(client.denied[0]).toMatch(/^permission denied: /);
            }
          }
        } finally {
          await client.close();
        }
        if (want !== 'ok') expect(await snapshot(cell.docId)).toBe(before);
        else if (name !== 'read') expect(await snapshot(cell.docId)).not.toBe(before);
      });
    }
  });

  test('after a restart the stored documents are what the clients saw (refused changes were not stored)', async () => {
    for (const w of Object.values(watchers)) await w.close();
    for (const k of Object.keys(watchers)) delete watchers[k];
    const before = [await snapshot(docs.open), await snapshot(docs.closed)];
    await server.restart();
    expect([await snapshot(docs.open), await snapshot(docs.closed)]).toEqual(before);
    // the owner's and the editor's allowed text edits are stored; no refused one is
    const c = rawClient(server.wsUrl, docs.closed, server.adminToken);
    await c.synced;
    const text = articleText(c.doc);
    await c.close();
    expect(text).not.toMatch(/^The minister/);
    expect(text).toContain('The minister announced');
  });
});
