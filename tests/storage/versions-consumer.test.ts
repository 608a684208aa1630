/**
 * Automatic versions from the log projector (server/src/projector/versions.ts), on both engines: at most one per
 * interval while the document changes, each holding the document as stored (at least up to its batch), authored by
 * the last writer; automatic versions past the retention period are deleted, named versions never.
 */
import { afterEach, expect, test } from '@jest/globals';
import * as Y from 'yjs';
import { Projector } from '@marginalia/server/projector/projector.js';
import { versionsConsumer } from '@marginalia/server/projector/versions.js';
import { getVersion, insertVersion, listVersions } from '@marginalia/server/versions/store.js';
import { describeIfService } from '../support/services.js';
import { storageEngines } from '../support/engines.js';
import { documentRecord } from '../support/records.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const engines = await storageEngines('vcons', cleanups);

const MINUTE = 60_000;
const DAY = 86_400_000;

for (const [engine, available, open] of engines) {
  describeIfService('PostgreSQL', available)(`automatic versions (${engine})`, () => {
    test('at most one per interval while the document changes, with its stored state and last author', async () => {
      const storage = await open();
      await storage.createDocument({
        record: documentRecord('d1'),
        initialUpdate: Y.encodeStateAsUpdate(new Y.Doc()),
        members: [],
      });
      const doc = new Y.Doc();
      cleanups.push(() => doc.destroy());
      await storage.log.claimClientIds('d1', 'ann', [doc.clientID]);
      let now = 1_000_000;
      const projector = new Projector({
        db: storage.db,
        engine: storage.kind,
        delayMs: 0,
        consumers: [
          versionsConsumer({
            db: storage.db,
            log: storage.log,
            intervalMs: 10 * MINUTE,
            keepMs: 30 * DAY,
            now: () => now,
          }),
        ],
      });
      cleanups.push(() => projector.close());
      const type = async (text: string) => {
        const updates: Uint8Array[] = [];
        const capture = (u: Uint8Array) => updates.push(u);
        doc.on('update', capture);
        doc.getText('t').insert(doc.getText('t').length, text);
        doc.off('update', capture);
        await storage.log.appendUpdates('d1', updates);
        await projector.projectNow('d1');
      };

      await type('a');
      now += 4 * MINUTE;
      await type('b');
      now += 5 * MINUTE;
      await type('c');
      expect(await listVersions(storage.db, 'd1')).toHaveLength(1);
      now += 2 * MINUTE; // 11 minutes after the first
      await type('d');
      const versions = await listVersions(storage.db, 'd1');
      expect(versions.map((v) => [v.createdAt, v.automatic, v.createdBy, v.uptoSeq])).toEqual([
        [1_000_000 + 11 * MINUTE, true, 'ann', 5],
        [1_000_000, true, 'ann', 2],
      ]);
      const read = async (id: string) => {
        const copy = new Y.Doc();
        Y.applyUpdate(copy, (await getVersion(storage.db, 'd1', id))!.state);
        const text = copy.getText('t').toString();
        copy.destroy();
        return text;
      };
      expect(await read(versions[1]!.id)).toBe('a');
      expect(await read(versions[0]!.id)).toBe('abcd');

      // Compaction folds the log away; the versions keep their own states.
      expect(await storage.log.compact('d1')).toBe(5);
      expect(await read(versions[1]!.id)).toBe('a');
    });

    test('automatic versions past the retention period are deleted as new ones come; named ones stay', async () => {
      const storage = await open();
      await storage.createDocument({
        record: documentRecord('d2'),
        initialUpdate: Y.encodeStateAsUpdate(new Y.Doc()),
        members: [],
      });
      const state = Y.encodeStateAsUpdate(new Y.Doc());
      const old = await insertVersion(storage.db, {
        docId: 'd2',
        name: null,
        createdBy: null,
        automatic: true,
        uptoSeq: 1,
        state,
        createdAt: 1000,
      });
      const named = await insertVersion(storage.db, {
        docId: 'd2',
        name: 'Keep me',
        createdBy: 'ann',
        automatic: false,
        uptoSeq: 1,
        state,
        createdAt: 1000,
      });
      const doc = new Y.Doc();
      cleanups.push(() => doc.destroy());
      const updates: Uint8Array[] = [];
      doc.on('update', (u: Uint8Array) => updates.push(u));
      doc.getText('t').insert(0, 'x');
      await storage.log.appendUpdates('d2', updates);
      const projector = new Projector({
        db: storage.db,
        engine: storage.kind,
        delayMs: 0,
        consumers: [
          versionsConsumer({
            db: storage.db,
            log: storage.log,
            intervalMs: 10 * MINUTE,
            keepMs: 30 * DAY,
            now: () => 1000 + 31 * DAY,
          }),
        ],
      });
      cleanups.push(() => projector.close());
      await projector.projectNow('d2');
      const ids = (await listVersions(storage.db, 'd2')).map((v) => v.id);
      expect(ids).toHaveLength(2);
      expect(ids).toContain(named);
      expect(ids).not.toContain(old);
    });
  });
}
