import { describe, expect, test, beforeEach, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { openPostgresStorage } from '@marginalia/server/storage/postgres.js';
import { POSTGRES_URL, describeIfService, dropSchema, postgresReachable, uniqueSchema } from '../support/services.js';
import type { Storage, StoredState } from '@marginalia/server/storage/types.js';
import { StorageError } from '@marginalia/server/storage/types.js';
import { foldSnapshot, storedPieces } from '@marginalia/server/storage/stored-state.js';
import { tempDir, ROOT } from '../support/server.js';
import { documentRecord } from '../support/records.js';
import { seededRandom, testSeed } from '../support/random.js';

function textUpdate(doc: Y.Doc, s: string): Uint8Array {
  const updates: Uint8Array[] = [];
  const capture = (u: Uint8Array) => updates.push(u);
  doc.on('update', capture);
  doc.getText('t').insert(doc.getText('t').length, s);
  doc.off('update', capture);
  return updates[0]!;
}

function rebuild(state: Pick<StoredState, 'snapshot' | 'updates'>): string {
  const doc = new Y.Doc();
  for (const piece of storedPieces(state)) Y.applyUpdate(doc, piece);
  const s = doc.getText('t').toString();
  doc.destroy();
  return s;
}

interface Backend {
  open(): Promise<Storage>;
  cleanup(): Promise<void>;
}

const sqliteBackend = (): Backend => {
  let dir: ReturnType<typeof tempDir> | null = null;
  return {
    async open() {
      dir = tempDir();
      return openSqliteStorage(join(dir.path, 'm.db'));
    },
    async cleanup() {
      dir?.remove();
    },
  };
};

const postgresBackend = (): Backend => {
  let schema: string | null = null;
  return {
    async open() {
      schema = uniqueSchema('storage');
      return openPostgresStorage({ connectionString: POSTGRES_URL, schema });
    },
    async cleanup() {
      if (schema) await dropSchema(schema);
    },
  };
};

const pgAvailable = await postgresReachable();

for (const [name, make, describeFor] of [
  ['SQLite', sqliteBackend, describe],
  ['PostgreSQL', postgresBackend, describeIfService('postgresql', pgAvailable)],
] as const)
  describeFor(`${name} storage`, () => {
    let backend: Backend;
    let storage: Storage;
    beforeEach(async () => {
      backend = make();
      storage = await backend.open();
    });
    afterEach(async () => {
      await storage.close();
      await backend.cleanup();
    });
    /** Creates document d1 holding "a"; returns the Y.Doc that wrote it, for further updates. */
    const createD1 = async (): Promise<Y.Doc> => {
      const doc = new Y.Doc();
      await storage.createDocument({ record: documentRecord('d1'), initialUpdate: textUpdate(doc, 'a'), members: [] });
      return doc;
    };

    test('a created document starts with its initial update as log entry 1', async () => {
      const doc = new Y.Doc();
      const initial = textUpdate(doc, 'hello');
      await storage.createDocument({ record: documentRecord('d1'), initialUpdate: initial, members: [] });
      const state = await storage.log.loadState('d1');
      expect(state.snapshot).toBeNull();
      expect(state.updates.map((u) => u.seq)).toEqual([1]);
      expect(rebuild(state)).toBe('hello');
      doc.destroy();
    });

    test('creating a document with an existing id is a conflict and changes nothing', async () => {
      const doc = await createD1();
      await expect(
        storage.createDocument({
          record: { ...documentRecord('d1'), title: 'other' },
          initialUpdate: textUpdate(doc, 'b'),
          members: [],
        }),
      ).rejects.toBeInstanceOf(StorageError);
      expect((await storage.getDocument('d1'))?.title).toBe('T');
      expect(rebuild(await storage.log.loadState('d1'))).toBe('a');
      doc.destroy();
    });

    test('appended updates come back in order with increasing sequence numbers', async () => {
      const doc = await createD1();
      const seqs = await storage.log.appendUpdates('d1', [textUpdate(doc, 'b'), textUpdate(doc, 'c')]);
      const more = await storage.log.appendUpdates('d1', [textUpdate(doc, 'd')]);
      expect(seqs).toEqual([2, 3]);
      expect(more).toEqual([4]);
      expect(rebuild(await storage.log.loadState('d1'))).toBe('abcd');
      doc.destroy();
    });

    test('compaction folds snapshot and log into one snapshot; sequence numbers keep growing after it', async () => {
      const doc = await createD1();
      await storage.log.appendUpdates('d1', [textUpdate(doc, 'b'), textUpdate(doc, 'c')]);
      expect(await storage.log.compact('d1')).toBe(3);
      let state = await storage.log.loadState('d1');
      expect(state.snapshotSeq).toBe(3);
      expect(state.updates).toEqual([]);
      expect(rebuild(state)).toBe('abc');
      expect(await storage.log.lastSeq('d1')).toBe(3);
      expect(await storage.log.appendUpdates('d1', [textUpdate(doc, 'd')])).toEqual([4]);
      expect(await storage.log.compact('d1')).toBe(4);
      expect(await storage.log.appendUpdates('d1', [textUpdate(doc, 'e')])).toEqual([5]);
      state = await storage.log.loadState('d1');
      expect(state.updates.map((u) => u.seq)).toEqual([5]);
      expect(rebuild(state)).toBe('abcde');
      doc.destroy();
    });

    test("compaction stores a large snapshot's lead (the article without the threads) and loadState returns it", async () => {
      const doc = new Y.Doc();
      doc.getText('root').insert(0, 'The article. ');
      await storage.createDocument({
        record: documentRecord('d1'),
        initialUpdate: Y.encodeStateAsUpdate(doc),
        members: [],
      });
      // Threads from other writers, large enough for the snapshot to get a lead.
      const writer = new Y.Doc();
      Y.applyUpdate(writer, Y.encodeStateAsUpdate(doc));
      const before = Y.encodeStateVector(writer);
      for (let i = 0; i < 300; i++) writer.getMap('threads').set(`t${i}`, 'a comment '.repeat(100));
      await storage.log.appendUpdates('d1', [Y.encodeStateAsUpdate(writer, before)]);
      expect((await storage.log.loadState('d1')).snapshotLead ?? null).toBeNull();
      await storage.log.compact('d1');
      const state = await storage.log.loadState('d1');
      expect(state.snapshot!.byteLength).toBeGreaterThan(256 * 1024);
      const early = new Y.Doc();
      Y.applyUpdate(early, state.snapshotLead!);
      expect(early.getText('root').toString()).toBe('The article. ');
      expect(early.getMap('threads').size).toBe(0);
      expect(early.store.pendingStructs).toBeNull();
      // A reader of the article alone gets the lead without the snapshot, and the entries after it.
      const known = Y.encodeStateVector(doc);
      doc.getText('root').insert(doc.getText('root').length, 'More. ');
      await storage.log.appendUpdates('d1', [Y.encodeStateAsUpdate(doc, known)]);
      const withEntry = await storage.log.loadState('d1');
      const leadOnly = await storage.log.loadLeadState('d1');
      expect(leadOnly.snapshot).toBeNull();
      expect(Buffer.from(leadOnly.snapshotLead!).equals(Buffer.from(state.snapshotLead!))).toBe(true);
      expect(leadOnly.snapshotSeq).toBe(withEntry.snapshotSeq);
      expect(leadOnly.updates.map((u) => u.seq)).toEqual(withEntry.updates.map((u) => u.seq));
      expect(leadOnly.updates).toHaveLength(1);
      const article = new Y.Doc();
      Y.applyUpdate(article, leadOnly.snapshotLead!);
      Y.applyUpdate(article, leadOnly.updates[0]!.data);
      expect(article.getText('root').toString()).toBe('The article. More. ');
      article.destroy();
      // A small snapshot has none.
      const small = new Y.Doc();
      await storage.createDocument({
        record: documentRecord('d2'),
        initialUpdate: textUpdate(small, 'x'),
        members: [],
      });
      await storage.log.appendUpdates('d2', [textUpdate(small, 'y')]);
      await storage.log.compact('d2');
      expect((await storage.log.loadState('d2')).snapshotLead).toBeNull();
      // Without a lead, the article's reader gets the snapshot.
      const whole = await storage.log.loadState('d2');
      expect(await storage.log.loadLeadState('d2')).toEqual(whole);
      expect(whole.snapshot).not.toBeNull();
      for (const d of [doc, writer, early, small]) d.destroy();
    });

    test('compaction keeps entries another writer appended (it folds what is stored, not a copy in memory)', async () => {
      const mine = new Y.Doc();
      const theirs = new Y.Doc();
      await storage.createDocument({ record: documentRecord('d1'), initialUpdate: textUpdate(mine, 'm'), members: [] });
      Y.applyUpdate(theirs, Y.encodeStateAsUpdate(mine));
      await storage.log.appendUpdates('d1', [textUpdate(theirs, 'T')]);
      await storage.log.appendUpdates('d1', [textUpdate(mine, 'M')]);
      await storage.log.compact('d1');
      const text = rebuild(await storage.log.loadState('d1'));
      expect(text).toContain('T');
      expect(text).toContain('M');
      mine.destroy();
      theirs.destroy();
    });

    test('a fold that runs while writes go on removes only the entries it folded', async () => {
      const doc = await createD1();
      await storage.log.appendUpdates('d1', [textUpdate(doc, 'b')]);
      const upto = await storage.log.compact('d1', async (state) => {
        // a write that lands while the fold is still working (as it does when the fold runs in a worker)
        expect(await storage.log.appendUpdates('d1', [textUpdate(doc, 'c')])).toEqual([3]);
        return foldSnapshot(state);
      });
      expect(upto).toBe(2);
      const state = await storage.log.loadState('d1');
      expect(state.snapshotSeq).toBe(2);
      expect(state.updates.map((u) => u.seq)).toEqual([3]);
      expect(rebuild(state)).toBe('abc');
      doc.destroy();
    });

    test('of two overlapping compactions one stores its fold and the other writes nothing', async () => {
      const doc = await createD1();
      await storage.log.appendUpdates('d1', [textUpdate(doc, 'b'), textUpdate(doc, 'c')]);
      let inner = 0;
      const outer = await storage.log.compact('d1', async (state) => {
        inner = await storage.log.compact('d1');
        return foldSnapshot(state);
      });
      expect([outer, inner].sort((x, y) => x - y)).toEqual([-1, 3]);
      const state = await storage.log.loadState('d1');
      expect(state.snapshotSeq).toBe(3);
      expect(state.updates).toEqual([]);
      expect(rebuild(state)).toBe('abc');
      doc.destroy();
    });

    test('a fold that fails leaves snapshot and log as they were', async () => {
      const doc = await createD1();
      await storage.log.appendUpdates('d1', [textUpdate(doc, 'b')]);
      await expect(storage.log.compact('d1', () => Promise.reject(new Error('worker gone')))).rejects.toThrow(
        'worker gone',
      );
      const state = await storage.log.loadState('d1');
      expect(state.snapshot).toBeNull();
      expect(state.updates.map((u) => u.seq)).toEqual([1, 2]);
      expect(rebuild(state)).toBe('ab');
      doc.destroy();
    });

    test('updatesAfter returns the log tail, or null once compaction folded part of it', async () => {
      const doc = await createD1();
      await storage.log.appendUpdates('d1', [textUpdate(doc, 'b'), textUpdate(doc, 'c')]);
      expect((await storage.log.updatesAfter('d1', 1))!.map((u) => u.seq)).toEqual([2, 3]);
      await storage.log.compact('d1');
      expect(await storage.log.updatesAfter('d1', 1)).toBeNull();
      expect(await storage.log.updatesAfter('d1', 3)).toEqual([]);
      doc.destroy();
    });

    test('deleting a document removes its log, snapshot and memberships', async () => {
      const doc = new Y.Doc();
      await storage.createUser({
        id: 'u1',
        username: 'ann',
        name: 'Ann',
        passwordHash: 'x',
        isAdmin: false,
        createdAt: 1,
      });
      await storage.createDocument({
        record: documentRecord('d1'),
        initialUpdate: textUpdate(doc, 'a'),
        members: [{ userId: 'u1', role: 'owner' }],
      });
      await storage.log.compact('d1');
      expect(await storage.deleteDocument('d1')).toBe(true);
      expect(await storage.getDocument('d1')).toBeNull();
      expect((await storage.log.loadState('d1')).snapshot).toBeNull();
      expect(await storage.membershipsOf('u1')).toEqual(new Map());
      doc.destroy();
    });

    test('users, memberships, audit and settings round-trip', async () => {
      await storage.createUser({
        id: 'u1',
        username: 'ann',
        name: 'Ann',
        passwordHash: 'h',
        isAdmin: true,
        createdAt: 5,
      });
      await expect(
        storage.createUser({ id: 'u2', username: 'ann', name: 'X', passwordHash: 'h', isAdmin: false, createdAt: 5 }),
      ).rejects.toMatchObject({ code: 'conflict' });
      expect(await storage.getUserByUsername('ann')).toMatchObject({ id: 'u1', isAdmin: true });
      const doc = new Y.Doc();
      await storage.createDocument({
        record: documentRecord('d1'),
        initialUpdate: textUpdate(doc, 'a'),
        members: [{ userId: 'u1', role: 'owner' }],
      });
      await storage.setMember('d1', 'u1', 'editor');
      expect(await storage.getMemberRole('d1', 'u1')).toBe('editor');
      expect(await storage.listMembers('d1')).toEqual([{ userId: 'u1', username: 'ann', name: 'Ann', role: 'editor' }]);
      await storage.audit({ docId: 'd1', actorId: 'u1', action: 'x', detail: { a: 1 } });
      expect((await storage.listAudit('d1'))[0]).toMatchObject({ action: 'x', detail: { a: 1 } });
      await storage.setSetting('k', 'v');
      expect(await storage.getSetting('k')).toBe('v');
      await storage.updateDocument('d1', { title: 'New', threadCount: 3 });
      expect(await storage.getDocument('d1')).toMatchObject({ title: 'New', threadCount: 3 });
      doc.destroy();
    });
  });

describe('SQLite storage under SIGKILL', () => {
  const seed = testSeed();
  const rounds = 20;

  test(`every update reported stored survives a kill at a random moment (${rounds} rounds, seed ${seed})`, async () => {
    const random = seededRandom(seed);
    const dir = tempDir();
    const file = join(dir.path, 'crash.db');
    const setup = await openSqliteStorage(file);
    const seedDoc = new Y.Doc();
    await setup.createDocument({
      record: documentRecord('crash'),
      initialUpdate: textUpdate(seedDoc, '^'),
      members: [],
    });
    await setup.close();
    const reported = new Set<number>();
    try {
      for (let round = 0; round < rounds; round++) {
        const child = spawn(process.execPath, [join(ROOT, 'tests', 'fixtures', 'append-worker.mjs'), file, 'crash'], {
          stdio: ['ignore', 'pipe', 'pipe'],
          cwd: join(ROOT, 'tests'),
        });
        let buffer = '';
        let errors = '';
        const roundReported: number[] = [];
        child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
        child.stdout.on('data', (d: Buffer) => {
          buffer += d.toString();
          const lines = buffer.split('\n');
          buffer = lines.pop()!;
          for (const l of lines) {
            const m = /^stored (\d+) (\d+)$/.exec(l);
            if (m) roundReported.push(Number(m[1]));
          }
        });
        // kill after a random number of reported writes (the moment within a write is what varies)
        const target = 1 + Math.floor(random() * 200);
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`worker made no progress: ${errors}`)), 30_000);
          const check = setInterval(() => {
            if (roundReported.length >= target) {
              clearInterval(check);
              clearTimeout(timer);
              child.kill('SIGKILL');
            }
          }, 1);
          child.once('exit', () => {
            clearInterval(check);
            clearTimeout(timer);
            resolve();
          });
        });
        for (const s of roundReported) reported.add(s);
        const reopened = await openSqliteStorage(file);
        const state = await reopened.log.loadState('crash');
        await reopened.close();
        const present = new Set(state.updates.map((u) => u.seq));
        const lost = [...reported].filter((s) => !present.has(s));
        if (lost.length)
          throw new Error(
            `seed ${seed}, round ${round}: ${lost.length} reported updates lost (e.g. ${lost.slice(0, 5).join(', ')})`,
          );
        // the log still decodes: every stored entry applies
        const doc = new Y.Doc();
        for (const u of state.updates) Y.applyUpdate(doc, u.data);
        doc.destroy();
      }
      expect(reported.size).toBeGreaterThan(rounds);
    } finally {
      seedDoc.destroy();
      dir.remove();
    }
  });
});
