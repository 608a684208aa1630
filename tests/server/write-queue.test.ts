/**
 * The write path, in-process, over a real SQLite storage in a temporary directory: batching per event-loop
 * turn, order, store-before-broadcast, what a failed store leaves behind, the `stored` event, and the
 * extensions that follow it (compaction).
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { join } from 'node:path';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import { rootText, articleText } from '@marginalia/shared';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import type { Storage } from '@marginalia/server/storage/types.js';
import { WriteError } from '@marginalia/server/collab/write-queue.js';
import type { Extension, StoredEvent } from '@marginalia/server/collab/hooks.js';
import { Compaction } from '@marginalia/server/collab/compaction.js';
import { errorHandler } from '@marginalia/server/http/errors.js';
import { log } from '@marginalia/server/log.js';
import {
  RecordingPeer,
  clientCopy,
  limitsWith,
  openDocument,
  storageWith,
  updateFrom,
  type OpenDocument,
} from '../support/in-process.js';
import { tempDir } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The minister announced a new policy on Monday.';

/** Releases of held appends: a test that fails while holding one leaves none held for the next. */
const holds: (() => void)[] = [];

/** A storage whose appends are recorded, and can be held until released or made to fail. */
function watchedStorage(storage: Storage) {
  const appends: Uint8Array[][] = [];
  let gate: Promise<void> | null = null;
  let failNext: Error | null = null;
  const watched = storageWith(storage, {
    async appendUpdates(docId, updates) {
      appends.push(updates);
      const held = gate;
      if (held) await held;
      if (failNext) {
        const e = failNext;
        failNext = null;
        throw e;
      }
      return storage.log.appendUpdates(docId, updates);
    },
  });
  return {
    storage: watched,
    appends,
    /** Holds every append from now on until the returned function is called. */
    hold(): () => void {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r)).then(() => void (gate = null));
      holds.push(release);
      return release;
    },
    failNextAppend(e: Error) {
      failNext = e;
    },
  };
}

/** Records every `stored` event. */
function storedEvents(): { extension: Extension; events: StoredEvent[] } {
  const events: StoredEvent[] = [];
  return { extension: { onStored: (e) => void events.push(e) }, events };
}

/** The update a broadcast message carries. */
function updateIn(message: Uint8Array): Uint8Array {
  const d = decoding.createDecoder(message);
  decoding.readVarUint(d); // message type: sync
  const type = decoding.readVarUint(d);
  expect(type).toBe(syncProtocol.messageYjsUpdate);
  return decoding.readVarUint8Array(d);
}

/** The failure paths log what failed (as they should): kept out of the test output. */
const quietErrors = () => jest.spyOn(log, 'error').mockImplementation(() => {});

const typed = (doc: Y.Doc, at: number, text: string) => updateFrom(doc, (d) => rootText(d).insert(at, text));

describe('write queue', () => {
  let dir: ReturnType<typeof tempDir>;
  let base: Storage;
  let opened: OpenDocument | null;

  beforeEach(async () => {
    dir = tempDir();
    base = await openSqliteStorage(join(dir.path, 'marginalia.db'));
    opened = null;
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const release of holds.splice(0)) release();
    await opened?.registry.closeAll(1001, 'test over');
    await base.close();
    dir.remove();
  });

  const open = async (storage: Storage, extensions: Extension[] = [], limits = limitsWith()) =>
    (opened = await openDocument(storage, ARTICLE, { extensions, limits }));

  test('updates queued in one event-loop turn are stored in one append, one stored event, one broadcast', async () => {
    const w = watchedStorage(base);
    const { extension, events } = storedEvents();
    const { live, id } = await open(w.storage, [extension]);
    const peer = new RecordingPeer();
    live.peers.add(peer);
    const client = clientCopy(live);
    const before = Y.encodeStateAsUpdate(live.doc);
    const updates = [typed(client, 0, 'A'), typed(client, 1, 'B'), typed(client, 2, 'C')];

    await Promise.all(updates.map((u) => live.submit(u)));

    expect(w.appends).toEqual([updates]);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event!.documentId).toBe(id);
    expect(event!.document).toBe(live);
    const stored = await base.log.updatesAfter(id, event!.seqs[0]! - 1);
    expect(stored!.map((u) => u.seq)).toEqual(event!.seqs);
    expect(event!.seqs).toHaveLength(3);
    // the event's update is the batch merged: it brings a copy from before to the document's state
    const replica = new Y.Doc();
    Y.applyUpdate(replica, before);
    Y.applyUpdate(replica, event!.update);
    expect(articleText(replica)).toBe(articleText(live.doc));
    expect(articleText(live.doc).startsWith('ABC')).toBe(true);
    expect(peer.received).toHaveLength(1);
    expect(updateIn(peer.received[0]!)).toEqual(event!.update);
  });

  test('a batch waits for the one being stored; batches are stored and announced in the order queued', async () => {
    const w = watchedStorage(base);
    const { extension, events } = storedEvents();
    const { live } = await open(w.storage, [extension]);
    const client = clientCopy(live);
    const release = w.hold();
    const first = live.submit(typed(client, 0, '1'));
    await waitFor(() => w.appends.length === 1, { message: 'the first append started' });
    const rest = [live.submit(typed(client, 1, '2')), live.submit(typed(client, 2, '3'))];
    // the next turn comes and goes: nothing more is appended while the first batch is being stored
    await new Promise((r) => setImmediate(r));
    expect(w.appends).toHaveLength(1);
    release();
    await Promise.all([first, ...rest]);
    expect(w.appends.map((b) => b.length)).toEqual([1, 2]);
    expect(events.map((e) => e.seqs.length)).toEqual([1, 2]);
    expect(events[1]!.seqs[0]).toBe(events[0]!.seqs[0]! + 1);
    expect(articleText(live.doc).startsWith('123')).toBe(true);
  });

  test('nothing is applied or broadcast before it is stored', async () => {
    const w = watchedStorage(base);
    const { extension, events } = storedEvents();
    const { live } = await open(w.storage, [extension]);
    const peer = new RecordingPeer();
    live.peers.add(peer);
    const release = w.hold();
    const done = live.submit(typed(clientCopy(live), 0, 'Breaking: '));
    await waitFor(() => w.appends.length === 1, { message: 'the append started' });
    expect(articleText(live.doc).startsWith('Breaking')).toBe(false);
    expect(peer.received).toHaveLength(0);
    expect(events).toHaveLength(0);
    release();
    await done;
    expect(articleText(live.doc).startsWith('Breaking: ')).toBe(true);
    expect(peer.received).toHaveLength(1);
    expect(events).toHaveLength(1);
  });

  test('flush stores what is queued at once, without waiting for the end of the turn', async () => {
    const w = watchedStorage(base);
    const { live } = await open(w.storage);
    const done = live.submit(typed(clientCopy(live), 0, 'x'));
    void live.writes.flush();
    expect(w.appends).toHaveLength(1);
    await done;
  });

  test('settled resolves once every queued update is stored and applied', async () => {
    const { live, id } = await open(base);
    const client = clientCopy(live);
    const lastBefore = await base.log.lastSeq(id);
    for (let i = 0; i < 5; i++) {
      void live.submit(typed(client, i, String(i)));
      if (i % 2) await new Promise((r) => setImmediate(r));
    }
    await live.writes.settled();
    expect(await base.log.lastSeq(id)).toBe(lastBefore + 5);
    expect(articleText(live.doc).startsWith('01234')).toBe(true);
  });

  test("a failed store leaves a client's update nowhere: not applied, not sent, no stored event", async () => {
    const w = watchedStorage(base);
    const { extension, events } = storedEvents();
    const { live, id } = await open(w.storage, [extension]);
    const peer = new RecordingPeer();
    live.peers.add(peer);
    const lastBefore = await base.log.lastSeq(id);
    w.failNextAppend(new Error('disk full'));
    quietErrors();
    await expect(live.submit(typed(clientCopy(live), 0, 'lost '))).rejects.toThrow(
      new WriteError('could not store the update: disk full'),
    );
    expect(articleText(live.doc)).toBe(ARTICLE);
    expect(peer.received).toHaveLength(0);
    expect(events).toHaveLength(0);
    expect(await base.log.lastSeq(id)).toBe(lastBefore);
    // the copy is still what storage holds: it stays in service
    expect(live.broken).toBe(false);
    expect(peer.closed).toBeNull();
  });

  test('a failed store of a server-side change: clients closed with 1011, REST answers 503, the document reloads from storage', async () => {
    const w = watchedStorage(base);
    const { live, id, registry } = await open(w.storage);
    const peer = new RecordingPeer();
    live.peers.add(peer);
    w.failNextAppend(new Error('database went away'));
    quietErrors();
    const failure = await live
      .change((doc) => rootText(doc).insert(0, 'unstored '), 'rest')
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(failure).toBeInstanceOf(WriteError);
    expect(live.broken).toBe(true);
    expect(peer.closed).toEqual({ code: 1011, reason: 'document reloading' });

    const res = { statusCode: 0, body: undefined as unknown, headers: {} as Record<string, string> };
    const response = {
      status: (s: number) => ((res.statusCode = s), response),
      set: (k: string, v: string) => ((res.headers[k] = v), response),
      json: (b: unknown) => ((res.body = b), response),
    };
    const quiet = jest.spyOn(log, 'warn').mockImplementation(() => {});
    errorHandler(failure, {} as never, response as never, () => {});
    quiet.mockRestore();
    expect(res.statusCode).toBe(503);
    expect(res.headers['Retry-After']).toBe('1');

    registry.release(id);
    const reloaded = await registry.acquire(id);
    expect(reloaded).not.toBe(live);
    expect(articleText(reloaded.doc).startsWith('unstored')).toBe(false);
    expect(articleText(reloaded.doc)).toBe(ARTICLE);
    expect(reloaded.broken).toBe(false);
  });

  test('a store slower than 100 ms is logged with the document and batch size', async () => {
    const slow = storageWith(base, {
      appendUpdates: (docId, updates) =>
        new Promise((resolve, reject) =>
          // a slow disk: the append answers after 150 ms
          setTimeout(() => base.log.appendUpdates(docId, updates).then(resolve, reject), 150),
        ),
    });
    const { live, id } = await open(slow);
    // The document's own logger: every line it writes carries the document id.
    expect(live.log.pino.bindings()).toEqual({ doc: id });
    const warn = jest.spyOn(live.log, 'warn').mockImplementation(() => {});
    try {
      await live.submit(typed(clientCopy(live), 0, 'slow '));
      expect(warn).toHaveBeenCalledWith('slow storage write', { ms: expect.any(Number), updates: 1 });
      const fields = warn.mock.calls.find((c) => c[0] === 'slow storage write')![1] as { ms: number };
      expect(fields.ms).toBeGreaterThanOrEqual(100);
    } finally {
      warn.mockRestore();
    }
  });

  test('an extension that throws on stored stops neither the others nor the write path', async () => {
    const { extension, events } = storedEvents();
    const broken: Extension = {
      onStored: () => {
        throw new Error('extension bug');
      },
    };
    const quiet = jest.spyOn(log, 'error').mockImplementation(() => {});
    try {
      const { live } = await open(base, [broken, extension]);
      const client = clientCopy(live);
      await live.submit(typed(client, 0, 'a'));
      await live.submit(typed(client, 1, 'b'));
      expect(events).toHaveLength(2);
      expect(quiet).toHaveBeenCalledWith('extension failed', { hook: 'onStored', error: 'extension bug' });
    } finally {
      quiet.mockRestore();
    }
  });

  test('compaction follows stored batches: a long log is folded into a snapshot from what is stored', async () => {
    const limits = limitsWith({ compactAfterUpdates: 3 });
    const { live, id, registry } = await open(base, [new Compaction(base, limits)], limits);
    const client = clientCopy(live);
    for (let i = 0; i < 5; i++) await live.submit(typed(client, i, String(i)));
    await waitFor(async () => (await base.log.loadState(id)).snapshot !== null, { message: 'a snapshot' });
    await waitFor(() => live.storedLog.logEntries < 5, { message: 'the log accounted as folded' });
    const state = await base.log.loadState(id);
    const rebuilt = new Y.Doc();
    Y.applyUpdate(rebuilt, state.snapshot!);
    for (const u of state.updates) Y.applyUpdate(rebuilt, u.data);
    expect(articleText(rebuilt)).toBe(articleText(live.doc));
    // unloading waits for a compaction in flight, so storage can close right after
    await registry.closeAll(1001, 'done');
    opened = null;
  });
});
