/**
 * A server-side change (REST) is applied to the server's copy of the document before it is stored. If storing it
 * fails, no client may ever have been sent it: the REST call gets 503, every client is closed with 1011 and
 * reconnects to a copy loaded from storage, and the document carries on without the change. While it is being
 * stored, nothing is answered from the copy. The failures are real ones of the real databases: a trigger that
 * refuses the log insert, and (PostgreSQL) a table lock that holds the insert while a client joins.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import pg from 'pg';
import { join } from 'node:path';
import { api, createDocument, postgresServerSuite, startServer, type TestServer } from '../support/server.js';
import { rawClient, type RawClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { POSTGRES_URL, describeIfService, postgresReachable } from '../support/services.js';

const ARTICLE = 'The first paragraph of the article.\n\nThe second paragraph, which gets a thread.';
const THREAD = { exact: 'second paragraph', body: 'A thread that must never be seen' };
const threadCount = (c: RawClient) => c.doc.getMap('threads').size;

/** What the tests need of a database: a way to make the log refuse inserts for one document, and to stop that. */
interface Saboteur {
  refuse(docId: string): Promise<void>;
  allow(): Promise<void>;
}

/** The shared story: the failed change reaches no one, the document reloads without it and takes writes again. */
async function failedChangeIsNeverSeen(server: TestServer, saboteur: Saboteur): Promise<void> {
  const docId = await createDocument(server.url, server.adminToken, ARTICLE);
  const a = rawClient(server.wsUrl, docId, server.adminToken);
  await a.synced;
  await saboteur.refuse(docId);
  const res = await api(server.url, server.adminToken).post(`/documents/${docId}/threads`, THREAD);
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('1');
  expect(res.body.error).toMatch(/could not be stored/);
  await a.until(() => !a.isOpen(), 10_000, 'the server to close the connection');
  expect((await a.closed).code).toBe(1011);
  expect(threadCount(a)).toBe(0);
  await saboteur.allow();
  // Reloaded from storage: neither a new client nor the REST listing has the thread.
  const b = rawClient(server.wsUrl, docId, server.adminToken);
  await b.synced;
  expect(threadCount(b)).toBe(0);
  expect((await api(server.url, server.adminToken).get(`/documents/${docId}/threads`)).body).toEqual([]);
  // And it takes writes again, stored for good.
  const ok = await api(server.url, server.adminToken).post(`/documents/${docId}/threads`, { ...THREAD, body: 'kept' });
  expect(ok.status).toBe(201);
  await b.until(() => threadCount(b) === 1, 10_000, 'the kept thread');
  await b.close();
  await server.restart();
  const c = rawClient(server.wsUrl, docId, server.adminToken);
  await c.synced;
  expect(threadCount(c)).toBe(1);
  expect(c.doc.getMap('threads').toJSON()[ok.body.id]).toBeDefined();
  await c.close();
}

describe('a server-side change whose store fails (SQLite)', () => {
  let server: TestServer;
  let db: Database.Database;
  beforeAll(async () => {
    server = await startServer();
    db = new Database(join(server.dataDir, 'marginalia.db'));
  });
  afterAll(async () => {
    db?.close();
    await server?.dispose();
  });

  test('is sent to no client; the document reloads without it and carries on', async () => {
    await failedChangeIsNeverSeen(server, {
      async refuse(docId) {
        db.exec(
          `CREATE TRIGGER refuse_log BEFORE INSERT ON updates WHEN NEW.doc_id = '${docId}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
        );
      },
      async allow() {
        db.exec('DROP TRIGGER refuse_log');
      },
    });
  });
});

const pgAvailable = await postgresReachable();

describeIfService('postgresql', pgAvailable)('a server-side change whose store fails (PostgreSQL)', () => {
  const suite = postgresServerSuite('storefail');
  const { schema } = suite;
  /** Makes the log refuse inserts for `docId` (a trigger named `name`), on `client`'s connection. */
  const refuseLog = async (client: pg.Client, name: string, docId: string) => {
    await client.query(
      `CREATE FUNCTION ${schema}.${name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql`,
    );
    await client.query(
      `CREATE TRIGGER ${name} BEFORE INSERT ON ${schema}.updates FOR EACH ROW WHEN (NEW.doc_id = '${docId}') EXECUTE FUNCTION ${schema}.${name}()`,
    );
  };
  const allowLog = async (client: pg.Client, name: string) => {
    await client.query(`DROP TRIGGER IF EXISTS ${name} ON ${schema}.updates`);
    await client.query(`DROP FUNCTION IF EXISTS ${schema}.${name}()`);
  };
  /** A connection holding a lock that conflicts with INSERT on the log, in a transaction kept open. */
  const holdLog = async (): Promise<pg.Client> => {
    const holder = new pg.Client({ connectionString: POSTGRES_URL });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${schema}.updates IN SHARE ROW EXCLUSIVE MODE`);
    return holder;
  };
  /** Waits until the server's log insert has been waiting for the lock longer than `ms`, as PostgreSQL reports it. */
  const serverWaitsOnLog = (ms = 0) =>
    waitFor(
      async () =>
        (
          await suite.sql.query(
            `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE NOT l.granted AND l.relation = '${schema}.updates'::regclass AND now() - a.query_start > interval '${ms} milliseconds'`,
          )
        ).rows[0].n > 0,
      { message: `the server to have waited for the lock over ${ms} ms` },
    );

  test('is sent to no client; the document reloads without it and carries on', async () => {
    await failedChangeIsNeverSeen(suite.server, {
      refuse: (docId) => refuseLog(suite.sql, 'refuse_log', docId),
      allow: () => allowLog(suite.sql, 'refuse_log'),
    });
  });

  test('a write held up by the database is logged as slow, and the change is stored once it goes through', async () => {
    const docId = await createDocument(suite.server.url, suite.server.adminToken, ARTICLE);
    const holder = await holdLog();
    let posted: ReturnType<ReturnType<typeof api>['post']> | undefined;
    try {
      posted = api(suite.server.url, suite.server.adminToken).post(`/documents/${docId}/threads`, {
        ...THREAD,
        body: 'held, then stored',
      });
      // Held until the server's insert has been waiting longer than the slow-write threshold (100 ms).
      await serverWaitsOnLog(150);
    } finally {
      await holder.query('COMMIT').catch(() => {});
      await holder.end();
    }
    expect((await posted!).status).toBe(201);
    await waitFor(() => /slow storage write/.test(suite.server.output()), { message: 'the slow write to be logged' });
    expect(
      suite.server
        .output()
        .split('\n')
        .some((l) => l.includes('slow storage write') && l.includes(docId)),
    ).toBe(true);
    const c = rawClient(suite.server.wsUrl, docId, suite.server.adminToken);
    await c.synced;
    expect(threadCount(c)).toBe(1);
    await c.close();
  });

  test('a client that joins while the change is being stored is not answered until it is: then closed when it fails', async () => {
    const docId = await createDocument(suite.server.url, suite.server.adminToken, ARTICLE);
    const a = rawClient(suite.server.wsUrl, docId, suite.server.adminToken);
    await a.synced;
    // Hold the server's next log insert.
    const holder = await holdLog();
    try {
      const posted = api(suite.server.url, suite.server.adminToken).post(`/documents/${docId}/threads`, THREAD);
      await serverWaitsOnLog();
      // The thread is in the server's copy now, not stored. A client joins and asks for the state (sync step 1,
      // sent on open), then asks for presence: the presence answer comes back only after the server has taken
      // the sync step 1, whose answer (were it sent) would be in the same turn, ahead of the failure below.
      const b = rawClient(suite.server.wsUrl, docId, suite.server.adminToken);
      let presence = 0;
      b.ws.on('message', (data: Buffer) => void (data[0] === 1 && presence++));
      await waitFor(() => b.isOpen(), { message: 'the joiner to connect' });
      b.send(Uint8Array.of(3));
      await waitFor(() => presence > 0, { message: 'the presence answer' });
      expect(b.step2s()).toBe(0);
      // The insert now fails: a trigger created in the lock's transaction refuses it once the lock is gone.
      await refuseLog(holder, 'refuse_held', docId);
      await holder.query('COMMIT');
      expect((await posted).status).toBe(503);
      await Promise.all([a, b].map((c) => c.until(() => !c.isOpen(), 10_000, 'the server to close the connection')));
      const [closedA, closedB] = await Promise.all([a.closed, b.closed]);
      expect([closedA.code, closedB.code]).toEqual([1011, 1011]);
      expect(b.step2s()).toBe(0);
      expect([threadCount(a), threadCount(b)]).toEqual([0, 0]);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await allowLog(holder, 'refuse_held');
      await holder.end();
    }
    // Reloaded without it.
    const c = rawClient(suite.server.wsUrl, docId, suite.server.adminToken);
    await c.synced;
    expect(threadCount(c)).toBe(0);
    await c.close();
  });
});
