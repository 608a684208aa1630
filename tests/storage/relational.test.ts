/**
 * The relational layer (Kysely, one migration set) beside the engine-tuned document log: on SQLite both share one
 * connection and neither may end up inside the other's transaction, Kysely's writes are as durable as the log's,
 * and databases made before the migration set are taken over with every row.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { openPostgresStorage } from '@marginalia/server/storage/postgres.js';
import type { Storage } from '@marginalia/server/storage/types.js';
import { LEGACY_POSTGRES, LEGACY_ROWS, LEGACY_SQLITE } from '../fixtures/legacy-schema.js';
import { POSTGRES_URL, describeIfService, dropSchema, postgresReachable, uniqueSchema } from '../support/services.js';
import { lazyfsAvailable, mountLazyfs, type Lazyfs } from '../support/lazyfs.js';
import { tempDir } from '../support/server.js';
import { documentRecord } from '../support/records.js';
import { waitFor } from '../support/wait.js';

const pgAvailable = await postgresReachable();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Lets the event loop run a few turns (for a check that something has NOT happened meanwhile). */
const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

async function sqliteFile(): Promise<string> {
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  return join(dir.path, 'm.db');
}

async function open(storage: Promise<Storage>): Promise<Storage> {
  const s = await storage;
  cleanups.push(() => s.close());
  return s;
}

/** Every row LEGACY_ROWS wrote, read through today's storage; and the log goes on where it was. */
async function expectLegacyRows(storage: Storage, withClientIds: boolean): Promise<void> {
  expect(await storage.getUserByUsername('ann')).toEqual({
    id: 'u1',
    username: 'ann',
    name: 'Ann',
    passwordHash: 'hash-a',
    isAdmin: true,
    createdAt: 11,
    // A column added since: every account taken over starts enabled.
    disabled: false,
  });
  expect(await storage.getUserById('u2')).toMatchObject({ username: 'bob', isAdmin: false, createdAt: 12 });
  expect((await storage.listDocuments()).map((d) => d.id)).toEqual(['d1', 'd2']);
  expect(await storage.getDocument('d1')).toEqual({
    id: 'd1',
    title: 'First',
    guestRole: 'viewer',
    createdBy: 'u1',
    createdAt: 100,
    updatedAt: 200,
    threadCount: 3,
    commentCount: 7,
  });
  expect(await storage.getDocument('d2')).toMatchObject({ guestRole: null, updatedAt: 150 });
  const state = await storage.log.loadState('d1');
  expect(state.snapshotSeq).toBe(2);
  expect([...state.snapshot!]).toEqual([1, 2]);
  expect(state.updates.map((u) => ({ seq: u.seq, data: [...u.data] }))).toEqual([{ seq: 3, data: [10, 11] }]);
  expect(await storage.log.lastSeq('d2')).toBe(1);
  expect(await storage.listMembers('d1')).toEqual([
    { userId: 'u1', username: 'ann', name: 'Ann', role: 'owner' },
    { userId: 'u2', username: 'bob', name: 'Bob', role: 'commenter' },
  ]);
  expect(await storage.membershipsOf('u2')).toEqual(
    new Map([
      ['d1', 'commenter'],
      ['d2', 'owner'],
    ]),
  );
  expect(await storage.listAudit('d1')).toEqual([
    { id: 1, docId: 'd1', actorId: 'u1', action: 'member.added', detail: { user: 'u2' }, at: 400 },
  ]);
  expect(await storage.getSetting('sample.created')).toBe('yes');
  if (withClientIds) expect(await storage.log.claimClientIds('d1', 'u1', [4242])).toEqual(new Map([[4242, 'u2']]));
  // The projector starts after what was stored before it existed (compaction may have folded that history away).
  const cursors = await storage.db
    .selectFrom('projection_cursors')
    .select(['doc_id', 'seq'])
    .orderBy('doc_id')
    .execute();
  expect(cursors).toEqual([
    { doc_id: 'd1', seq: 3 },
    { doc_id: 'd2', seq: 1 },
  ]);
  // The log numbers on from what is stored, and documents created now start at 1 as before.
  expect(await storage.log.appendUpdates('d1', [new Uint8Array([0, 0])])).toEqual([4]);
  await storage.createDocument({ record: documentRecord('d3'), initialUpdate: new Uint8Array([0, 0]), members: [] });
  expect(await storage.log.appendUpdates('d3', [new Uint8Array([0, 0])])).toEqual([2]);
  await storage.audit({ docId: 'd1', actorId: null, action: 'after', detail: {} });
  expect((await storage.listAudit('d1')).map((a) => a.id)).toEqual([2, 1]);
}

describe('SQLite: the log and the relational layer on one connection', () => {
  test('a log append made while a relational transaction is open waits for it, and survives its rollback', async () => {
    const file = await sqliteFile();
    let storage = await open(openSqliteStorage(file));
    await storage.createDocument({ record: documentRecord('d1'), initialUpdate: new Uint8Array([0, 0]), members: [] });
    let inside!: () => void;
    const insideTransaction = new Promise<void>((r) => (inside = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const transaction = storage.db.transaction().execute(async (trx) => {
      await trx.insertInto('settings').values({ key: 'k', value: 'v' }).execute();
      inside();
      await held;
      throw new Error('rolled back on purpose');
    });
    await insideTransaction;
    let appended = false;
    const append = storage.log.appendUpdates('d1', [new Uint8Array([0, 0])]).then((seqs) => {
      appended = true;
      return seqs;
    });
    const read = storage.log.lastSeq('d1');
    await turns();
    expect(appended).toBe(false);
    release();
    await expect(transaction).rejects.toThrow('rolled back on purpose');
    expect(await append).toEqual([2]);
    expect(await read).toBe(2);
    // What a second connection finds on the disk: the append, not the rolled-back setting.
    await storage.close();
    cleanups.pop();
    const other = new Database(file, { readonly: true });
    try {
      expect(other.prepare("SELECT seq FROM updates WHERE doc_id = 'd1' ORDER BY seq").pluck().all()).toEqual([1, 2]);
      expect(other.prepare('SELECT count(*) FROM settings').pluck().get()).toBe(0);
    } finally {
      other.close();
    }
    storage = await open(openSqliteStorage(file));
    expect(await storage.log.lastSeq('d1')).toBe(2);
  });

  for (const version of [1, 2])
    test(`a database made by the old storage (user_version ${version}) is taken over with every row`, async () => {
      const file = await sqliteFile();
      const legacy = new Database(file);
      legacy.pragma('journal_mode = WAL');
      for (let v = 0; v < version; v++) legacy.exec(LEGACY_SQLITE[v]!);
      for (const row of LEGACY_ROWS('sqlite', version >= 2)) legacy.exec(row);
      legacy.pragma(`user_version = ${version}`);
      legacy.close();
      await expectLegacyRows(await open(openSqliteStorage(file)), version >= 2);
    });
});

describeIfService('fuse (lazyfs)', lazyfsAvailable())('SQLite: relational writes are durable', () => {
  test('a relational write resolves only once the WAL is flushed, as a log write does', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const backing = join(dir.path, 'disk');
    const mountpoint = join(dir.path, 'mnt');
    mkdirSync(backing);
    mkdirSync(mountpoint);
    const fs: Lazyfs = await mountLazyfs(backing, mountpoint);
    cleanups.push(() => fs.unmount());
    const storage = await open(openSqliteStorage(join(mountpoint, 'm.db')));
    fs.setFsyncDelay(1500);
    for (const write of [
      () => storage.setSetting('k', 'v'),
      () =>
        storage.createUser({ id: 'u1', username: 'ann', name: 'Ann', passwordHash: 'h', isAdmin: false, createdAt: 1 }),
    ]) {
      let done = false;
      const written = write().then(() => (done = true));
      await waitFor(() => fs.fsyncsInFlight() > 0, { message: 'the flush to start' });
      expect(done).toBe(false);
      fs.setFsyncDelay(0);
      await written;
      fs.setFsyncDelay(1500);
    }
    fs.setFsyncDelay(0);
  });
});

describeIfService('postgresql', pgAvailable)('PostgreSQL: one migration set', () => {
  const schemaFor = () => {
    const schema = uniqueSchema('rel');
    cleanups.push(() => dropSchema(schema));
    return schema;
  };

  test('a schema made by the old storage is taken over with every row', async () => {
    const schema = schemaFor();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`SET search_path = ${schema}`);
      await client.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      for (const [i, ddl] of LEGACY_POSTGRES.entries()) {
        await client.query(ddl);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 1)', [i + 1]);
      }
      for (const row of LEGACY_ROWS('postgres', true)) await client.query(row);
    } finally {
      await client.end();
    }
    await expectLegacyRows(await open(openPostgresStorage({ connectionString: POSTGRES_URL, schema })), true);
  });

  test('two instances starting at once on a new database migrate it once, and both work', async () => {
    const schema = schemaFor();
    const [a, b] = await Promise.all([
      open(openPostgresStorage({ connectionString: POSTGRES_URL, schema })),
      open(openPostgresStorage({ connectionString: POSTGRES_URL, schema })),
    ]);
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const applied = await client.query(`SELECT name FROM ${schema}.kysely_migration ORDER BY name`);
      expect(applied.rows.map((r: { name: string }) => r.name)).toEqual([
        '0001_initial',
        '0002_projection_cursors',
        '0003_access',
        '0004_notifications',
        '0005_search',
        '0006_versions',
        '0007_search_speed',
        '0008_search_epoch',
        '0009_version_read_copy',
        '0010_webhook_after_seq',
        '0011_snapshot_lead',
      ]);
    } finally {
      await client.end();
    }
    await a.createDocument({ record: documentRecord('d1'), initialUpdate: new Uint8Array([0, 0]), members: [] });
    expect(await b.log.appendUpdates('d1', [new Uint8Array([0, 0])])).toEqual([2]);
    expect(await a.log.appendUpdates('d1', [new Uint8Array([0, 0])])).toEqual([3]);
  });
});
