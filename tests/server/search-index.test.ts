/**
 * The search index kept by the log projector (server/src/projector/search.ts), below HTTP: it equals the rows of
 * the stored document whoever stored the change and whether or not a server has the document loaded; each comment
 * is indexed exactly once across SIGKILL of the projecting process (SQLite) and with two instances projecting one
 * PostgreSQL database; `marginalia reindex` rebuilds a lost index.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import * as Y from 'yjs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  addComment,
  createThread,
  deleteComment,
  deleteThread,
  editComment,
  readThreads,
  setThreadStatus,
  setThreadTags,
  setTag,
} from '@marginalia/shared';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { openPostgresStorage } from '@marginalia/server/storage/postgres.js';
import type { Storage } from '@marginalia/server/storage/types.js';
import { createDocument } from '@marginalia/server/documents.js';
import { Projector } from '@marginalia/server/projector/projector.js';
import { searchConsumer } from '@marginalia/server/projector/search.js';
import { documentSearchRowGroupsInSlices, documentSearchRows, flattenRows } from '@marginalia/server/search/rows.js';
import { parseQuery } from '@marginalia/server/search/query.js';
import { reindexDocument, search, storedDocument } from '@marginalia/server/search/store.js';
import { POSTGRES_URL, describeIfService, dropSchema, postgresReachable, uniqueSchema } from '../support/services.js';
import { CLI, ROOT, tempDir } from '../support/server.js';
import { seededRandom, testSeed } from '../support/random.js';
import { waitFor } from '../support/wait.js';

const pgAvailable = await postgresReachable();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ARTICLE = 'The committee met on Tuesday to review the budget, the tender and the schedule of the works.';
const ADMIN = { id: 'admin', admin: true, guest: false };

async function sqliteStore(): Promise<{ storage: Storage; file: string; env: Record<string, string> }> {
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const file = join(dir.path, 'marginalia.db');
  const storage = await openSqliteStorage(file);
  cleanups.push(() => storage.close());
  return { storage, file, env: { DATA_DIR: dir.path } };
}

async function postgresStore(schema: string): Promise<Storage> {
  const storage = await openPostgresStorage({ connectionString: POSTGRES_URL, schema });
  cleanups.push(() => storage.close());
  return storage;
}

const newDocument = (storage: Storage, id: string) =>
  createDocument(storage, {
    id,
    title: `Minutes ${id}`,
    format: 'text',
    content: ARTICLE,
    guestRole: null,
    createdBy: 'u1',
    ownerId: null,
  });

/** A writer straight to the stored log (no server: the document is loaded nowhere). */
async function logWriter(storage: Storage, docId: string) {
  const { doc } = (await storedDocument(storage.log, docId))!;
  cleanups.push(() => doc.destroy());
  await storage.log.claimClientIds(docId, 'writer', [doc.clientID]);
  return {
    doc,
    async write(change: (doc: Y.Doc) => void): Promise<void> {
      const updates: Uint8Array[] = [];
      const capture = (u: Uint8Array) => updates.push(u);
      doc.on('update', capture);
      change(doc);
      doc.off('update', capture);
      await storage.log.appendUpdates(docId, updates);
    },
  };
}

const projectorFor = (storage: Storage) => {
  const p = new Projector({
    db: storage.db,
    engine: storage.kind,
    delayMs: 0,
    batchSize: 4,
    consumers: [searchConsumer({ log: storage.log, fromLoaded: async () => null, reuseMs: 0 })],
  });
  cleanups.push(() => p.close());
  return p;
};

describe('search rows of a changing document', () => {
  test('rows reused for threads and an article nothing changed in equal rows computed afresh, after any change (seeded)', async () => {
    const seed = testSeed();
    const random = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    // the order of a map's keys depends on the order updates arrived in: compare the rows as a set
    const byKey = <R extends { key: string }>(rows: R[]) => [...rows].sort((a, b) => a.key.localeCompare(b.key));
    const doc = new Y.Doc();
    const remote = new Y.Doc(); // changes also arrive as updates from another replica
    doc.get('root', Y.XmlText).insert(0, 'The committee met on Tuesday and agreed to publish the report.');
    setTag(doc, 'question', { color: '#3366cc' });
    Y.applyUpdate(remote, Y.encodeStateAsUpdate(doc));
    const fresh = () => {
      const copy = new Y.Doc();
      Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
      const rows = byKey(documentSearchRows(copy));
      copy.destroy();
      return rows;
    };
    for (let step = 0; step < 300; step++) {
      const local = random() < 0.5;
      const d = local ? doc : remote;
      if (!local) Y.applyUpdate(remote, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(remote)));
      const before = Y.encodeStateVector(d);
      const threads = readThreads(d);
      const t = threads.length ? pick(threads) : null;
      const live = t?.comments.filter((c) => !c.deleted) ?? [];
      const op = random();
      if (!t || op < 0.2) createThread(d, { start: 4, end: 13, createdBy: 'ann', authorName: 'Ann', body: `t${step}` });
      else if (op < 0.45) addComment(d, t.id, { authorId: 'bob', authorName: 'Bob', body: `c${step}` });
      else if (op < 0.6 && live.length) editComment(d, t.id, pick(live).id, `edited ${step}`);
      else if (op < 0.7 && live.length > 1) deleteComment(d, t.id, pick(live.slice(1)).id);
      else if (op < 0.8) setThreadStatus(d, t.id, t.status === 'open' ? 'resolved' : 'open', 'ann');
      else if (op < 0.9) setThreadTags(d, t.id, t.tags.length ? [] : ['question']);
      else deleteThread(d, t.id);
      // now and then the article changes too (its rows are kept until it does)
      const article = d.get('root', Y.XmlText);
      if (random() < 0.1) article.insert(article.length, ` word${step}`);
      else if (random() < 0.05 && article.length > 10) article.delete(0, 4);
      if (!local) Y.applyUpdate(doc, Y.encodeStateAsUpdate(remote, before));
      if (random() < 0.6 || step === 299) {
        // at once, or in slices with a pause after each step (as the projector computes them)
        const rows =
          random() < 0.5 ? documentSearchRows(doc) : flattenRows(await documentSearchRowGroupsInSlices(doc, 0));
        expect({ seed, step, rows: byKey(rows) }).toEqual({ seed, step, rows: fresh() });
      }
    }
    doc.destroy();
    remote.destroy();
  });

  test('rows computed in slices hold at least the state they began from; a change made meanwhile is in the next', async () => {
    const byKey = <R extends { key: string }>(rows: R[]) => [...rows].sort((a, b) => a.key.localeCompare(b.key));
    const doc = new Y.Doc();
    doc.get('root', Y.XmlText).insert(0, 'The committee met on Tuesday and agreed to publish the report.');
    const ids = Array.from(
      { length: 40 },
      (_, i) => createThread(doc, { start: 4, end: 13, createdBy: 'ann', authorName: 'Ann', body: `t${i}` }).threadId,
    );
    const before = byKey(documentSearchRows(doc)).map((r) => r.key);
    const pending = documentSearchRowGroupsInSlices(doc, 0).then(flattenRows);
    // While the slices pause: a comment added to the last thread, the first thread deleted.
    addComment(doc, ids.at(-1)!, { authorId: 'bob', authorName: 'Bob', body: 'meanwhile' });
    deleteThread(doc, ids[0]!);
    const during = (await pending).map((r) => r.key);
    // the title and article rows, and every thread's rows but the deleted one's
    for (const key of before.filter((k) => !k.startsWith('c:'))) expect(during).toContain(key);
    expect(during.length).toBeGreaterThanOrEqual(before.length - 1);
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    expect(byKey(flattenRows(await documentSearchRowGroupsInSlices(doc, 0)))).toEqual(byKey(documentSearchRows(copy)));
    expect(documentSearchRows(copy).some((r) => r.body === 'meanwhile')).toBe(true);
    copy.destroy();
    doc.destroy();
  });
});

/** The stored index rows of a document equal those of the document as stored: every key once, every hash current. */
async function expectIndexOfStoredDocument(storage: Storage, docId: string, context: object = {}): Promise<void> {
  const { doc } = (await storedDocument(storage.log, docId))!;
  const want = documentSearchRows(doc)
    .map((r) => `${r.key} ${r.hash}`)
    .sort();
  doc.destroy();
  const have = (
    await storage.db.selectFrom('search_rows').select(['key', 'hash']).where('doc_id', '=', docId).execute()
  )
    .map((r) => `${r.key} ${r.hash}`)
    .sort();
  expect({ ...context, docId, rows: have }).toEqual({ ...context, docId, rows: want });
}

const find = async (storage: Storage, q: string) =>
  (
    await search(storage.db, storage.kind, ADMIN, {
      terms: parseQuery(q),
      tags: [],
      authors: [],
      status: null,
      document: null,
      kind: null,
      limit: 100,
      offset: 0,
    })
  ).items;

for (const [name, open, describeFor] of [
  ['SQLite', async () => (await sqliteStore()).storage, describe],
  [
    'PostgreSQL',
    async () => {
      const schema = uniqueSchema('searchidx');
      cleanups.push(() => dropSchema(schema));
      return postgresStore(schema);
    },
    describeIfService('postgresql', pgAvailable),
  ],
] as const) {
  describeFor(`the search index kept from the stored log (${name})`, () => {
    test('a document created is searchable at once: its title and article text', async () => {
      const storage = await open();
      await newDocument(storage, 'd1');
      const items = await find(storage, 'tender');
      expect(items.map((i) => [i.kind, i.documentId])).toEqual([['article', 'd1']]);
      expect((await find(storage, 'minutes')).map((i) => i.kind)).toEqual(['title']);
      await expectIndexOfStoredDocument(storage, 'd1');
    });

    test('comments written to a document loaded nowhere are indexed by the projector; deleted ones leave', async () => {
      const storage = await open();
      await newDocument(storage, 'd1');
      const writer = await logWriter(storage, 'd1');
      let ids!: { threadId: string; commentId: string };
      await writer.write((doc) => {
        ids = createThread(doc, { exact: 'budget', createdBy: 'writer', authorName: 'Wanda', body: 'Overrun likely.' });
      });
      let reply!: string;
      await writer.write((doc) => {
        reply = addComment(doc, ids.threadId, { authorId: 'writer', authorName: 'Wanda', body: 'Overruns again' });
      });
      expect(await find(storage, 'overrun')).toEqual([]);
      const projector = projectorFor(storage);
      await projector.projectNow('d1');
      const found = await find(storage, 'overrun');
      expect(found.map((i) => i.commentId).sort()).toEqual([ids.commentId, reply].sort());
      expect((await find(storage, 'budget wanda')).map((i) => i.commentId).sort()).toEqual(
        [ids.commentId, reply].sort(),
      );
      await writer.write((doc) => deleteComment(doc, ids.threadId, reply));
      await projector.projectNow('d1');
      expect((await find(storage, 'overrun')).map((i) => i.commentId)).toEqual([ids.commentId]);
      await expectIndexOfStoredDocument(storage, 'd1');
      // projecting the same state again changes nothing
      const before = await storage.db.selectFrom('search_rows').selectAll().orderBy('id').execute();
      await storage.db.deleteFrom('projection_cursors').where('doc_id', '=', 'd1').execute();
      await projector.projectNow('d1');
      expect(await storage.db.selectFrom('search_rows').selectAll().orderBy('id').execute()).toEqual(before);
    });

    test('projected step by step from a loaded copy, the index equals what is stored after any change, repeated comment ids too (seeded)', async () => {
      const storage = await open();
      await newDocument(storage, 'd1');
      const writer = await logWriter(storage, 'd1');
      const seed = testSeed();
      const random = seededRandom(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      // The writer's copy is the document's loaded copy: rows are computed from it, so unchanged threads and
      // comments are the same records from one step to the next, and each step compares only what changed.
      const projector = new Projector({
        db: storage.db,
        engine: storage.kind,
        delayMs: 0,
        batchSize: 1 + Math.floor(random() * 4),
        consumers: [
          searchConsumer({
            log: storage.log,
            fromLoaded: async (id, rows) => ({
              groups: await rows(writer.doc),
              through: await storage.log.lastSeq(id),
            }),
            reuseMs: 0,
          }),
        ],
      });
      cleanups.push(() => projector.close());
      for (let step = 0; step < 80; step++) {
        const threads = readThreads(writer.doc);
        const t = threads.length ? pick(threads) : null;
        // Edited and deleted: comments whose id is used once (the model finds a comment by its id).
        const uses = new Map<string, number>();
        for (const c of threads.flatMap((x) => x.comments)) uses.set(c.id, (uses.get(c.id) ?? 0) + 1);
        const live = t?.comments.filter((c) => !c.deleted && uses.get(c.id) === 1) ?? [];
        const op = random();
        await writer.write((d) => {
          if (!t || op < 0.2)
            createThread(d, { exact: 'budget', createdBy: 'ann', authorName: 'Ann', body: `t${step}` });
          else if (op < 0.45) addComment(d, t.id, { authorId: 'bob', authorName: 'Bob', body: `c${step}` });
          else if (op < 0.55 && live.length) editComment(d, t.id, pick(live).id, `edited ${step}`);
          else if (op < 0.62 && live.length > 1) deleteComment(d, t.id, pick(live.slice(1)).id);
          else if (op < 0.7) setThreadStatus(d, t.id, t.status === 'open' ? 'resolved' : 'open', 'ann');
          else if (op < 0.78) setThreadTags(d, t.id, t.tags.length ? [] : ['question']);
          else if (op < 0.84) deleteThread(d, t.id);
          else if (op < 0.92) {
            // A malformed document: a comment id that is already used, in another thread or in the same one.
            const other = pick(random() < 0.5 ? t.comments : threads.flatMap((x) => x.comments));
            addComment(d, t.id, { id: other.id, authorId: 'eve', authorName: 'Eve', body: `again ${step}` });
          } else d.get('root', Y.XmlText).insert(0, `Word${step} `);
        });
        if (random() < 0.5 || step === 79) {
          await projector.projectNow('d1');
          await expectIndexOfStoredDocument(storage, 'd1', { seed, step });
        }
      }
    });

    test('a reindex between two projections leaves each comment indexed once, and the next projection commits', async () => {
      const storage = await open();
      await newDocument(storage, 'd1');
      const writer = await logWriter(storage, 'd1');
      let ids!: { threadId: string; commentId: string };
      await writer.write((doc) => {
        ids = createThread(doc, { exact: 'budget', createdBy: 'writer', authorName: 'Wanda', body: 'Overrun likely.' });
      });
      const projector = projectorFor(storage);
      await projector.projectNow('d1'); // the consumer now knows the rows it committed
      let reply!: string;
      await writer.write((doc) => {
        reply = addComment(doc, ids.threadId, { authorId: 'writer', authorName: 'Wanda', body: 'Overruns again' });
      });
      // The reindex reads the stored log, which holds the reply the projector has not seen yet.
      expect(await reindexDocument(storage, 'd1')).toBe(true);
      await writer.write((doc) => editComment(doc, ids.threadId, ids.commentId, 'Overrun certain.'));
      await projector.projectNow('d1');
      const cursor = await storage.db
        .selectFrom('projection_cursors')
        .select('seq')
        .where('doc_id', '=', 'd1')
        .executeTakeFirstOrThrow();
      expect(Number(cursor.seq)).toBe(await storage.log.lastSeq('d1'));
      expect((await find(storage, 'overrun')).map((i) => i.commentId).sort()).toEqual([ids.commentId, reply].sort());
      expect((await find(storage, 'certain')).map((i) => i.commentId)).toEqual([ids.commentId]);
      await expectIndexOfStoredDocument(storage, 'd1');
    });

    test('deleting the document deletes its index rows', async () => {
      const storage = await open();
      await newDocument(storage, 'd1');
      await newDocument(storage, 'd2');
      expect(await storage.deleteDocument('d1')).toBe(true);
      expect((await find(storage, 'tender')).map((i) => i.documentId)).toEqual(['d2']);
      const left = await storage.db.selectFrom('search_rows').select('doc_id').distinct().execute();
      expect(left).toEqual([{ doc_id: 'd2' }]);
    });
  });
}

describeIfService('postgresql', pgAvailable)('reindexing on PostgreSQL', () => {
  test("rebuilds the vectors of rows that lost them, and the rows' vectors follow every change", async () => {
    const schema = uniqueSchema('searchvec');
    cleanups.push(() => dropSchema(schema));
    const storage = await postgresStore(schema);
    await newDocument(storage, 'd1');
    await newDocument(storage, 'd2');
    const vectors = async (doc: string) =>
      Number(
        (await sql<{ n: string }>`SELECT count(*) AS n FROM search_vectors WHERE doc_id = ${doc}`.execute(storage.db))
          .rows[0]!.n,
      );
    const rows = async (doc: string) =>
      (await storage.db.selectFrom('search_rows').select('id').where('doc_id', '=', doc).execute()).length;
    expect(await vectors('d1')).toBe(await rows('d1'));
    await sql`DELETE FROM search_vectors WHERE doc_id = 'd1'`.execute(storage.db);
    expect((await find(storage, 'tender')).map((i) => i.documentId)).toEqual(['d2']);
    expect(await reindexDocument(storage, 'd1')).toBe(true);
    expect(await vectors('d1')).toBe(await rows('d1'));
    expect((await find(storage, 'tender')).map((i) => i.documentId).sort()).toEqual(['d1', 'd2']);
    // A row rewritten (its thread resolved) carries its new status into its vector; a row deleted takes it along.
    const writer = await logWriter(storage, 'd1');
    let thread = '';
    await writer.write((doc) => {
      thread = createThread(doc, {
        exact: 'schedule',
        createdBy: 'writer',
        authorName: 'Wanda',
        body: 'Slipping.',
      }).threadId;
    });
    expect(await reindexDocument(storage, 'd1')).toBe(true);
    await writer.write((doc) => setThreadStatus(doc, thread, 'resolved', 'writer'));
    expect(await reindexDocument(storage, 'd1')).toBe(true);
    const statusOf = async () =>
      (
        await sql<{
          status: string;
        }>`SELECT v.status FROM search_vectors v JOIN search_rows r ON r.id = v.id WHERE r.key LIKE 'c:%'`.execute(
          storage.db,
        )
      ).rows.map((r) => r.status);
    expect(await statusOf()).toEqual(['resolved']);
    expect(await vectors('d1')).toBe(await rows('d1'));
    expect(await storage.deleteDocument('d1')).toBe(true);
    expect(await vectors('d1')).toBe(0);
  });
});

describe('marginalia reindex (SQLite)', () => {
  test('rebuilds an index that was lost, for one document or all', async () => {
    const { storage, env } = await sqliteStore();
    await newDocument(storage, 'd1');
    await newDocument(storage, 'd2');
    const writer = await logWriter(storage, 'd1');
    await writer.write((doc) =>
      createThread(doc, { exact: 'schedule', createdBy: 'writer', authorName: 'Wanda', body: 'Slipping.' }),
    );
    await storage.db.deleteFrom('search_rows').execute();
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, 'reindex', ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
    const one = run('d1');
    expect(one.stderr).toBe('');
    expect(one.stdout).toMatch(/reindexed 1 document\b/);
    expect((await find(storage, 'slipping')).map((i) => i.documentId)).toEqual(['d1']);
    expect((await find(storage, 'tender')).map((i) => i.documentId)).toEqual(['d1']);
    const all = run();
    expect(all.stdout).toMatch(/reindexed 2 documents/);
    expect((await find(storage, 'tender')).map((i) => i.documentId).sort()).toEqual(['d1', 'd2']);
    await expectIndexOfStoredDocument(storage, 'd1');
    await expectIndexOfStoredDocument(storage, 'd2');
    const missing = run('nope');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no document "nope"/);
  });
});

describe('the search index under SIGKILL (SQLite)', () => {
  const seed = testSeed();
  const rounds = 8;

  test(`every comment is indexed once and the index equals what is stored, after kills at random moments (${rounds} rounds, seed ${seed})`, async () => {
    const random = seededRandom(seed);
    const { storage, file } = await sqliteStore();
    for (const id of ['s1', 's2']) await newDocument(storage, id);
    await storage.close();
    const child = (mode: string, onLine: (l: string) => void) => {
      const proc = spawn(
        process.execPath,
        [
          join(ROOT, 'tests', 'fixtures', 'search-projector-worker.mjs'),
          file,
          mode,
          String(Math.floor(random() * 2 ** 31)),
        ],
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
    for (let round = 0; round < rounds; round++) {
      let lines = 0;
      const target = 1 + Math.floor(random() * 40);
      const run = child('run', (l) => {
        if (l.startsWith('stored ')) lines++;
      });
      await waitFor(() => lines >= target || run.proc.exitCode !== null, {
        timeout: 30_000,
        message: () => `round ${round} (seed ${seed}) to store ${target} batches: ${run.errors()}`,
      });
      run.proc.kill('SIGKILL');
      await run.exited;
      let caughtUp = false;
      const finish = child('finish', (l) => (caughtUp ||= l === 'caught up'));
      const code = await finish.exited;
      if (code !== 0 || !caughtUp) throw new Error(`seed ${seed}, round ${round}: finish failed: ${finish.errors()}`);
      // The full-text index agrees with its rows (FTS5 checks its own shadow tables against the content table).
      const db = new Database(file);
      try {
        db.prepare("INSERT INTO search_fts (search_fts) VALUES ('integrity-check')").run();
      } finally {
        db.close();
      }
    }
    const reopened = await openSqliteStorage(file);
    cleanups.push(() => reopened.close());
    let comments = 0;
    for (const id of ['s1', 's2']) {
      await expectIndexOfStoredDocument(reopened, id, { seed });
      const { doc } = (await storedDocument(reopened.log, id))!;
      const threads = readThreads(doc);
      doc.destroy();
      for (const t of threads)
        for (const c of t.comments) {
          const hits = c.deleted ? [] : (await find(reopened, c.body)).map((i) => i.commentId);
          expect({ seed, body: c.body, hits }).toEqual({ seed, body: c.body, hits: c.deleted ? [] : [c.id] });
          comments++;
        }
    }
    expect(comments).toBeGreaterThan(rounds);
  });
});

describeIfService('postgresql', pgAvailable)('two instances indexing one PostgreSQL database', () => {
  test('the index equals what is stored, every comment once, whichever instance projected it', async () => {
    const schema = uniqueSchema('searchtwo');
    cleanups.push(() => dropSchema(schema));
    const a = await postgresStore(schema);
    const b = await postgresStore(schema);
    for (const id of ['t1', 't2']) await newDocument(a, id);
    const projectors = [projectorFor(a), projectorFor(b)];
    const seed = testSeed();
    const random = seededRandom(seed);
    // Each instance writes through its own copy of each document (as a loaded document on each instance would).
    const writers = await Promise.all(
      [a, b].flatMap((s) => ['t1', 't2'].map(async (id) => ({ id, s, w: await logWriter(s, id) }))),
    );
    const bodies: string[] = [];
    for (let n = 0; n < 40; n++) {
      const { id, s, w } = writers[Math.floor(random() * writers.length)]!;
      // bring the writer's copy up to date with the other instance's writes first
      const { doc: current } = (await storedDocument(s.log, id))!;
      Y.applyUpdate(w.doc, Y.encodeStateAsUpdate(current));
      current.destroy();
      const body = `z${seed}n${n}`;
      bodies.push(body);
      const threads = readThreads(w.doc);
      await w.write((doc) =>
        threads.length && random() < 0.5
          ? addComment(doc, threads[0]!.id, { authorId: 'writer', authorName: 'W', body })
          : createThread(doc, { start: n % 30, end: (n % 30) + 3, createdBy: 'writer', authorName: 'W', body }),
      );
      for (const p of projectors) p.wake(id, 0);
    }
    await Promise.all(projectors.map((p) => p.catchUp()));
    await waitFor(async () => {
      await Promise.all(projectors.map((p) => p.catchUp()));
      const cursors = await a.db.selectFrom('projection_cursors').select(['doc_id', 'seq']).execute();
      for (const c of cursors) if ((await a.log.lastSeq(c.doc_id)) !== c.seq) return false;
      return true;
    });
    for (const id of ['t1', 't2']) await expectIndexOfStoredDocument(a, id, { seed });
    for (const body of bodies) {
      const hits = await find(b, body);
      expect({ seed, body, hits: hits.length }).toEqual({ seed, body, hits: 1 });
    }
  });
});
