import { expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import { createThread } from '@marginalia/shared';
import pg from 'pg';
import { adminAuthor, startServer, createDocument, type TestServer } from '../support/server.js';
import { connectClient, canonical, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { seededRandom, testSeed } from '../support/random.js';
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
const ARTICLE = 'Shared across instances.\n\nA second paragraph for text edits.';
const stateOf = (doc: Y.Doc) =>
  canonical({
    root: doc.get('root', Y.XmlText).toString(),
    meta: doc.getMap('meta').toJSON(),
    threads: doc.getMap('threads').toJSON(),
  });

describeIfService('postgresql and redis', available)('two instances on PostgreSQL + Redis', () => {
  const schema = uniqueSchema('scale');
  const prefix = `test:${schema}:`;
  let redisProxy: TcpProxy;
  let pgProxy: TcpProxy;
  let a: TestServer;
  let b: TestServer;
  const clients: TestClient[] = [];
  const client = (server: TestServer, docId: string, doc?: Y.Doc) => {
    const c = connectClient(server.wsUrl, docId, server.adminToken, doc ? { doc } : {});
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const redis = new URL(REDIS_URL);
    redisProxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
    pgProxy = await startTcpProxy('127.0.0.1', Number(new URL(POSTGRES_URL).port || 5432));
    const viaProxy = new URL(POSTGRES_URL);
    viaProxy.port = String(pgProxy.port);
    const env = {
      DATABASE_URL: viaProxy.toString(),
      MARGINALIA_PG_SCHEMA: schema,
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
      REDIS_PREFIX: prefix,
      MARGINALIA_CATCHUP_INTERVAL_MS: '300',
      MARGINALIA_COMPACT_AFTER_UPDATES: '25',
    };
    a = await startServer({ env });
    b = await startServer({ env });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
    redisProxy.restore();
    pgProxy.restore();
  });
  afterAll(async () => {
    if (process.env.DEBUG_SCALE) console.log(a.output(), '\n-----\n', b.output());
    await a?.dispose();
    await b?.dispose();
    await redisProxy?.close();
    await pgProxy?.close();
    await dropSchema(schema);
  });

  test("clients on different instances converge on concurrent replies and text edits, and see each other's awareness", async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const onA = client(a, docId);
    const onB = client(b, docId);
    await Promise.all([onA.synced(), onB.synced()]);
    expect(stateOf(onA.doc)).toBe(stateOf(onB.doc));

    const seed = testSeed();
    const random = seededRandom(seed);
    const initialLength = onA.doc.get('root', Y.XmlText).length;
    let inserted = 0;
    const replies: string[] = [];
    for (let i = 0; i < 40; i++) {
      const c = random() < 0.5 ? onA : onB;
      if (random() < 0.5) {
        const t = c.doc.get('root', Y.XmlText);
        t.insert(Math.floor(random() * (t.length + 1)), `<${i}>`);
        inserted += `<${i}>`.length;
      } else {
        // a thread arrives whole, whoever writes it (here the admin, who owns the document)
        const admin = adminAuthor(a);
        const start = Math.floor(random() * 10);
        const created = createThread(c.doc, {
          start,
          end: start + 3,
          createdBy: admin.id,
          authorName: admin.name,
          body: `reply-${i}`,
        });
        replies.push(created.threadId);
      }
    }
    await waitFor(() => stateOf(onA.doc) === stateOf(onB.doc), {
      timeout: 15_000,
      message: `convergence (seed ${seed})`,
    });
    // nothing lost: every inserted character and every reply is there, on both
    expect({ seed, length: onA.doc.get('root', Y.XmlText).length }).toEqual({ seed, length: initialLength + inserted });
    expect(replies.filter((r) => !onB.doc.getMap('threads').has(r))).toEqual([]);

    onA.provider.awareness.setLocalStateField('user', { name: 'Ann on A' });
    await waitFor(() => [...onB.provider.awareness.getStates().values()].some((s) => s.user?.name === 'Ann on A'), {
      message: 'awareness from A seen on B',
    });
    onA.destroy();
    await waitFor(() => ![...onB.provider.awareness.getStates().values()].some((s) => s.user?.name === 'Ann on A'), {
      message: 'awareness cleared on B after A left',
    });
  });

  test('after SIGKILL of one instance its clients move to the other and nothing accepted is lost; the restarted instance serves the full state', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const writers = [client(a, docId), client(a, docId), client(b, docId)];
    const watcher = client(b, docId);
    await Promise.all([...writers, watcher].map((c) => c.synced()));
    let n = 0;
    const written: string[] = [];
    const write = () => {
      for (const w of writers) {
        const key = `k${n++}`;
        w.doc.getMap('meta').set(key, n);
        written.push(key);
      }
    };
    for (let i = 0; i < 10; i++) write();
    await waitFor(() => watcher.doc.getMap('meta').size >= 15);
    await a.kill();
    // the load balancer now sends A's clients to B: same documents, new connections
    const moved = writers.slice(0, 2).map((w) => {
      w.provider.disconnect();
      return client(b, docId, w.doc);
    });
    for (let i = 0; i < 5; i++) write();
    await waitFor(() => written.every((k) => watcher.doc.getMap('meta').has(k)), {
      timeout: 15_000,
      message: 'every write on B',
    });
    expect(moved.length).toBe(2);
    await a.restart();
    const fresh = client(a, docId);
    await fresh.synced();
    await waitFor(() => written.every((k) => fresh.doc.getMap('meta').has(k)), {
      timeout: 10_000,
      message: 'restarted A has everything',
    });
  });

  test('Redis cut while clients edit: both instances keep serving and converge once it returns', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const onA = client(a, docId);
    const onB = client(b, docId);
    await Promise.all([onA.synced(), onB.synced()]);
    redisProxy.cut();
    onA.doc.getMap('meta').set('during-cut-a', 1);
    onB.doc.getMap('meta').set('during-cut-b', 1);
    // each instance still serves its own clients: a second client on A sees A's edit
    const alsoOnA = client(a, docId);
    await waitFor(() => alsoOnA.doc.getMap('meta').get('during-cut-a') === 1);
    redisProxy.restore();
    await waitFor(() => stateOf(onA.doc) === stateOf(onB.doc) && onA.doc.getMap('meta').has('during-cut-b'), {
      timeout: 15_000,
      message: 'convergence after Redis returns',
    });
    expect(onB.doc.getMap('meta').get('during-cut-a')).toBe(1);
  });

  test('PostgreSQL unreachable: updates are refused with a clear close reason, kept by the client and stored once it returns', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const onA = client(a, docId);
    const onB = client(b, docId);
    await Promise.all([onA.synced(), onB.synced()]);
    pgProxy.cut();
    onA.doc.getMap('meta').set('while-db-down', 'kept');
    await waitFor(() => onA.closes.some((c) => c.code === 1013 && /not stored/.test(c.reason)), {
      timeout: 15_000,
      message: 'close 1013 with a reason',
    });
    expect(onB.doc.getMap('meta').has('while-db-down')).toBe(false);
    const health = await fetch(`${a.url}/api/health`);
    expect(health.status).toBe(503);
    pgProxy.restore();
    await waitFor(() => onB.doc.getMap('meta').get('while-db-down') === 'kept', {
      timeout: 20_000,
      message: 'stored after PostgreSQL returned',
    });
  });

  test('compaction on both instances at once under writes loses nothing and leaves one snapshot', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const onA = client(a, docId);
    const onB = client(b, docId);
    await Promise.all([onA.synced(), onB.synced()]);
    const keys: string[] = [];
    for (let i = 0; i < 150; i++) {
      const c = i % 2 ? onA : onB;
      c.doc.getMap('meta').set(`c${i}`, i);
      keys.push(`c${i}`);
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => keys.every((k) => onA.doc.getMap('meta').has(k) && onB.doc.getMap('meta').has(k)), {
      timeout: 15_000,
    });
    const db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    try {
      await db.query(`SET search_path TO ${schema}`);
      // compaction runs after the batch that crossed the threshold was broadcast: wait for its snapshot
      const snaps = await waitFor(async () => {
        const r = await db.query('SELECT upto_seq FROM snapshots WHERE doc_id = $1', [docId]);
        return r.rowCount ? r : null;
      });
      expect(snaps.rowCount).toBe(1);
      const log = await db.query('SELECT count(*)::int AS n FROM updates WHERE doc_id = $1', [docId]);
      expect(log.rows[0].n).toBeLessThan(150);
    } finally {
      await db.end();
    }
    await a.restart();
    const fresh = client(a, docId);
    await fresh.synced();
    for (const k of keys) expect(fresh.doc.getMap('meta').has(k)).toBe(true);
  });
});
