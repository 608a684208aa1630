import { describe, expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import { createThread } from '@marginalia/shared';
import { connect as tcpConnect } from 'node:net';
import { adminAuthor, startServer, createDocument, type TestServer } from '../support/server.js';
import { connectClient, canonical, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { seededRandom, testSeed } from '../support/random.js';

const ARTICLE = 'First paragraph of the test article.\n\nSecond paragraph, a little longer than the first one.';

/** What the tests compare: the shared types a client can change, in canonical form. */
const stateOf = (doc: Y.Doc) =>
  canonical({
    root: doc.get('root', Y.XmlText).toString(),
    meta: doc.getMap('meta').toJSON(),
    threads: doc.getMap('threads').toJSON(),
  });

describe('sync through the server', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  const client = (docId: string, token = server.adminToken) => {
    const c = connectClient(server.wsUrl, docId, token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startServer({ env: { MARGINALIA_UNLOAD_GRACE_MS: '200' } });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(async () => {
    await server.dispose();
  });

  test('two clients receive the stored article and converge on concurrent map and text edits', async () => {
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const a = client(docId);
    const b = client(docId);
    await Promise.all([a.synced(), b.synced()]);
    expect(a.doc.get('root', Y.XmlText).length).toBeGreaterThan(0);
    expect(stateOf(a.doc)).toBe(stateOf(b.doc));

    // concurrent: both write before either hears from the other
    a.doc.getMap('meta').set('source', 'from A');
    b.doc.getMap('meta').set('author', 'from B');
    // threads arrive whole, from every writer (the admin owns the document)
    const admin = adminAuthor(server);
    createThread(a.doc, { start: 0, end: 5, createdBy: admin.id, authorName: admin.name, body: 'from A' });
    createThread(b.doc, { start: 6, end: 15, createdBy: admin.id, authorName: admin.name, body: 'from B' });
    a.doc.get('root', Y.XmlText).insert(0, 'A');
    b.doc.get('root', Y.XmlText).insert(0, 'B');

    await waitFor(() => stateOf(a.doc) === stateOf(b.doc) && a.doc.getMap('threads').size === 2, {
      message: () => `convergence:\n${stateOf(a.doc)}\n${stateOf(b.doc)}`,
    });
    expect(a.doc.getMap('meta').get('source')).toBe('from A');
    expect(b.doc.getMap('meta').get('author')).toBe('from B');
  });

  test('20 clients with seeded random concurrent edits converge, and a new client gets the same state', async () => {
    const seed = testSeed();
    const random = seededRandom(seed);
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const many = Array.from({ length: 20 }, () => client(docId));
    await Promise.all(many.map((c) => c.synced(20_000)));
    let expectedThreads = 0;
    for (let round = 0; round < 5; round++) {
      for (const [i, c] of many.entries()) {
        const r = random();
        if (r < 0.4) {
          const text = c.doc.get('root', Y.XmlText);
          text.insert(Math.floor(random() * (text.length + 1)), `${i}.${round}`);
        } else if (r < 0.7) {
          const admin = adminAuthor(server);
          createThread(c.doc, {
            start: 0,
            end: 5,
            createdBy: admin.id,
            authorName: admin.name,
            body: `t-${i}-${round}`,
          });
          expectedThreads++;
        } else {
          c.doc.getMap('meta').set(`k${Math.floor(random() * 5)}`, `${i}:${round}`);
        }
      }
    }
    try {
      await waitFor(() => many.every((c) => stateOf(c.doc) === stateOf(many[0]!.doc)), {
        timeout: 20_000,
        message: 'all 20 replicas equal',
      });
    } catch (e) {
      throw new Error(`seed ${seed}: ${(e as Error).message}`, { cause: e });
    }
    expect(many[0]!.doc.getMap('threads').size).toBe(expectedThreads);
    const fresh = client(docId);
    await fresh.synced();
    expect(stateOf(fresh.doc)).toBe(stateOf(many[0]!.doc));
  });

  test('after a graceful restart clients reconnect, edits made while it was down arrive, nothing is lost', async () => {
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const a = client(docId);
    const b = client(docId);
    await Promise.all([a.synced(), b.synced()]);
    a.doc.getMap('meta').set('before', 'stored');
    await waitFor(() => b.doc.getMap('meta').get('before') === 'stored');

    await server.stop();
    await waitFor(() => a.closes.some((c) => c.code === 1001), { message: 'close 1001 on shutdown' });
    a.doc.getMap('meta').set('during', 'offline edit');
    await server.restart();
    await waitFor(() => b.doc.getMap('meta').get('during') === 'offline edit', {
      timeout: 15_000,
      message: 'offline edit after reconnect',
    });
    expect(stateOf(a.doc)).toBe(stateOf(b.doc));

    const fresh = client(docId);
    await fresh.synced();
    expect(fresh.doc.getMap('meta').get('before')).toBe('stored');
    expect(fresh.doc.getMap('meta').get('during')).toBe('offline edit');
    expect(stateOf(fresh.doc)).toBe(stateOf(a.doc));
  });

  test('an update another client received survives SIGKILL of the server', async () => {
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const a = client(docId);
    const b = client(docId);
    await Promise.all([a.synced(), b.synced()]);
    for (let i = 0; i < 50; i++) a.doc.getMap('meta').set(`k${i}`, i);
    await waitFor(() => b.doc.getMap('meta').get('k49') === 49);
    await server.kill();
    await server.restart();
    const fresh = client(docId);
    await fresh.synced();
    for (let i = 0; i < 50; i++) expect(fresh.doc.getMap('meta').get(`k${i}`)).toBe(i);
  });

  test('a document unloads after the grace period once its last client leaves, and reloads intact', async () => {
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const a = client(docId);
    await a.synced();
    a.doc.getMap('meta').set('x', 1);
    const health = async () => (await (await fetch(`${server.url}/api/health`)).json()) as { documentsLoaded: number };
    await waitFor(async () => (await health()).documentsLoaded >= 1);
    a.destroy();
    await waitFor(async () => (await health()).documentsLoaded === 0, { message: 'documents unloaded' });
    const b = client(docId);
    await b.synced();
    expect(b.doc.getMap('meta').get('x')).toBe(1);
  });

  test('clients that hang up while their upgrade is being decided leave nothing loaded', async () => {
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const { port } = new URL(server.url);
    const health = async () => (await (await fetch(`${server.url}/api/health`)).json()) as { documentsLoaded: number };
    await waitFor(async () => (await health()).documentsLoaded === 0, { message: 'nothing loaded before' });
    // The request is sent and the connection half-closed at once: the server is still checking the token and
    // loading the document when it goes to complete the upgrade.
    const closed = Array.from({ length: 10 }, (_, i) => {
      const socket = tcpConnect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      socket.resume();
      socket.write(
        `GET /collab/${docId}?token=${server.adminToken} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from(`key-${String(i).padStart(4, '0')}-padding`).toString('base64')}\r\n\r\n`,
      );
      socket.end();
      return new Promise((resolve) => socket.on('close', resolve));
    });
    await Promise.all(closed);
    await waitFor(async () => (await health()).documentsLoaded === 0, { message: 'documents unloaded' });
    // And the document still loads for a client that stays.
    const a = client(docId);
    await a.synced();
    expect((await health()).documentsLoaded).toBe(1);
  });
});
