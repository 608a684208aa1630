/**
 * Coldload: the seed article with 10,000 threads / 30,000 comments stored (written into the SQLite file with the
 * server's own storage and import code, the threads made with shared's mutators by 50 different authors), then,
 * per run, a freshly started server and two new clients in separate processes: load (a raw client: connect ->
 * the server's sync step 1, which it sends once the document is loaded) and first sync (connect -> a real
 * WebsocketProvider's `sync`).
 */
import { join } from 'node:path';
import * as Y from 'yjs';
import { createDocument, openSqliteStorage } from '@marginalia/server';
import { addComment, articleIndex, anchorFromOffsets, createThread } from '@marginalia/shared';
import { ask, loadavg, stop } from './lib/proc.js';
import type { Target } from './lib/clients.js';
import { ADMIN, BENCH_USER, provision, startTarget } from './servers.js';
import { ARTICLE, startGenerator } from './scenarios.js';

export interface ColdloadRun {
  load_ms: number;
  /** Connect -> the first frame with document state at a raw client (what the server adds before the client's apply). */
  first_data_ms: number;
  /** Connect -> the server's sync step 2 (the whole state) has arrived at that raw client, before any apply. */
  state_received_ms: number;
  /** Connect -> the article has text at the real provider (applied; a client could show it). */
  article_ms: number;
  first_sync_ms: number;
  /** The same for a second provider, on the loaded document. */
  warm_article_ms: number;
  warm_first_sync_ms: number;
  /** What a client spends applying the state it is sent (Y.applyUpdate in the generator). */
  client_apply_ms: number;
  state_bytes: number;
  stored_bytes: number;
  load_before: string;
  load_after: string;
}

const BODIES = [
  'This figure contradicts the ministry statement from March; we need the primary source before publishing.',
  'Agree. Flagging for the fact-check desk.',
  'The quote is accurate but the context is missing: the speaker was answering a different question.',
  'Source confirmed by two independent reports.',
];

/** Adds `threads` threads with `perThread` comments each (the first included), spread over the article. */
export function addThreads(doc: Y.Doc, threads: number, perThread: number): void {
  const index = articleIndex(doc);
  const len = index.text.length;
  const anchors: ReturnType<typeof anchorFromOffsets>[] = [];
  for (let s = 0; anchors.length < 500; s = (s + 97) % (len - 80)) {
    try {
      anchors.push(anchorFromOffsets(index, s, s + 20 + (s % 60)));
    } catch {
      // a span of blank lines between blocks: skip
    }
  }
  const clientBase = 100_000 + Math.floor(Math.random() * 1e6);
  for (let i = 0; i < threads; i++) {
    const author = i % 50;
    doc.clientID = clientBase + author; // 50 analysts wrote these
    const a = anchors[i % anchors.length]!;
    const who = { id: `00000000-0000-4000-8000-${String(author).padStart(12, '0')}`, name: `Analyst ${author}` };
    const { threadId } = createThread(doc, {
      anchor: a.anchor,
      quote: a.quote,
      createdBy: who.id,
      authorName: who.name,
      body: BODIES[i % BODIES.length]!,
      tags: i % 3 === 0 ? ['fact-check'] : [],
    });
    for (let c = 1; c < perThread; c++) {
      const replier = (author + c * 7) % 50;
      doc.clientID = clientBase + replier;
      addComment(doc, threadId, {
        authorId: `00000000-0000-4000-8000-${String(replier).padStart(12, '0')}`,
        authorName: `Analyst ${replier}`,
        body: BODIES[(i + c) % BODIES.length]!,
      });
    }
  }
}

/** Creates the data directory with the big document; returns it and the document id. */
export async function buildColdloadData(
  threads: number,
  comments: number,
): Promise<{ dataDir: string; docId: string; storedBytes: number }> {
  // Start once so that the server creates its schema, the admin and the bench account; then write directly.
  const first = await startTarget('marginalia');
  const dataDir = first.dataDir!;
  await provision(first, []);
  await stop(first.child.proc);
  const storage = await openSqliteStorage(join(dataDir, 'marginalia.db'));
  try {
    const admin = await storage.getUserByUsername(ADMIN.username);
    const docId = await createDocument(storage, {
      title: 'Coldload: the article with 10,000 threads',
      format: 'text',
      content: ARTICLE,
      guestRole: 'commenter',
      createdBy: admin!.id,
      ownerId: admin!.id,
      decorate: (doc) => addThreads(doc, threads, comments / threads),
    });
    // Stored as a document that size is: compacted into a snapshot (with its lead), not one huge log entry.
    await storage.log.compact(docId);
    const state = await storage.log.loadState(docId);
    return {
      dataDir,
      docId,
      storedBytes: state.updates.reduce((n, u) => n + u.data.byteLength, state.snapshot?.byteLength ?? 0),
    };
  } finally {
    await storage.close();
  }
}

export async function runColdload(
  data: { dataDir: string; docId: string; storedBytes: number },
  cpuProfDir?: string,
): Promise<ColdloadRun> {
  const load_before = loadavg();
  const server = await startTarget('marginalia', { dataDir: data.dataDir, ...(cpuProfDir ? { cpuProfDir } : {}) });
  const [gen, loadGen] = await Promise.all([startGenerator(), startGenerator()]);
  try {
    const res = await fetch(`${server.http}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: BENCH_USER.username, password: BENCH_USER.password }),
    });
    const { token, user } = (await res.json()) as { token: string; user: { id: string; name: string } };
    const target: Target = { server: 'marginalia', base: server.ws, token, userId: user.id, userName: user.name };
    type Sync = Pick<
      ColdloadRun,
      'article_ms' | 'first_sync_ms' | 'warm_article_ms' | 'warm_first_sync_ms' | 'client_apply_ms' | 'state_bytes'
    >;
    const [sync, load] = await Promise.all([
      ask<Sync>(gen.proc, { cmd: 'coldload', target, doc: data.docId }, 120_000),
      ask<Pick<ColdloadRun, 'load_ms' | 'first_data_ms' | 'state_received_ms'>>(
        loadGen.proc,
        { cmd: 'coldloadRaw', target, doc: data.docId },
        120_000,
      ),
    ]);
    return { ...load, ...sync, stored_bytes: data.storedBytes, load_before, load_after: loadavg() };
  } finally {
    await stop(gen.proc);
    await stop(loadGen.proc);
    await server.stop();
  }
}
