/**
 * A new client's first sync of a large document: while the document loads, the client is sent the stored
 * state at once (the build of the document then runs beside the client's own apply); once it is loaded,
 * joiners get the cached full state plus what changed since, and are complete when sync step 2 arrives.
 */
import { describe, expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import WebSocket from 'ws';
import * as decoding from 'lib0/decoding';
import { articleIndex, createThread, readThread } from '@marginalia/shared';
import { adminAuthor, startServer, createDocument, type TestServer } from '../support/server.js';
import { connectClient, canonical, type TestClient } from '../support/clients.js';
import { rawClient, syncStep1, type RawClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'A short article.\n\nThe threads below make the document large.';
const BULK = 'x'.repeat(3000);

const stateOf = (doc: Y.Doc) =>
  canonical({ threads: doc.getMap('threads').toJSON(), meta: doc.getMap('meta').toJSON() });

/** The thread id (a UUID) the test calls `name`. */
const ids = new Map<string, string>();
function idOf(name: string): string {
  if (!ids.has(name)) ids.set(name, crypto.randomUUID());
  return ids.get(name)!;
}

/**
 * Adds `n` readable threads of ~3 KB each, one transaction (one update) per thread (real threads: compaction
 * purges maps no reader can read).
 */
function addThreads(doc: Y.Doc, author: { id: string; name: string }, prefix: string, n: number): void {
  for (let i = 0; i < n; i++)
    createThread(doc, {
      id: idOf(`${prefix}-${i}`),
      start: 0,
      end: 7,
      createdBy: author.id,
      authorName: author.name,
      body: `${prefix} ${i} ${BULK}`,
    });
}

/** Every frame of a socket that only listens (it sends nothing), decoded to type, sync kind and payload. */
function listen(url: string): { frames: { type: number; sub: number; payload: Uint8Array | null }[]; ws: WebSocket } {
  const frames: { type: number; sub: number; payload: Uint8Array | null }[] = [];
  const ws = new WebSocket(url);
  ws.on('message', (data: Buffer) => {
    const d = decoding.createDecoder(new Uint8Array(data));
    const type = decoding.readVarUint(d);
    if (type !== 0) return void frames.push({ type, sub: -1, payload: null });
    const sub = decoding.readVarUint(d);
    frames.push({ type, sub, payload: decoding.readVarUint8Array(d) });
  });
  return { frames, ws };
}

describe('first sync of a large document', () => {
  let server: TestServer;
  let docId: string;
  const providers: TestClient[] = [];
  const raws: RawClient[] = [];

  beforeAll(async () => {
    // Compaction after a few entries, so that the document is stored as a snapshot plus a log.
    server = await startServer({ env: { MARGINALIA_COMPACT_AFTER_UPDATES: '10', MARGINALIA_UNLOAD_GRACE_MS: '200' } });
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const writer = rawClient(server.wsUrl, docId, server.adminToken);
    await writer.synced;
    addThreads(writer.doc, adminAuthor(server), 'stored', 60);
    await writer.flushed(20_000);
    await writer.close();
    await server.restart(); // graceful: the document is stored, and nobody has it loaded now
  });
  afterEach(async () => {
    for (const p of providers.splice(0)) p.destroy();
    for (const r of raws.splice(0)) await r.close();
  });
  afterAll(async () => {
    await server.dispose();
  });

  test('a client that arrives while the document loads is sent the stored state first; clients writing meanwhile converge', async () => {
    const listener = listen(`${server.wsUrl}/collab/${docId}?token=${encodeURIComponent(server.adminToken)}`);
    const a = connectClient(server.wsUrl, docId, server.adminToken);
    const b = connectClient(server.wsUrl, docId, server.adminToken);
    providers.push(a, b);
    // A writes at once, before it is synced: its update waits for the document and is then stored.
    a.doc.getMap('meta').set('source', 'written while loading');
    try {
      await waitFor(() => listener.frames.some((f) => f.type === 0 && f.sub === 0), {
        message: "the server's sync step 1 (sent once loaded)",
      });
      const firstStep1 = listener.frames.findIndex((f) => f.type === 0 && f.sub === 0);
      const before = listener.frames.slice(0, firstStep1);
      // Before the document was loaded, the listener already had all of it: sync data ending in a sync step 2.
      expect(before.length).toBeGreaterThan(0);
      expect(before.every((f) => f.type === 0 && (f.sub === 1 || f.sub === 2))).toBe(true);
      expect(before.at(-1)!.sub).toBe(1);
      const seen = new Y.Doc();
      for (const f of before) Y.applyUpdate(seen, f.payload!);
      expect(seen.getMap('threads').size).toBe(60);
      expect(readThread(seen, idOf('stored-59'))?.comments[0]?.body).toBe(`stored 59 ${BULK}`);
    } finally {
      listener.ws.close();
    }
    await Promise.all([a.synced(20_000), b.synced(20_000)]);
    await waitFor(
      () => stateOf(a.doc) === stateOf(b.doc) && b.doc.getMap('meta').get('source') === 'written while loading',
      {
        timeout: 20_000,
        message: 'both clients converge, with what A wrote while the document loaded',
      },
    );
    expect(b.doc.getMap('threads').size).toBe(60);
    const expected = stateOf(a.doc);
    for (const p of providers.splice(0)) p.destroy();
    // Stored: after a restart a fresh client sees the same.
    await server.restart();
    const fresh = rawClient(server.wsUrl, docId, server.adminToken);
    raws.push(fresh);
    await fresh.synced;
    expect(stateOf(fresh.doc)).toBe(expected);
  });

  test('a client joining the loaded document is complete when its sync step 2 arrives, changes since the cached state included', async () => {
    const writer = rawClient(server.wsUrl, docId, server.adminToken);
    raws.push(writer);
    await writer.synced; // loads the document: its snapshot is the cached full state
    addThreads(writer.doc, adminAuthor(server), 'later', 5);
    writer.doc.getMap('threads').delete(idOf('stored-0'));
    await writer.flushed();
    for (let round = 0; round < 3; round++) {
      const joiner = rawClient(server.wsUrl, docId, server.adminToken);
      raws.push(joiner);
      await joiner.synced; // resolves right after the first sync step 2 was applied
      expect(stateOf(joiner.doc)).toBe(stateOf(writer.doc));
      expect(joiner.doc.getMap('threads').has(idOf('stored-0'))).toBe(false);
      expect(joiner.doc.getMap('threads').has(idOf('later-4'))).toBe(true);
      writer.doc.getMap('meta').set('round', round);
      await writer.flushed();
    }
  });
});

describe('first sync of a large document that was never compacted', () => {
  let server: TestServer;
  afterAll(async () => {
    await server.dispose();
  });

  test('the first joiner caches the full state; later joiners are complete at sync step 2, later changes included', async () => {
    server = await startServer(); // default compaction thresholds: 60 small entries stay in the log
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const writer = rawClient(server.wsUrl, docId, server.adminToken);
    await writer.synced;
    addThreads(writer.doc, adminAuthor(server), 'logged', 60);
    await writer.flushed(20_000);
    const joiners: RawClient[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        const joiner = rawClient(server.wsUrl, docId, server.adminToken);
        joiners.push(joiner);
        await joiner.synced;
        expect(stateOf(joiner.doc)).toBe(stateOf(writer.doc));
        expect(joiner.doc.getMap('threads').size).toBe(60 + round - (round > 1 ? 1 : 0));
        addThreads(writer.doc, adminAuthor(server), `round${round}`, 1);
        if (round === 1) writer.doc.getMap('threads').delete(idOf('logged-5'));
        await writer.flushed();
      }
    } finally {
      for (const j of joiners) await j.close();
      await writer.close();
    }
  });
});

describe("a large document's lead: the article before the threads", () => {
  let server: TestServer;
  afterAll(async () => {
    await server.dispose();
  });

  /** The sync frames a new client with nothing is sent up to its first sync step 2, the server's step 1 left out. */
  async function framesOfNewClient(docId: string): Promise<{ sub: number; payload: Uint8Array }[]> {
    const { frames, ws } = listen(`${server.wsUrl}/collab/${docId}?token=${encodeURIComponent(server.adminToken)}`);
    try {
      await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
      ws.send(syncStep1(new Y.Doc()));
      await waitFor(() => frames.some((f) => f.type === 0 && f.sub === 1), { message: 'sync step 2', timeout: 20_000 });
      const upTo = frames.findIndex((f) => f.type === 0 && f.sub === 1);
      return frames
        .slice(0, upTo + 1)
        .filter((f) => f.type === 0 && f.sub !== 0)
        .map((f) => ({ sub: f.sub, payload: f.payload! }));
    } finally {
      ws.close();
    }
  }

  test('a new client is sent the lead first, while the document loads and once it is loaded; applied alone it is the article', async () => {
    // Compaction after a few entries: the threads end up in a snapshot large enough to get a lead.
    server = await startServer({
      env: { MARGINALIA_COMPACT_AFTER_UPDATES: '10', MARGINALIA_UNLOAD_GRACE_MS: '10000' },
    });
    const docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const writer = rawClient(server.wsUrl, docId, server.adminToken);
    await writer.synced;
    // The threads as one log entry (about 450 KB), then one thread per entry: the eleventh stored starts a
    // compaction, whatever the timing, and its snapshot holds every thread (the restart waits for it to end). Only
    // threads: a writer's edit outside them would bring its threads into the lead.
    writer.doc.transact(() => addThreads(writer.doc, adminAuthor(server), 'lead', 150));
    await writer.flushed(20_000);
    for (let i = 0; i < 11; i++) {
      addThreads(writer.doc, adminAuthor(server), `tick${i}`, 1);
      await writer.flushed(20_000);
    }
    const expected = stateOf(writer.doc);
    await writer.close();
    await server.restart();
    // The first client loads the document (it is sent the stored state while the document is built), the second
    // joins it loaded.
    for (const when of ['loading', 'loaded']) {
      const frames = await framesOfNewClient(docId);
      expect({ when, first: frames[0]!.sub }).toEqual({ when, first: 2 }); // an update, before the rest
      const early = new Y.Doc();
      Y.applyUpdate(early, frames[0]!.payload);
      expect(early.store.pendingStructs).toBeNull();
      expect(articleIndex(early).text).toContain('A short article.');
      expect(early.getMap('meta').get('schemaVersion')).toBe(1);
      expect(early.getMap('threads').size).toBe(0);
      const total = frames.reduce((n, f) => n + f.payload.byteLength, 0);
      expect(frames[0]!.payload.byteLength).toBeLessThan(total / 10);
      // Everything after it completes the document.
      for (const f of frames.slice(1)) Y.applyUpdate(early, f.payload);
      expect(early.store.pendingStructs).toBeNull();
      expect(stateOf(early)).toBe(expected);
      early.destroy();
    }
  });
});
