/**
 * A large stored document is built a slice per event-loop turn (server/src/storage/slice.ts, cut in the worker
 * thread), so the server keeps serving while it loads: here a client of another document has its change stored
 * and echoed before the large one is ready, and the large one, once ready, is exactly what was stored.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import WebSocket from 'ws';
import { join } from 'node:path';
import { addComment, anchorFromOffsets, articleIndex, createThread } from '@marginalia/shared';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { createDocument as storeDocument } from '@marginalia/server/documents.js';
import { ADMIN, createDocument, startServer, type TestServer } from '../support/server.js';
import { canonical } from '../support/clients.js';
import { rawClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = Array.from(
  { length: 12 },
  (_, i) => `Paragraph ${i + 1} of an article that many analysts annotate at once, line after line.`,
).join('\n\n');
const THREADS = 4_000;

/** Writes the large document straight into the stopped server's storage; returns its id and its threads. */
async function storeLargeDocument(dataDir: string): Promise<{ docId: string; threads: string; bytes: number }> {
  const storage = await openSqliteStorage(join(dataDir, 'marginalia.db'));
  let threads = '';
  try {
    const admin = (await storage.getUserByUsername(ADMIN.username))!;
    const docId = await storeDocument(storage, {
      title: 'Many threads',
      format: 'text',
      content: ARTICLE,
      guestRole: null,
      createdBy: admin.id,
      ownerId: admin.id,
      decorate: (doc) => {
        const index = articleIndex(doc);
        for (let i = 0; i < THREADS; i++) {
          doc.clientID = 1000 + (i % 20); // twenty analysts
          const start = (i * 37) % (index.text.length - 40);
          const a = anchorFromOffsets(index, start, start + 12);
          const { threadId } = createThread(doc, {
            anchor: a.anchor,
            quote: a.quote,
            createdBy: admin.id,
            authorName: 'Admin',
            body: `Thread ${i}: the claim here needs a source.`,
          });
          doc.clientID = 2000 + (i % 7);
          addComment(doc, threadId, {
            authorId: admin.id,
            authorName: 'Admin',
            body: `A reply to thread ${i}, agreeing with a caveat.`,
          });
        }
        threads = canonical(doc.getMap('threads').toJSON());
      },
    });
    const state = await storage.log.loadState(docId);
    return { docId, threads, bytes: state.updates.reduce((n, u) => n + u.data.byteLength, 0) };
  } finally {
    await storage.close();
  }
}

describe('loading a large document in slices', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('the server serves other documents while it builds; the built document is what was stored', async () => {
    const small = await createDocument(server.url, server.adminToken, 'A small document that stays busy.');
    await server.stop();
    const large = await storeLargeDocument(server.dataDir);
    expect(large.bytes).toBeGreaterThan(1024 * 1024); // past MARGINALIA_SLICED_LOAD_BYTES (1 MiB by default)
    await server.restart();

    const busy = rawClient(server.wsUrl, small, server.adminToken);
    await busy.synced;
    // The first client of the large document only watches what arrives (applying 3+ MB here would hold this
    // process): the stored state comes at once, the server's sync step 1 once the document is built.
    const watcher = new WebSocket(
      `${server.wsUrl}/collab/${large.docId}?token=${encodeURIComponent(server.adminToken)}`,
    );
    let stateArrived = false;
    let serverStep1 = false;
    watcher.on('message', (data: Buffer) => {
      if (data[0] === 0 && data[1] === 0) serverStep1 = true;
      else if (data[0] === 0) stateArrived = true;
    });
    await waitFor(() => stateArrived, { message: 'the stored state' });
    // A change to the other document is stored and echoed while the large one is still being built.
    busy.doc.getMap('meta').set('note', 'written during the load');
    await busy.flushed();
    expect(serverStep1).toBe(false);

    await waitFor(() => serverStep1, { message: 'the large document to be built' });
    watcher.close();
    // A client that comes now gets it from the built document.
    const late = rawClient(server.wsUrl, large.docId, server.adminToken);
    await late.synced;
    expect(canonical(late.doc.getMap('threads').toJSON())).toBe(large.threads);
    expect(late.doc.getMap('threads').size).toBe(THREADS);
    expect(server.output()).not.toMatch(/built whole/);
    await Promise.all([busy.close(), late.close()]);
  });
});
