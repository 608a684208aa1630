/**
 * The notification stream across instances (PostgreSQL + Redis): a user's stream on any instance receives each of
 * their new notifications exactly once, whichever instance stored the comment and whichever projected it.
 */
import { expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import { addComment } from '@marginalia/shared';
import { startServer, createDocument, addMember, api, type TestServer, type Member } from '../support/server.js';
import { connectClient, type TestClient } from '../support/clients.js';
import { openStream, type Stream } from '../support/sse.js';
import { waitFor } from '../support/wait.js';
import {
  POSTGRES_URL,
  REDIS_URL,
  describeIfService,
  dropSchema,
  postgresReachable,
  redisReachable,
  uniqueSchema,
} from '../support/services.js';

const available = (await postgresReachable()) && (await redisReachable());
const ARTICLE = 'Shared across instances.\n\nA second paragraph for replies.';

describeIfService('postgresql and redis', available)('notification streams on two instances', () => {
  const schema = uniqueSchema('notify');
  let a: TestServer;
  let b: TestServer;
  let docId: string;
  let ann: Member;
  let vera: Member;
  const streams: Stream[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    const env = {
      DATABASE_URL: POSTGRES_URL,
      MARGINALIA_PG_SCHEMA: schema,
      REDIS_URL: REDIS_URL,
      REDIS_PREFIX: `test:${schema}:`,
      MARGINALIA_PROJECTION_DELAY_MS: '0',
      // one signing secret, so a token from either instance is good on both
      MARGINALIA_SECRET: `secret-${schema}-0123456789abcdef0123456789abcdef`,
    };
    a = await startServer({ env });
    b = await startServer({ env });
    docId = await createDocument(a.url, a.adminToken, ARTICLE);
    ann = await addMember(a, docId, 'ann', 'Ann Archer', 'commenter');
    vera = await addMember(a, docId, 'vera', 'Vera Viewer', 'viewer');
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(async () => {
    await a?.dispose();
    await b?.dispose();
    await dropSchema(schema);
  });

  const stream = async (server: TestServer, headers: Record<string, string>) => {
    const s = await openStream(server.url, headers);
    expect(s.status).toBe(200);
    streams.push(s);
    return s;
  };
  /** Each event id seen on a stream, with how often. */
  const counts = (s: Stream) => {
    const out = new Map<string, number>();
    for (const e of s.events) out.set(e.data.id, (out.get(e.data.id) ?? 0) + 1);
    return out;
  };

  test('a mention stored on one instance reaches the user’s streams on both, once each', async () => {
    const onA = await stream(a, { authorization: `Bearer ${vera.token}` });
    // the browser's way: the session cookie set at sign-in
    const login = await fetch(`${b.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'vera', password: 'vera-password' }),
    });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    expect(cookie).toMatch(/marginalia_session=/);
    const onB = await stream(b, { cookie });
    const annOnB = await stream(b, { authorization: `Bearer ${ann.token}` });

    const threads: string[] = [];
    for (const [server, n] of [
      [a, 1],
      [b, 2],
      [a, 3],
    ] as const) {
      const r = await api(server.url, ann.token).post(`/documents/${docId}/threads`, {
        exact: 'Shared',
        body: `@vera number ${n}`,
      });
      expect(r.status).toBe(201);
      threads.push(r.body.id);
    }
    // and one from a stock Yjs client connected to b
    const c = connectClient(b.wsUrl, docId, ann.token);
    clients.push(c);
    await c.synced();
    const commentId = addComment(c.doc, threads[0]!, {
      authorId: ann.id,
      authorName: 'Ann Archer',
      body: '@vera from Yjs',
      mentions: [vera.id],
    });

    for (const s of [onA, onB]) {
      for (const t of threads) await s.next((e) => e.data.threadId === t && e.data.commentId !== commentId);
      await s.next((e) => e.data.commentId === commentId);
    }
    const stored = (await api(a.url, vera.token).get('/notifications')).body.items as { id: string }[];
    expect(stored).toHaveLength(4);
    // once each: wait for a later notification to pass through, then count
    const last = await api(b.url, ann.token).post(`/documents/${docId}/threads`, {
      exact: 'second paragraph',
      body: '@vera last',
    });
    for (const s of [onA, onB]) await s.next((e) => e.data.threadId === last.body.id);
    for (const s of [onA, onB]) {
      const seen = counts(s);
      expect(seen.size).toBe(5);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      for (const n of stored) expect(seen.get(n.id)).toBe(1);
    }
    expect(annOnB.events).toEqual([]);
    await waitFor(async () => (await api(b.url, vera.token).get('/notifications')).body.unread === 5);
  });
});
