/**
 * A version's read copy (server/src/versions/read-copy.ts), on both engines: reading a version from it (its text,
 * its threads, every export format, a diff between two versions) gives exactly what reading the version's full
 * state gives, for versions recorded by the projector (read in the storage worker's fold), named from a document
 * in memory, and recorded before read copies existed (made on first read, then stored); compaction and retention
 * never remove the read copy of a version they keep.
 */
import { afterEach, expect, test } from '@jest/globals';
import * as Y from 'yjs';
import {
  EXPORT_FORMATS,
  addComment,
  articleText,
  createThread,
  deleteComment,
  deleteThread,
  exportDocument,
  initMeta,
  readResolvedThreads,
  setMeta,
  setTag,
  setThreadStatus,
  type ExportFormat,
  type ExportRequest,
} from '@marginalia/shared';
import { Projector } from '@marginalia/server/projector/projector.js';
import { versionsConsumer } from '@marginalia/server/projector/versions.js';
import { getReadCopy, getVersion, insertVersion, listVersions } from '@marginalia/server/versions/store.js';
import { readCopyOf } from '@marginalia/server/versions/read-copy.js';
import { readDocumentAt, readResolvedThreadsAt, versionView } from '@marginalia/server/versions/read.js';
import { diffDocuments } from '@marginalia/server/versions/diff.js';
import { threadView } from '@marginalia/server/http/thread-routes.js';
import type { AppContext } from '@marginalia/server/http/context.js';
import { articleDoc, deleteRange, insertTextAt, openArticleEditor } from '../support/lexical.js';
import { describeIfService } from '../support/services.js';
import { storageEngines } from '../support/engines.js';
import { documentRecord } from '../support/records.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const engines = await storageEngines('vcopy', cleanups);

const MINUTE = 60_000;
const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

const SOURCE = [
  '# A title',
  'First paragraph with *emphasis* and a [link](https://example.org) in it.',
  '- one item\n- another item',
  'A closing paragraph about the harbour and the ships in it.',
  'A last paragraph on the weather, which is mild in spring.',
].join('\n\n');

const PEOPLE = new Map([['user-7', { username: 'seven', name: 'Seven Person' }]]);
const request = (over: Partial<ExportRequest> = {}): ExportRequest => ({
  docId: 'd1',
  baseUrl: 'https://marginalia.example',
  now: T0,
  people: PEOPLE,
  ...over,
});
const FORMATS = Object.keys(EXPORT_FORMATS) as ExportFormat[];
const FILTERS: Partial<ExportRequest>[] = [{}, { status: 'resolved' }, { tags: ['claim'] }, { authors: ['Nine'] }];

/** What a version reads as from its full state, built as every read did before read copies. */
async function fromState(state: Uint8Array) {
  const doc = new Y.Doc({ gc: false });
  cleanups.push(() => doc.destroy());
  Y.applyUpdate(doc, state);
  const exports: unknown[] = [];
  for (const f of FILTERS) for (const format of FORMATS) exports.push(await exportDocument(doc, format, request(f)));
  return {
    doc,
    read: {
      text: articleText(doc),
      threads: JSON.stringify(readResolvedThreads(doc).map(threadView)),
      exports,
    },
  };
}

/** What the server's reads at a version give (versions/read.ts: from the read copy). */
async function fromReadCopy(ctx: Pick<AppContext, 'storage' | 'registry'>, versionId: string) {
  const exports: unknown[] = [];
  for (const f of FILTERS) {
    for (const format of FORMATS) {
      exports.push(
        await readDocumentAt(ctx, 'd1', versionId, (doc, threads) =>
          exportDocument(doc, format, request({ ...f, threads: threads() })),
        ),
      );
    }
  }
  return {
    text: await readDocumentAt(ctx, 'd1', versionId, (doc) => articleText(doc)),
    threads: JSON.stringify((await readResolvedThreadsAt(ctx, 'd1', versionId)).map(threadView)),
    exports,
  };
}

for (const [engine, available, open] of engines) {
  describeIfService('PostgreSQL', available)(`version read copies (${engine})`, () => {
    test('a version reads the same from its read copy as from its full state, and keeps it through compaction and retention', async () => {
      const storage = await open();
      const ctx = { storage, registry: undefined as never };
      const doc = await articleDoc(SOURCE, 'markdown');
      cleanups.push(() => doc.destroy());
      initMeta(doc, { title: 'Rivers', createdAt: T0, source: 'https://example.org/a' });
      setTag(doc, 'claim', { color: '#aa3300', description: 'a claim to check' });
      await storage.createDocument({
        record: documentRecord('d1'),
        initialUpdate: Y.encodeStateAsUpdate(doc),
        members: [],
      });
      await storage.log.claimClientIds('d1', 'ann', [doc.clientID]);
      const pending: Uint8Array[] = [];
      doc.on('update', (u: Uint8Array) => pending.push(u));
      const store = async () => {
        await storage.log.appendUpdates('d1', pending.splice(0));
      };
      const editor = openArticleEditor(doc);
      cleanups.push(() => editor.destroy());
      let clock = T0;
      const on = (quote: string, n: number, tags?: string[]): string => {
        const text = articleText(doc);
        const start = text.indexOf(quote);
        if (start < 0) throw new Error(`no "${quote}"`);
        return createThread(doc, {
          start,
          end: start + quote.length,
          createdBy: `user-${n}`,
          authorName: `User ${n}`,
          body: `about ${quote}, @seven`,
          mentions: ['user-7'],
          now: (clock += 1000),
          ...(tags ? { tags } : {}),
        }).threadId;
      };

      // Threads of every kind: tagged with a mention, resolved, with a deleted reply, orphaned, deleted.
      const tagged = on('A title', 1, ['claim']);
      addComment(doc, tagged, { authorId: 'user-9', authorName: 'Nine', body: 'a reply', now: (clock += 1000) });
      const resolved = on('emphasis and a link', 2);
      setThreadStatus(doc, resolved, 'resolved', 'user-3', (clock += 1000));
      const replied = on('another item', 3);
      const reply = addComment(doc, replied, { authorId: 'user-9', authorName: 'Nine', body: 'gone soon' });
      deleteComment(doc, replied, reply, (clock += 1000));
      const orphan = on('the harbour and the ships', 4);
      deleteThread(doc, on('mild in spring', 5));
      {
        const text = articleText(doc);
        const at = text.indexOf('about the harbour and the ships in it');
        await deleteRange(editor, at, at + 'about the harbour and the ships in it'.length);
      }
      await store();

      // v1: recorded by the projector (the read copy is read from the fold, in the storage worker's job).
      let now = T0;
      const projector = (keepMs = 30 * DAY) => {
        const p = new Projector({
          db: storage.db,
          engine: storage.kind,
          delayMs: 0,
          consumers: [
            versionsConsumer({ db: storage.db, log: storage.log, intervalMs: MINUTE, keepMs, now: () => now }),
          ],
        });
        cleanups.push(() => p.close());
        return p;
      };
      await projector().projectNow('d1');
      const [v1] = await listVersions(storage.db, 'd1');
      expect(v1).toBeDefined();

      // v2: named from the document in memory (as recordVersion does from the live document).
      {
        const text = articleText(doc);
        await insertTextAt(editor, text.indexOf('First') + 'First '.length, 'long ');
      }
      addComment(doc, orphan, {
        authorId: 'user-9',
        authorName: 'Nine',
        body: 'where did it go?',
        now: (clock += 1000),
      });
      setThreadStatus(doc, resolved, 'open', 'user-3', (clock += 1000));
      setThreadStatus(doc, replied, 'resolved', 'user-9', (clock += 1000));
      setMeta(doc, { title: 'Rivers and seas' });
      setTag(doc, 'claim', { color: '#0033aa' });
      on('closing paragraph', 6, ['claim']);
      await store();
      const v2 = await insertVersion(storage.db, {
        docId: 'd1',
        name: 'Named',
        createdBy: 'ann',
        automatic: false,
        uptoSeq: await storage.log.lastSeq('d1'),
        state: Y.encodeStateAsUpdate(doc),
        readCopy: readCopyOf(doc, { cached: true }),
        createdAt: T0 + 2 * MINUTE,
      });

      // v3: recorded before read copies existed: none until its first read.
      deleteThread(doc, tagged);
      await store();
      const v3 = await insertVersion(storage.db, {
        docId: 'd1',
        name: null,
        createdBy: 'ann',
        automatic: true,
        uptoSeq: await storage.log.lastSeq('d1'),
        state: Y.encodeStateAsUpdate(doc),
        createdAt: T0 + 40 * DAY,
      });
      expect((await getReadCopy(storage.db, 'd1', v3))!.copy).toBeNull();

      const states = new Map<string, Uint8Array>();
      for (const id of [v1!.id, v2, v3]) states.set(id, (await getVersion(storage.db, 'd1', id))!.state);
      const expected = new Map<string, Awaited<ReturnType<typeof fromState>>>();
      for (const [id, state] of states) expected.set(id, await fromState(state));

      // The document holds what the comparison is about.
      const at1 = JSON.parse(expected.get(v1!.id)!.read.threads) as { anchorState: string; status: string }[];
      expect(at1.map((t) => t.anchorState)).toContain('orphan');
      expect(at1.map((t) => t.status)).toContain('resolved');
      expect(at1).toHaveLength(4);

      for (const [id, e] of expected) {
        const got = await fromReadCopy(ctx, id);
        expect(got.text).toBe(e.read.text);
        expect(got.threads).toBe(e.read.threads);
        expect(got.exports).toEqual(e.read.exports);
      }
      // v3's read copy was made on its first read, and stored.
      const made = (await getReadCopy(storage.db, 'd1', v3))!.copy;
      expect(made).not.toBeNull();

      // The diff (the History dialog opening a version) reads the same from read copies.
      const owner = (c: number) => (c === doc.clientID ? 'ann' : undefined);
      for (const [a, b] of [
        [v1!.id, v2],
        [v2, v3],
        [v1!.id, v3],
      ] as const) {
        const full = diffDocuments(expected.get(a)!.doc, expected.get(b)!.doc, owner);
        const copied = diffDocuments(await versionView(ctx, 'd1', a), await versionView(ctx, 'd1', b), owner);
        expect(copied).toEqual(full);
      }
      const d12 = diffDocuments(expected.get(v1!.id)!.doc, expected.get(v2)!.doc, owner);
      expect(d12.article.length).toBeGreaterThan(0);
      expect(d12.threads.map((t) => t.op).sort()).toEqual(['commented', 'created', 'reopened', 'resolved']);

      // Compaction and retention: v1 (automatic, past the retention period) goes with its row; the versions kept
      // keep their read copies, which still read as their states.
      const kept = new Map<string, unknown>();
      for (const id of [v2, v3]) kept.set(id, (await getReadCopy(storage.db, 'd1', id))!.copy);
      expect(await storage.log.compact('d1')).toBeGreaterThan(0);
      addComment(doc, replied, { authorId: 'user-9', authorName: 'Nine', body: 'later', now: (clock += 1000) });
      await store();
      now = T0 + 41 * DAY;
      await projector(30 * DAY).projectNow('d1');
      const ids = (await listVersions(storage.db, 'd1')).map((v) => v.id);
      expect(ids).not.toContain(v1!.id);
      expect(ids).toEqual(expect.arrayContaining([v2, v3]));
      expect(ids).toHaveLength(3);
      for (const [id, copy] of kept) expect((await getReadCopy(storage.db, 'd1', id))!.copy).toEqual(copy);
      const newest = ids.find((id) => id !== v2 && id !== v3)!;
      expect((await getReadCopy(storage.db, 'd1', newest))!.copy).not.toBeNull();
      const e2 = expected.get(v2)!.read;
      const again = await fromReadCopy(ctx, v2);
      expect(again.threads).toBe(e2.threads);
      expect(again.text).toBe(e2.text);
    });

    test('an unknown version is 404', async () => {
      const storage = await open();
      const ctx = { storage, registry: undefined as never };
      await storage.createDocument({
        record: documentRecord('d1'),
        initialUpdate: Y.encodeStateAsUpdate(new Y.Doc()),
        members: [],
      });
      await expect(readResolvedThreadsAt(ctx, 'd1', 'no-such-version')).rejects.toMatchObject({ status: 404 });
    });
  });
}
