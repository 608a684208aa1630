/**
 * `marginalia purge-invalid <docId>`: an owner removes the junk older server versions let commenters store (maps
 * no reader can read); readable threads and comments stay, and the document loads without the junk afterwards.
 */
import { describe, expect, test, afterAll, beforeAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as Y from 'yjs';
import { createThread, purgeInvalid, readThreads, threadsMap } from '@marginalia/shared';
import { CLI, startServer, createDocument, api, type TestServer } from '../support/server.js';
import { connectClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { articleDoc } from '../support/lexical.js';

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
    const owner = connectClient(server.wsUrl, docId, server.adminToken);
    let good: string;
    try {
      await owner.synced();
      good = writeJunk(owner.doc, keys); // an owner may write any shape, as commenters could before
      const watcher = connectClient(server.wsUrl, docId, server.adminToken);
      try {
        await watcher.synced();
        await waitFor(() => threadsMap(watcher.doc).size === 3, { message: 'the junk is stored' });
      } finally {
        watcher.destroy();
      }
    } finally {
      owner.destroy();
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
    expect(audit.body.some((e: { action: string }) => e.action === 'document.purged')).toBe(true);
  });
});

describe('purge on compaction', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { MARGINALIA_COMPACT_AFTER_UPDATES: '5' } });
  });
  afterAll(async () => {
    await server.dispose();
  });

  test('junk is deleted before the log is folded; connected clients receive the deletion; it is audited', async () => {
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const keys = { empty: 'x', wrongId: crypto.randomUUID() };
    const owner = connectClient(server.wsUrl, docId, server.adminToken);
    const watcher = connectClient(server.wsUrl, docId, server.adminToken);
    let good: string;
    try {
      await Promise.all([owner.synced(), watcher.synced()]);
      good = writeJunk(owner.doc, keys);
      await waitFor(() => threadsMap(watcher.doc).size === 3, { message: 'the junk reaches the watcher' });
      // More stored updates than the compaction threshold: the document is compacted, and purged first.
      for (let i = 0; i < 8; i++) owner.doc.getMap('meta').set(`n${i}`, i);
      await waitFor(() => threadsMap(watcher.doc).size === 1, { message: 'the purge reaches the watcher' });
      expect([...threadsMap(watcher.doc).keys()]).toEqual([good]);
      expect(readThreads(watcher.doc).map((t) => t.comments.map((c) => c.body))).toEqual([['good']]);
      await waitFor(() => threadsMap(owner.doc).size === 1, { message: 'the purge reaches the writer' });
      await waitFor(() => watcher.doc.getMap('meta').get('n7') === 7, { message: 'the last update is stored' });
    } finally {
      owner.destroy();
      watcher.destroy();
    }
    await server.restart();
    const fresh = connectClient(server.wsUrl, docId, server.adminToken);
    try {
      await fresh.synced();
      expect([...threadsMap(fresh.doc).keys()]).toEqual([good]);
      expect(fresh.doc.getMap('meta').get('n7')).toBe(7);
    } finally {
      fresh.destroy();
    }
    const audit = await api(server.url, server.adminToken).get(`/documents/${docId}/audit`);
    const purged = audit.body.filter((e: { action: string }) => e.action === 'document.purged');
    expect(purged.map((e: { detail: unknown }) => e.detail)).toEqual([{ threads: 2, comments: 2, on: 'compaction' }]);
  });
});
