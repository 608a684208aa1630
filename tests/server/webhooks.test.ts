/**
 * Webhooks (docs/API.md): an owner subscribes a URL; each event is posted to a real local receiver, signed per the
 * Standard Webhooks specification (checked here with our own HMAC, not the server's code), retried with backoff
 * when the receiver fails, kept across a crash; internal addresses are refused unless allowed.
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as Y from 'yjs';
import {
  WebhookSender,
  checkTarget,
  createWebhook,
  isInternalAddress,
  postWebhook,
} from '@marginalia/server/notify/webhooks.js';
import { openPostgresStorage } from '@marginalia/server/storage/postgres.js';
import { documentRecord } from '../support/records.js';
import { POSTGRES_URL, describeIfService, dropSchema, postgresReachable, uniqueSchema } from '../support/services.js';
import { startServer, createDocument, addMember, api, type TestServer, type Member } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
}

/** A local HTTP receiver; `fail(n)` makes it answer 500 to the next n requests. */
async function receiver(port = 0) {
  const received: Received[] = [];
  let failures = 0;
  let answered500 = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        answered500++;
        res.writeHead(500).end('down');
        return;
      }
      received.push({ headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    port: (server.address() as AddressInfo).port,
    received,
    fail: (n: number) => (failures = n),
    answered500: () => answered500,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Standard Webhooks verification, written from the specification. */
function verify(secret: string, r: Received): boolean {
  const id = r.headers['webhook-id'] as string;
  const timestamp = r.headers['webhook-timestamp'] as string;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${r.body}`).digest();
  const given = String(r.headers['webhook-signature'])
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  return fresh && given.some((g) => g.length === expected.length && timingSafeEqual(g, expected));
}

describe('internal addresses', () => {
  test('private, loopback, link-local, unspecified and mapped addresses are internal; public ones are not', () => {
    for (const ip of [
      '10.1.2.3',
      '127.0.0.1',
      '172.16.0.1',
      '172.31.255.1',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
    ])
      expect([ip, isInternalAddress(ip)]).toEqual([ip, true]);
    for (const ip of ['::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '100.64.0.1'])
      expect([ip, isInternalAddress(ip)]).toEqual([ip, true]);
    for (const ip of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111'])
      expect([ip, isInternalAddress(ip)]).toEqual([ip, false]);
  });

  test('a host name is resolved before it is judged', async () => {
    await expect(checkTarget('http://localhost:9/x', false)).rejects.toThrow(/internal address/);
    await expect(checkTarget('http://[::1]/x', false)).rejects.toThrow(/internal address/);
    await expect(checkTarget('ftp://example.org/x', false)).rejects.toThrow(/http or https/);
    await expect(checkTarget('http://localhost:9/x', true)).resolves.toBeInstanceOf(URL);
  });
});

describe('a delivery connects only to an address judged when its socket resolves the host', () => {
  test('a name that resolves to loopback when the socket connects reaches nothing', async () => {
    const rx = await receiver();
    try {
      const byName = new URL(`http://localhost:${rx.port}/hook`);
      await expect(postWebhook(byName, {}, '{"a":1}', { allowPrivate: false })).rejects.toThrow(/internal address/);
      expect(rx.received).toHaveLength(0);
      // The same request with the flag set arrives (the refusal above was the guard, not the receiver).
      expect(await postWebhook(new URL(rx.url), {}, '{"a":1}', { allowPrivate: true })).toBe(204);
      expect(rx.received.map((r) => r.json)).toEqual([{ a: 1 }]);
    } finally {
      await rx.close();
    }
  });
});

describe('webhooks', () => {
  let server: TestServer;
  let docId: string;
  let ann: Member;
  let rx: Awaited<ReturnType<typeof receiver>>;
  let hook: { id: string; secret: string };

  beforeAll(async () => {
    server = await startServer({
      env: {
        MARGINALIA_PROJECTION_DELAY_MS: '0',
        MARGINALIA_WEBHOOK_ALLOW_PRIVATE: '1',
        MARGINALIA_WEBHOOK_RETRY_BASE_MS: '50',
        MARGINALIA_OUTBOX_POLL_MS: '50',
      },
    });
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    ann = await addMember(server, docId, 'ann', 'Ann Archer', 'commenter');
    rx = await receiver();
  });
  afterAll(async () => {
    await rx?.close();
    await server.dispose();
  });

  test('only owners manage hooks; url and events are checked', async () => {
    const owner = api(server.url, server.adminToken);
    expect(
      (
        await api(server.url, ann.token).post(`/documents/${docId}/webhooks`, {
          url: rx.url,
          events: ['thread.created'],
        })
      ).status,
    ).toBe(403);
    expect(
      (await owner.post(`/documents/${docId}/webhooks`, { url: rx.url, events: ['thread.exploded'] })).status,
    ).toBe(400);
    expect(
      (await owner.post(`/documents/${docId}/webhooks`, { url: 'file:///etc/passwd', events: ['thread.created'] }))
        .status,
    ).toBe(422);
    expect((await api(server.url, ann.token).get(`/documents/${docId}/webhooks`)).status).toBe(403);
  });

  test('each event reaches the receiver once, signed, with type, timestamp, document, thread, comment and actor', async () => {
    const owner = api(server.url, server.adminToken);
    const created = await owner.post(`/documents/${docId}/webhooks`, {
      url: rx.url,
      events: [
        'thread.created',
        'comment.created',
        'comment.edited',
        'comment.deleted',
        'thread.resolved',
        'thread.reopened',
      ],
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual(
      expect.objectContaining({ id: expect.any(String), secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/=]+$/) }),
    );
    hook = created.body;
    const list = await owner.get(`/documents/${docId}/webhooks`);
    expect(list.body).toEqual([{ id: hook.id, url: rx.url, events: expect.any(Array), createdAt: expect.any(Number) }]);

    const a = api(server.url, ann.token);
    const t = await a.post(`/documents/${docId}/threads`, { exact: 'new policy', body: 'Which one?' });
    await waitFor(() => rx.received.length >= 1);
    const reply = await a.post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: 'The budget one' });
    await waitFor(() => rx.received.length >= 2);
    await a.patch(`/documents/${docId}/threads/${t.body.id}/comments/${reply.body.id}`, { body: 'The tax one' });
    await waitFor(() => rx.received.length >= 3);
    await a.delete(`/documents/${docId}/threads/${t.body.id}/comments/${reply.body.id}`);
    await waitFor(() => rx.received.length >= 4);
    await a.patch(`/documents/${docId}/threads/${t.body.id}`, { status: 'resolved' });
    await waitFor(() => rx.received.length >= 5);
    await owner.patch(`/documents/${docId}/threads/${t.body.id}`, { status: 'open' });
    await waitFor(() => rx.received.length >= 6);

    expect(rx.received.map((r) => r.json.type)).toEqual([
      'thread.created',
      'comment.created',
      'comment.edited',
      'comment.deleted',
      'thread.resolved',
      'thread.reopened',
    ]);
    for (const r of rx.received) {
      expect(verify(hook.secret, r)).toBe(true);
      expect(r.headers['webhook-id']).toMatch(/^msg_/);
      expect(r.headers['content-type']).toBe('application/json');
      expect(new Date(r.json.timestamp).toISOString()).toBe(r.json.timestamp);
      expect(r.json.data).toEqual(expect.objectContaining({ documentId: docId, threadId: t.body.id }));
    }
    expect(verify('whsec_' + Buffer.from('another key').toString('base64'), rx.received[0]!)).toBe(false);
    const [first, second, edited] = rx.received;
    expect(first!.json.data).toEqual(
      expect.objectContaining({
        commentId: t.body.commentId,
        actor: { id: ann.id, name: 'Ann Archer' },
        body: 'Which one?',
      }),
    );
    expect(second!.json.data).toEqual(expect.objectContaining({ commentId: reply.body.id, body: 'The budget one' }));
    expect(edited!.json.data).toEqual(expect.objectContaining({ commentId: reply.body.id, body: 'The tax one' }));
    expect(rx.received[4]!.json.data.actor).toEqual({ id: ann.id, name: 'Ann Archer' });
    // reopened by the owner over REST: the owner is the actor
    expect(rx.received[5]!.json.data.actor.id).toBe(
      (await api(server.url, server.adminToken).get('/auth/me')).body.user.id,
    );
    expect(new Set(rx.received.map((r) => r.headers['webhook-id'])).size).toBe(6);

    const deliveries = await owner.get(`/documents/${docId}/webhooks/${hook.id}/deliveries`);
    expect(deliveries.body).toHaveLength(6);
    for (const d of deliveries.body)
      expect(d).toEqual(expect.objectContaining({ status: 'delivered', attempts: 1, responseStatus: 204 }));
  });

  test('a receiver that fails is retried with the same message id until it accepts', async () => {
    const before = rx.received.length;
    rx.fail(3);
    const t = await api(server.url, ann.token).post(`/documents/${docId}/threads`, {
      exact: 'Critics',
      body: 'Retry me',
    });
    await waitFor(() => rx.received.length > before, { message: 'the delivery after three failures' });
    expect(rx.answered500()).toBe(3);
    const got = rx.received.at(-1)!;
    expect(got.json.data.threadId).toBe(t.body.id);
    expect(verify(hook.secret, got)).toBe(true);
    const deliveries = (
      await api(server.url, server.adminToken).get(`/documents/${docId}/webhooks/${hook.id}/deliveries`)
    ).body;
    const d = deliveries.find((x: { id: string }) => x.id === got.headers['webhook-id']);
    expect(d).toEqual(
      expect.objectContaining({ status: 'delivered', attempts: 4, responseStatus: 204, event: 'thread.created' }),
    );
  });

  test('deliveries outlive a crash: queued while the receiver is down, sent after a restart', async () => {
    const owner = api(server.url, server.adminToken);
    const down = await receiver();
    const port = down.port;
    await down.close(); // nothing listens there now
    const h = await owner.post(`/documents/${docId}/webhooks`, {
      url: `http://127.0.0.1:${port}/late`,
      events: ['comment.created'],
    });
    const t = await api(server.url, ann.token).post(`/documents/${docId}/threads`, { exact: 'detail', body: 'x' });
    await api(server.url, ann.token).post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: 'late news' });
    await waitFor(async () => {
      const list = (await owner.get(`/documents/${docId}/webhooks/${h.body.id}/deliveries`)).body;
      return list.length === 1 && list[0].attempts >= 1 && list[0].status === 'pending';
    });
    await server.kill();
    const late = await receiver(port);
    try {
      await server.restart();
      await waitFor(() => late.received.length === 1, { message: 'the queued delivery after the restart' });
      expect(late.received[0]!.json).toEqual(expect.objectContaining({ type: 'comment.created' }));
      expect(verify(h.body.secret, late.received[0]!)).toBe(true);
    } finally {
      await late.close();
    }
  });

  test('a deleted hook receives nothing more', async () => {
    const owner = api(server.url, server.adminToken);
    expect((await owner.delete(`/documents/${docId}/webhooks/${hook.id}`)).status).toBe(204);
    expect((await owner.delete(`/documents/${docId}/webhooks/${hook.id}`)).status).toBe(404);
    const before = rx.received.length;
    await api(server.url, ann.token).post(`/documents/${docId}/threads`, { exact: 'lacked', body: 'gone' });
    // a second hook still listening proves the event was projected
    const other = await receiver();
    try {
      const h = await owner.post(`/documents/${docId}/webhooks`, { url: other.url, events: ['thread.created'] });
      await api(server.url, ann.token).post(`/documents/${docId}/threads`, { exact: 'said', body: 'after' });
      await waitFor(() => other.received.length === 1);
      expect(rx.received.length).toBe(before);
      await owner.delete(`/documents/${docId}/webhooks/${h.body.id}`);
    } finally {
      await other.close();
    }
  });
});

describe('webhooks without MARGINALIA_WEBHOOK_ALLOW_PRIVATE', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.dispose();
  });

  test('loopback, private and link-local targets are refused with 422 and nothing is stored', async () => {
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const owner = api(server.url, server.adminToken);
    const rx = await receiver();
    try {
      for (const url of [
        rx.url,
        'http://localhost:8080/',
        'http://10.0.0.7/h',
        'http://169.254.169.254/latest',
        'http://[::1]:80/',
      ])
        expect([
          url,
          (await owner.post(`/documents/${docId}/webhooks`, { url, events: ['thread.created'] })).status,
        ]).toEqual([url, 422]);
      expect((await owner.get(`/documents/${docId}/webhooks`)).body).toEqual([]);
    } finally {
      await rx.close();
    }
  });
});

describe('a hook made while earlier changes wait to be projected', () => {
  let server: TestServer;
  afterAll(async () => {
    await server?.stop();
  });

  test('is sent only the events of changes stored after it was made', async () => {
    // Projection a second after each stored change: the first thread is projected after the hook exists.
    server = await startServer({
      env: {
        MARGINALIA_PROJECTION_DELAY_MS: '1000',
        MARGINALIA_WEBHOOK_ALLOW_PRIVATE: '1',
        MARGINALIA_OUTBOX_POLL_MS: '50',
      },
    });
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const owner = api(server.url, server.adminToken);
    const rx = await receiver();
    try {
      const before = await owner.post(`/documents/${docId}/threads`, { exact: 'lacked', body: 'before the hook' });
      const hook = await owner.post(`/documents/${docId}/webhooks`, { url: rx.url, events: ['thread.created'] });
      expect(hook.status).toBe(201);
      const after = await owner.post(`/documents/${docId}/threads`, { exact: 'detail', body: 'after the hook' });
      await waitFor(() => rx.received.length >= 1, { message: 'the delivery of the thread made after the hook' });
      // One projection covered both threads, and its deliveries were queued together: this is all of them.
      const queued = (await owner.get(`/documents/${docId}/webhooks/${hook.body.id}/deliveries`)).body as unknown[];
      expect(queued).toHaveLength(1);
      const threads = rx.received.map((r) => (r.json as { data: { threadId: string } }).data.threadId);
      expect(threads).toEqual([after.body.id]);
      expect(before.body.id).not.toEqual(after.body.id);
    } finally {
      await rx.close();
    }
  });
});

describeIfService('postgresql', await postgresReachable())('webhook senders on two instances (PostgreSQL)', () => {
  const schema = uniqueSchema('hooks');
  afterAll(async () => {
    await dropSchema(schema);
  });

  test('two senders draining one outbox send every delivery exactly once', async () => {
    const storage = await openPostgresStorage({ connectionString: POSTGRES_URL, schema });
    const other = await openPostgresStorage({ connectionString: POSTGRES_URL, schema });
    const rx = await receiver();
    const senders: WebhookSender[] = [];
    try {
      await storage.createDocument({
        record: documentRecord('d1'),
        initialUpdate: Y.encodeStateAsUpdate(new Y.Doc()),
        members: [],
      });
      const hook = await createWebhook(storage.db, 'd1', 'u', rx.url, ['comment.created'], 0);
      const now = Date.now();
      const ids = Array.from({ length: 60 }, (_, i) => `msg_${i}`);
      await storage.db
        .insertInto('webhook_deliveries')
        .values(
          ids.map((id) => ({
            id,
            hook_id: hook.id,
            event: 'comment.created',
            payload: JSON.stringify({ type: 'comment.created', n: id }),
            status: 'pending',
            next_attempt_at: now,
            created_at: now,
          })),
        )
        .execute();
      for (const s of [storage, other])
        senders.push(
          new WebhookSender({ db: s.db, engine: 'postgres', allowPrivate: true, retryBaseMs: 50, pollMs: 20 }),
        );
      await Promise.all([senders[0]!.sendDue(), senders[1]!.sendDue(), senders[0]!.sendDue(), senders[1]!.sendDue()]);
      for (const s of senders) s.kick();
      await waitFor(() => rx.received.length >= ids.length, { message: 'every delivery' });
      await waitFor(async () => {
        const pending = await storage.db
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '!=', 'delivered')
          .execute();
        return pending.length === 0;
      });
      const seen = rx.received.map((r) => r.headers['webhook-id'] as string);
      expect(seen.length).toBe(ids.length);
      expect(new Set(seen)).toEqual(new Set(ids));
    } finally {
      for (const s of senders) await s.close();
      await rx.close();
      await storage.close();
      await other.close();
    }
  });
});
