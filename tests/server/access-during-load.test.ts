/**
 * An access change made while a member's socket waits for its document to load: the socket passed its access check
 * at the upgrade, but its connection (which the change would close) is made only once the document is loaded. The
 * load is held by a lock on the log's table (PostgreSQL), the change is made meanwhile, and the socket must end as
 * an open one would have: closed 4000 (role changed: reconnect) or 4403 (access removed), never connected under the
 * access it no longer has.
 */
import { expect, test } from '@jest/globals';
import pg from 'pg';
import { addMember, api, createDocument, postgresServerSuite } from '../support/server.js';
import { rawClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { POSTGRES_URL, describeIfService, postgresReachable } from '../support/services.js';

const pgAvailable = await postgresReachable();

describeIfService('postgresql', pgAvailable)('an access change while the document loads (PostgreSQL)', () => {
  const suite = postgresServerSuite('accessload');

  test('a member whose role changed, or who was removed, meanwhile is closed 4000 or 4403, not connected', async () => {
    const { schema, server, sql } = suite;
    const docId = await createDocument(server.url, server.adminToken, 'A document that loads slowly.');
    const promoted = await addMember(server, docId, 'load-promoted', 'Promoted', 'viewer');
    const removed = await addMember(server, docId, 'load-removed', 'Removed', 'commenter');
    const stays = await addMember(server, docId, 'load-stays', 'Stays', 'commenter');
    // Hold the document's load: reading its log waits for this lock.
    const holder = new pg.Client({ connectionString: POSTGRES_URL });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${schema}.updates IN ACCESS EXCLUSIVE MODE`);
    const sockets = [promoted, removed, stays].map((m) => rawClient(server.wsUrl, docId, m.token));
    try {
      // All three upgrades passed their access check and wait for the load.
      await waitFor(
        async () =>
          (
            await sql.query(
              `SELECT count(*)::int AS n FROM pg_locks l WHERE NOT l.granted AND l.relation = '${schema}.updates'::regclass`,
            )
          ).rows[0].n > 0,
        { message: 'the load to wait for the lock' },
      );
      const owner = api(server.url, server.adminToken);
      expect((await owner.put(`/documents/${docId}/members/load-promoted`, { role: 'commenter' })).status).toBe(200);
      expect((await owner.delete(`/documents/${docId}/members/load-removed`)).status).toBe(204);
    } finally {
      await holder.query('COMMIT');
      await holder.end();
    }
    const [promotedSocket, removedSocket, staysSocket] = sockets;
    expect((await promotedSocket!.closed).code).toBe(4000);
    expect((await removedSocket!.closed).code).toBe(4403);
    await staysSocket!.synced;
    expect(staysSocket!.isOpen()).toBe(true);
    await staysSocket!.close();
  });
});
