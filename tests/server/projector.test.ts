/**
 * The log projector (server/src/projector/projector.ts): each stored entry's effects exactly once, in sequence
 * order, with its author; across SIGKILL; with several instances on one PostgreSQL database, one projector per
 * document at a time; and compaction never deletes what it has not projected.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import * as Y from 'yjs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { openPostgresStorage } from '@marginalia/server/storage/postgres.js';
import type { Storage } from '@marginalia/server/storage/types.js';
import { Projector, type ProjectedBatch, type ProjectionConsumer } from '@marginalia/server/projector/projector.js';
import { POSTGRES_URL, describeIfService, dropSchema, postgresReachable, uniqueSchema } from '../support/services.js';
import { ROOT, api, createDocument, startServer, tempDir, type TestServer } from '../support/server.js';
import { documentRecord } from '../support/records.js';
import { seededRandom, testSeed } from '../support/random.js';
import { waitFor } from '../support/wait.js';

const pgAvailable = await postgresReachable();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sqlite = async (): Promise<{ storage: Storage; file: string }> => {
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const file = join(dir.path, 'm.db');
  const storage = await openSqliteStorage(file);
  cleanups.push(() => storage.close());
  return { storage, file };
};

const postgres = async (schema: string): Promise<Storage> => {
  const storage = await openPostgresStorage({ connectionString: POSTGRES_URL, schema });
  cleanups.push(() => storage.close());
  return storage;
};

const projectorOn = (storage: Storage, consumers: ProjectionConsumer[]) => {
  const p = new Projector({ db: storage.db, engine: storage.kind, consumers, delayMs: 0, batchSize: 5 });
  cleanups.push(() => p.close());
  return p;
};

/** A writer of one document: text updates under its own client id, claimed for `userId`. */
async function writer(storage: Storage, docId: string, userId: string) {
  const doc = new Y.Doc();
  cleanups.push(() => doc.destroy());
  await storage.log.claimClientIds(docId, userId, [doc.clientID]);
  return async (n = 1): Promise<number[]> => {
    const updates: Uint8Array[] = [];
    const capture = (u: Uint8Array) => updates.push(u);
    doc.on('update', capture);
    for (let i = 0; i < n; i++) doc.getText('t').insert(0, 'x');
    doc.off('update', capture);
    return storage.log.appendUpdates(docId, updates);
  };
}

const create = (storage: Storage, id: string) =>
  storage.createDocument({
    record: documentRecord(id),
    initialUpdate: Y.encodeStateAsUpdate(new Y.Doc()),
    members: [],
  });

/** A consumer that writes one audit row per entry (its effect) and remembers the batches it was handed. */
function recorder(name = 'record'): ProjectionConsumer & { batches: ProjectedBatch[] } {
  const batches: ProjectedBatch[] = [];
  return {
    name,
    batches,
    async prepare(batch) {
      batches.push(batch);
      return async (trx) => {
        for (const e of batch.entries)
          await trx
            .insertInto('audit')
            .values({ doc_id: batch.docId, actor_id: name, action: 'projected', detail: String(e.seq), at: 0 })
            .execute();
      };
    },
  };
}

/** The sequence numbers projected into the audit table per document, in the order they were written. */
async function projected(storage: Storage): Promise<Map<string, number[]>> {
  const rows = await storage.db
    .selectFrom('audit')
    .select(['doc_id', 'detail'])
    .where('action', '=', 'projected')
    .orderBy('id')
    .execute();
  const out = new Map<string, number[]>();
  for (const r of rows) out.set(r.doc_id!, [...(out.get(r.doc_id!) ?? []), Number(r.detail)]);
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('the log projector (SQLite)', () => {
  test('hands every entry after the creation once, in order, with the owner of its client id as author', async () => {
    const { storage } = await sqlite();
    await create(storage, 'd1');
    const ann = await writer(storage, 'd1', 'ann');
    const bob = await writer(storage, 'd1', 'bob');
    const consumer = recorder();
    const projector = projectorOn(storage, [consumer]);
    await ann(2);
    await bob(1);
    projector.wake('d1');
    await ann(9);
    projector.wake('d1');
    await waitFor(async () => (await projected(storage)).get('d1')?.length === 12, { message: 'entries 2..13' });
    await projector.catchUp();
    expect((await projected(storage)).get('d1')).toEqual(range(2, 13));
    const entries = consumer.batches.flatMap((b) => b.entries);
    expect(entries.map((e) => e.seq)).toEqual(range(2, 13));
    expect(entries.map((e) => e.authors)).toEqual([['ann'], ['ann'], ['bob'], ...range(5, 13).map(() => ['ann'])]);
    expect(Math.max(...consumer.batches.map((b) => b.entries.length))).toBeLessThanOrEqual(5);
  });

  test('documents take turns: one with many batches to project does not hold back another', async () => {
    const { storage } = await sqlite();
    await create(storage, 'busy');
    await create(storage, 'calm');
    await (
      await writer(storage, 'busy', 'ann')
    )(23); // five batches of at most 5
    await (
      await writer(storage, 'calm', 'bob')
    )(1);
    const consumer = recorder();
    const projector = projectorOn(storage, [consumer]);
    projector.wake('busy');
    projector.wake('calm');
    await waitFor(async () => (await projected(storage)).get('busy')?.length === 23, { message: 'busy projected' });
    await projector.idle();
    // The calm document's batch comes right after the busy one's first, not after all five.
    expect(consumer.batches.map((b) => b.docId)).toEqual(['busy', 'calm', 'busy', 'busy', 'busy', 'busy']);
    expect(consumer.batches.flatMap((b) => (b.docId === 'busy' ? b.entries.map((e) => e.seq) : []))).toEqual(
      range(2, 24),
    );
    expect((await projected(storage)).get('calm')).toEqual([2]);
  });

  test('a failing consumer commits nothing, for any consumer; the batch is projected once it succeeds', async () => {
    const { storage } = await sqlite();
    await create(storage, 'd1');
    const write = await writer(storage, 'd1', 'ann');
    let fail = true;
    const good = recorder('good');
    const flaky: ProjectionConsumer = {
      name: 'flaky',
      prepare: async () => async (trx) => {
        await trx.insertInto('settings').values({ key: 'flaky', value: 'x' }).execute();
        if (fail) throw new Error('consumer down');
      },
    };
    const projector = new Projector({ db: storage.db, engine: 'sqlite', consumers: [good, flaky], delayMs: 0 });
    cleanups.push(() => projector.close());
    await write(3);
    await expect(projector.step('d1')).rejects.toThrow('consumer down');
    expect(await projected(storage)).toEqual(new Map());
    expect(await storage.getSetting('flaky')).toBeNull();
    fail = false;
    expect(await projector.step('d1')).toBe('done');
    expect((await projected(storage)).get('d1')).toEqual([2, 3, 4]);
  });

  test('documents written while no projector ran are caught up at start', async () => {
    const { storage } = await sqlite();
    await create(storage, 'd1');
    await create(storage, 'd2');
    await (
      await writer(storage, 'd1', 'ann')
    )(3);
    await (
      await writer(storage, 'd2', 'bob')
    )(1);
    await projectorOn(storage, [recorder()]).catchUp();
    expect(await projected(storage)).toEqual(
      new Map([
        ['d1', [2, 3, 4]],
        ['d2', [2]],
      ]),
    );
  });
});

describe('SQLite projector under SIGKILL', () => {
  const seed = testSeed();
  const rounds = 20;

  test(`every stored entry's effects exist exactly once after kills at random moments (${rounds} rounds, seed ${seed})`, async () => {
    const random = seededRandom(seed);
    const { storage, file } = await sqlite();
    for (const id of ['p1', 'p2', 'p3']) await create(storage, id);
    await storage.close();
    const child = (mode: string, onLine: (l: string) => void) => {
      const proc = spawn(
        process.execPath,
        [join(ROOT, 'tests', 'fixtures', 'projector-worker.mjs'), file, mode, String(Math.floor(random() * 2 ** 31))],
        { stdio: ['ignore', 'pipe', 'pipe'], cwd: join(ROOT, 'tests') },
      );
      let buffer = '';
      let errors = '';
      proc.stderr.on('data', (d: Buffer) => (errors += d.toString()));
      proc.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const l of lines) onLine(l);
      });
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      return { proc, exited, errors: () => errors };
    };
    let stored = 0;
    for (let round = 0; round < rounds; round++) {
      let lines = 0;
      const target = 1 + Math.floor(random() * 60);
      const run = child('run', (l) => {
        if (l.startsWith('stored ')) lines++;
      });
      await waitFor(() => lines >= target || run.proc.exitCode !== null, {
        timeout: 30_000,
        message: () => `round ${round} (seed ${seed}) to store ${target} batches: ${run.errors()}`,
      });
      run.proc.kill('SIGKILL');
      await run.exited;
      stored += lines;
      let caughtUp = false;
      const finish = child('finish', (l) => (caughtUp ||= l === 'caught up'));
      const code = await finish.exited;
      if (code !== 0 || !caughtUp) throw new Error(`seed ${seed}, round ${round}: finish failed: ${finish.errors()}`);
      const db = new Database(file, { readonly: true });
      try {
        for (const id of ['p1', 'p2', 'p3']) {
          const seqs = db
            .prepare("SELECT detail FROM audit WHERE doc_id = ? AND action = 'projected' ORDER BY id")
            .pluck()
            .all(id)
            .map((d) => (JSON.parse(d as string) as { seq: number }).seq);
          const last = db
            .prepare(
              'SELECT max(s) FROM (SELECT max(seq) AS s FROM updates WHERE doc_id = @id UNION ALL SELECT upto_seq FROM snapshots WHERE doc_id = @id)',
            )
            .pluck()
            .get({ id }) as number;
          const authors = db
            .prepare("SELECT DISTINCT actor_id FROM audit WHERE doc_id = ? AND action = 'projected'")
            .pluck()
            .all(id);
          const context = { seed, round, doc: id };
          expect({ ...context, seqs }).toEqual({ ...context, seqs: range(2, last) });
          expect({ ...context, authors: authors.filter((a) => a !== 'writer') }).toEqual({ ...context, authors: [] });
          // Nothing is kept for the projector any more: the log holds only what the snapshot does not cover.
          const kept = db
            .prepare(
              'SELECT count(*) FROM updates u JOIN snapshots s ON s.doc_id = u.doc_id WHERE u.doc_id = ? AND u.seq <= s.upto_seq',
            )
            .pluck()
            .get(id);
          expect({ ...context, kept }).toEqual({ ...context, kept: 0 });
        }
      } finally {
        db.close();
      }
    }
    expect(stored).toBeGreaterThan(rounds);
  });
});

for (const [name, open, describeFor] of [
  ['SQLite', async () => (await sqlite()).storage, describe],
  [
    'PostgreSQL',
    async () => {
      const schema = uniqueSchema('proj');
      cleanups.push(() => dropSchema(schema));
      return postgres(schema);
    },
    describeIfService('postgresql', pgAvailable),
  ],
] as const)
  describeFor(`compaction and the projector (${name})`, () => {
    test('compaction keeps the entries not yet projected; the projector hands them on, then removes them', async () => {
      const storage = await open();
      await create(storage, 'd1');
      const write = await writer(storage, 'd1', 'ann');
      const consumer = recorder();
      const projector = projectorOn(storage, [consumer]);
      await write(2);
      expect(await projector.step('d1')).toBe('done'); // 2 and 3 projected
      await write(3); // 4..6, not projected
      expect(await storage.log.compact('d1')).toBe(6);
      expect((await storage.log.loadState('d1')).updates).toEqual([]);
      const kept = await storage.db
        .selectFrom('updates')
        .select('seq')
        .where('doc_id', '=', 'd1')
        .orderBy('seq')
        .execute();
      expect(kept.map((r) => r.seq)).toEqual([4, 5, 6]);
      expect(await projector.step('d1')).toBe('done');
      expect((await projected(storage)).get('d1')).toEqual([2, 3, 4, 5, 6]);
      expect(await storage.db.selectFrom('updates').select('seq').where('doc_id', '=', 'd1').execute()).toEqual([]);
      expect(await storage.log.appendUpdates('d1', [new Uint8Array([0, 0])])).toEqual([7]);
    });
  });

describeIfService('postgresql', pgAvailable)('two instances projecting one PostgreSQL database', () => {
  test('each document is projected by one instance at a time, and every entry once', async () => {
    const schema = uniqueSchema('proj');
    cleanups.push(() => dropSchema(schema));
    const instances = [await postgres(schema), await postgres(schema)];
    const docs = ['a', 'b', 'c', 'd'];
    for (const id of docs) await create(instances[0]!, id);
    /** Which instance is inside a document's projection transaction right now; overlaps found. */
    const inside = new Map<string, number>();
    const overlaps: string[] = [];
    const byInstance = [0, 0];
    const consumer = (instance: number): ProjectionConsumer => ({
      name: 'exclusive',
      prepare: async (batch) => async (trx) => {
        const other = inside.get(batch.docId);
        if (other !== undefined) overlaps.push(`${batch.docId}: ${other} and ${instance}`);
        inside.set(batch.docId, instance);
        try {
          for (const e of batch.entries) {
            await trx
              .insertInto('audit')
              .values({
                doc_id: batch.docId,
                actor_id: String(instance),
                action: 'projected',
                detail: String(e.seq),
                at: 0,
              })
              .execute();
            byInstance[instance]! += 1;
          }
        } finally {
          inside.delete(batch.docId);
        }
      },
    });
    const projectors = instances.map((s, i) => projectorOn(s, [consumer(i)]));
    const writers = await Promise.all(
      instances.flatMap((s, i) => docs.map((id) => writer(s, id, `user${i}`).then((w) => ({ id, w })))),
    );
    const random = seededRandom(testSeed());
    const writes: Promise<void>[] = [];
    for (let n = 0; n < 120; n++) {
      const { id, w } = writers[Math.floor(random() * writers.length)]!;
      writes.push(
        w(1 + Math.floor(random() * 2)).then(() => {
          // Both instances hear of every write (as the one that stored it, and through scale-out).
          for (const p of projectors) p.wake(id);
        }),
      );
    }
    await Promise.all(writes);
    await Promise.all(projectors.map((p) => p.catchUp()));
    await Promise.all(projectors.map((p) => p.catchUp()));
    const all = await projected(instances[0]!);
    for (const id of docs) {
      const last = await instances[0]!.log.lastSeq(id);
      expect({ id, seqs: all.get(id) ?? [] }).toEqual({ id, seqs: range(2, last) });
    }
    expect(overlaps).toEqual([]);
    expect(byInstance[0]! + byInstance[1]!).toBeGreaterThan(120);
  });
});

describe('the activity projection in a running server', () => {
  interface Listed {
    id: string;
    updatedAt: number;
    threadCount: number;
    commentCount: number;
  }
  const listed = async (server: TestServer, docId: string): Promise<Listed> =>
    ((await api(server.url, server.adminToken).get('/documents')).body as Listed[]).find((d) => d.id === docId)!;

  test('the library shows the threads, comments and latest activity of what was stored', async () => {
    const server = await startServer();
    cleanups.push(() => server.dispose());
    const admin = api(server.url, server.adminToken);
    const docId = await createDocument(server.url, server.adminToken, 'The committee met on Tuesday.');
    const created = await listed(server, docId);
    expect(created).toMatchObject({ threadCount: 0, commentCount: 0 });
    const t = await admin.post(`/documents/${docId}/threads`, { exact: 'committee', body: 'Which one?' });
    expect(t.status).toBe(201);
    const reply = await admin.post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: 'Finance.' });
    expect(reply.status).toBe(201);
    const after = await waitFor(
      async () => {
        const d = await listed(server, docId);
        return d.commentCount === 2 ? d : null;
      },
      { message: 'the counts to reach the library' },
    );
    expect(after).toMatchObject({ threadCount: 1, commentCount: 2 });
    expect(after.updatedAt).toBeGreaterThanOrEqual(created.updatedAt);
  });

  test('a change stored just before the server was killed is projected when it starts again', async () => {
    // Woken projections wait a minute here: the kill comes first, and only the catch-up at start can project it.
    const server = await startServer({ env: { MARGINALIA_PROJECTION_DELAY_MS: '60000' } });
    cleanups.push(() => server.dispose());
    const admin = api(server.url, server.adminToken);
    const docId = await createDocument(server.url, server.adminToken, 'The committee met on Tuesday.');
    expect((await admin.post(`/documents/${docId}/threads`, { exact: 'Tuesday', body: 'Which?' })).status).toBe(201);
    const before = await listed(server, docId);
    expect(before).toMatchObject({ threadCount: 0, commentCount: 0 });
    await server.kill();
    await server.restart();
    const after = await waitFor(
      async () => {
        const d = await listed(server, docId);
        return d.threadCount === 1 ? d : null;
      },
      { message: 'the catch-up to project the thread' },
    );
    expect(after).toMatchObject({ threadCount: 1, commentCount: 1 });
    expect(after.updatedAt).toBeGreaterThan(before.updatedAt);
  });
});
