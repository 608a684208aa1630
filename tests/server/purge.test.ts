/**
 * Junk older server versions let clients store (maps no reader can read) leaves a document two ways: an operator
 * runs `marginalia purge-invalid <docId>`, or compaction purges it as a server-side change. Readable threads and
 * comments stay, and the document loads without the junk afterwards. The junk is written straight to the stored
 * log, as it was stored before the server refused it: no client, owners included, can write it any more.
 */
import { describe, expect, test, afterAll, beforeAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as Y from 'yjs';
import { createThread, invalidThreadKeys, purgeInvalid, readThreads, threadsMap } from '@marginalia/shared';
import { CLI, startServer, createDocument, api, type TestServer } from '../support/server.js';
import { connectClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { articleDoc } from '../support/lexical.js';
import { writeToStoredLog } from '../support/stored-log.js';

const ARTICLE = 'The minister announced a new policy on Monday.';

/** Writes two junk thread maps and an unreadable comment beside one good thread; returns the good thread's id. */
function writeJunk(doc: Y.Doc, keys: { empty: string; wrongId: string }): string {
  const { threadId } = createThread(doc, { start: 4, end: 12, createdBy: 'u-1', authorName: 'U', body: 'good' });
  doc.transact(() => {
    threadsMap(doc).set(keys.empty, new Y.Map());
    threadsMap(doc).set(keys.wrongId, new Y.Map<unknown>([['id', crypto.randomUUID()]]));
    const comments = threadsMap(doc).get(threadId)!.get('comments') as Y.Array<unknown>;
    comments.push([new Y.Map<unknown>([['body', 'no author']]), 'not a map']);
  });
  return threadId;
}

describe('purgeInvalid', () => {
  test('removes unreadable thread entries and comments in one transaction, keeping what readers show', async () => {
    const doc = await articleDoc(ARTICLE);
    try {
      const keys = { empty: 'x', wrongId: crypto.randomUUID() };
      const good = writeJunk(doc, keys);
      const shown = JSON.stringify(readThreads(doc));
      let transactions = 0;
      doc.on('afterTransaction', () => transactions++);
      expect(purgeInvalid(doc)).toEqual({ threads: [keys.empty, keys.wrongId], comments: 2 });
      expect(transactions).toBe(1);
      expect([...threadsMap(doc).keys()]).toEqual([good]);
      expect((threadsMap(doc).get(good)!.get('comments') as Y.Array<unknown>).length).toBe(1);
      expect(JSON.stringify(readThreads(doc))).toBe(shown);
      expect(purgeInvalid(doc)).toEqual({ threads: [], comments: 0 });
    } finally {
      doc.destroy();
    }
  });

  test('finds the keys holding junk, and purges only those keys when given them', async () => {
    const doc = await articleDoc(ARTICLE);
    try {
      const keys = { empty: 'x', wrongId: crypto.randomUUID() };
      const good = writeJunk(doc, keys);
      expect(invalidThreadKeys(doc).sort()).toEqual([keys.empty, keys.wrongId, good].sort());
      // an entry completed meanwhile (as an owner may) is no longer junk, and stays
      expect(purgeInvalid(doc, [keys.wrongId, 'not-there'])).toEqual({ threads: [keys.wrongId], comments: 0 });
      expect(purgeInvalid(doc, [good])).toEqual({ threads: [], comments: 2 });
      expect([...threadsMap(doc).keys()].sort()).toEqual([keys.empty, good].sort());
    } finally {
      doc.destroy();
    }
  });
});

describe('marginalia purge-invalid', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.dispose();
  });

  test('purges a stored document; the junk is gone after a restart, the good thread stays', async () => {
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const keys = { empty: 'x', wrongId: crypto.randomUUID() };
    let good = '';
    await writeToStoredLog(server, docId, (doc) => (good = writeJunk(doc, keys)));
    const watcher = connectClient(server.wsUrl, docId, server.adminToken);
    try {
      await watcher.synced();
      await waitFor(() => threadsMap(watcher.doc).size === 3, { message: 'the junk is stored' });
    } finally {
      watcher.destroy();
    }
    await server.stop();
    const out = execFileSync(process.execPath, [CLI, 'purge-invalid', docId], {
      env: { ...process.env, DATA_DIR: server.dataDir, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ threads: [keys.empty, keys.wrongId], comments: 2 });
    await server.restart();
    const fresh = connectClient(server.wsUrl, docId, server.adminToken);
    try {
      await fresh.synced();
      expect([...threadsMap(fresh.doc).keys()]).toEqual([good]);
      expect(readThreads(fresh.doc).map((t) => t.comments.map((c) => c.body))).toEqual([['good']]);
    } finally {
      fresh.destroy();
    }
    const audit = await api(server.url, server.adminToken).get(`/documents/${docId}/audit`);
    expect(
      audit.body
        .filter((e: { action: string }) => e.action === 'document.purged')
        .map((e: { detail: unknown }) => e.detail),
    ).toEqual([{ threads: 2, comments: 2, by: 'cli' }]);
  });
});

describe('compaction purges junk stored before the fix', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { MARGINALIA_COMPACT_AFTER_UPDATES: '4' } });
  });
  afterAll(async () => {
    await server.dispose();
  });

  test('the junk leaves a connected client and the stored document, audited; valid threads are untouched', async () => {
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const keys = { empty: 'x', wrongId: crypto.randomUUID() };
    const long = 'k'.repeat(5_000); // the oversized key of the issue
    let good = '';
    await writeToStoredLog(server, docId, (doc) => {
      good = writeJunk(doc, keys);
      for (let i = 0; i < 3; i++)
        createThread(doc, { start: 4, end: 12, createdBy: `u-${i}`, authorName: `U${i}`, body: `valid ${i}` });
      threadsMap(doc).set(long, new Y.Map());
    });
    const client = connectClient(server.wsUrl, docId, server.adminToken);
    try {
      await client.synced();
      const readable = JSON.stringify(readThreads(client.doc));
      expect(readThreads(client.doc)).toHaveLength(4);
      expect(threadsMap(client.doc).size).toBe(7);
      expect(threadsMap(client.doc).has(long)).toBe(true);
      // writes make the log long: compaction runs, and purges
      for (let i = 0; i < 6; i++) client.doc.getMap('meta').set('marker', i);
      await waitFor(() => threadsMap(client.doc).size === 4, {
        timeout: 10_000,
        message: () => `the junk leaves the client: ${[...threadsMap(client.doc).keys()].join(', ').slice(0, 200)}`,
      });
      expect([...threadsMap(client.doc).keys()]).not.toContain(long);
      expect(readThreads(client.doc)).toHaveLength(4);
      expect(JSON.stringify(readThreads(client.doc))).toBe(readable);
      expect((threadsMap(client.doc).get(good)!.get('comments') as Y.Array<unknown>).length).toBe(1);
    } finally {
      client.destroy();
    }
    const audit = await api(server.url, server.adminToken).get(`/documents/${docId}/audit`);
    const purged = audit.body.filter((e: { action: string }) => e.action === 'document.purged');
    expect(purged.map((e: { detail: unknown }) => e.detail)).toEqual([{ threads: 3, comments: 2, by: 'compaction' }]);

    await server.restart();
    const fresh = connectClient(server.wsUrl, docId, server.adminToken);
    try {
      await fresh.synced();
      expect(threadsMap(fresh.doc).size).toBe(4);
      expect(readThreads(fresh.doc)).toHaveLength(4);
      expect(
        readThreads(fresh.doc)
          .map((t) => t.comments.map((c) => c.body))
          .sort(),
      ).toEqual([['good'], ['valid 0'], ['valid 1'], ['valid 2']].sort());
    } finally {
      fresh.destroy();
    }
  });
});
