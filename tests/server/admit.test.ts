/**
 * Admission of an update, in-process: every rule `admit` holds, each on a real document loaded from a real
 * (in-memory SQLite) storage, with the update built as a client builds it.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import * as Y from 'yjs';
import { createThread, deleteThread, rootText } from '@marginalia/shared';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import type { Storage } from '@marginalia/server/storage/types.js';
import { admit, admitPresence, type Admission, type Writer } from '@marginalia/server/collab/admit.js';
import { decodeAwarenessEntries, encodeAwarenessEntries } from '@marginalia/server/collab/protocol.js';
import { applyAwarenessUpdate } from 'y-protocols/awareness';
import {
  clientCopy,
  limitsWith,
  openDocument,
  storageWith,
  updateFrom,
  type OpenDocument,
} from '../support/in-process.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The minister announced a new policy on Monday. Critics said the policy lacked detail.';

const owner: Writer = { role: 'owner', userId: 'owner-1', userName: 'Olga' };
const editor: Writer = { role: 'editor', userId: 'editor-1', userName: 'Eddy' };
const carl: Writer = { role: 'commenter', userId: 'commenter-1', userName: 'Carl' };
const cleo: Writer = { role: 'commenter', userId: 'commenter-2', userName: 'Cleo' };
const viera: Writer = { role: 'viewer', userId: 'viewer-1', userName: 'Vera' };

/** A new thread on the article's first words, created by `who`. */
const threadArgs = (who: Writer) => ({
  start: 4,
  end: 12,
  createdBy: who.userId,
  authorName: who.userName,
  body: 'why?',
});
/** The change a client makes to create that thread. */
const threadBy = (who: Writer) => (doc: Y.Doc) => void createThread(doc, threadArgs(who));

describe('admit', () => {
  let storage: Storage;
  let opened: OpenDocument[];

  const open = async (opts: Parameters<typeof openDocument>[2] = {}, over: Storage = storage) => {
    const d = await openDocument(over, ARTICLE, opts);
    opened.push(d);
    return d;
  };
  const decide = async (...args: Parameters<typeof admit>): Promise<Admission> => admit(...args);

  beforeEach(async () => {
    storage = await openSqliteStorage(':memory:');
    opened = [];
  });
  afterEach(async () => {
    for (const d of opened) await d.registry.closeAll(1001, 'test over');
    await storage.close();
  });

  test('an update from a viewer is refused, whatever it changes', async () => {
    const { live } = await open();
    const update = updateFrom(clientCopy(live), threadBy(viera));
    expect(await decide(live, update, viera)).toEqual({ kind: 'refused', rule: 'viewers may not change the document' });
  });

  test('bytes that are not a Yjs update are malformed', async () => {
    const { live } = await open();
    const decision = await decide(live, Uint8Array.from([1, 200, 7, 3]), owner);
    expect(decision).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/^malformed update/) });
  });

  test('an update the document already has is nothing new (and needs no role)', async () => {
    const { live } = await open();
    expect(await decide(live, Y.encodeStateAsUpdate(live.doc), viera)).toEqual({ kind: 'nothing-new' });
  });

  test('a commenter may create a thread of their own', async () => {
    const { live } = await open();
    expect(await decide(live, updateFrom(clientCopy(live), threadBy(carl)), carl)).toEqual({ kind: 'accepted' });
  });

  test("a commenter may not create a thread in someone else's name", async () => {
    const { live } = await open();
    const update = updateFrom(clientCopy(live), threadBy(cleo));
    expect(await decide(live, update, carl)).toEqual({
      kind: 'refused',
      rule: "a new thread must carry its creator's own user id",
    });
  });

  test('a commenter may not change the article; an editor may', async () => {
    const { live } = await open();
    const edit = (doc: Y.Doc) => rootText(doc).insert(0, 'Breaking: ');
    expect(await decide(live, updateFrom(clientCopy(live), edit), carl)).toEqual({
      kind: 'refused',
      rule: 'commenters may change only threads (touched root)',
    });
    expect(await decide(live, updateFrom(clientCopy(live), edit), editor)).toEqual({ kind: 'accepted' });
  });

  test('only an owner may delete a thread', async () => {
    const { live } = await open();
    let threadId = '';
    const created = updateFrom(clientCopy(live), (doc) => ({ threadId } = createThread(doc, threadArgs(carl))));
    await live.submit(created);
    const removal = updateFrom(clientCopy(live), (doc) => deleteThread(doc, threadId));
    expect(await decide(live, removal, editor)).toEqual({ kind: 'refused', rule: 'only owners may delete threads' });
    expect(await decide(live, removal, owner)).toEqual({ kind: 'accepted' });
  });

  test('a Yjs client id belongs to the first user who writes under it', async () => {
    const { live } = await open();
    expect(await decide(live, updateFrom(clientCopy(live, 555), threadBy(carl)), carl)).toEqual({ kind: 'accepted' });
    // Cleo's client writes under the same id: a valid change, but in Carl's name inside the CRDT.
    expect(await decide(live, updateFrom(clientCopy(live, 555), threadBy(cleo)), cleo)).toEqual({
      kind: 'refused',
      rule: 'Yjs client id 555 belongs to another user',
    });
  });

  test('the claim on a client id is stored: it holds for a copy loaded afresh', async () => {
    const first = await open();
    expect(await decide(first.live, updateFrom(clientCopy(first.live, 777), threadBy(carl)), carl)).toMatchObject({
      kind: 'accepted',
    });
    await first.registry.closeAll(1001, 'reload');
    const again = await first.registry.acquire(first.id);
    expect(again).not.toBe(first.live);
    expect(await decide(again, updateFrom(clientCopy(again, 777), threadBy(cleo)), cleo)).toEqual({
      kind: 'refused',
      rule: 'Yjs client id 777 belongs to another user',
    });
  });

  test('a writer whose client ids are known is decided without waiting (no storage round trip)', async () => {
    const { live } = await open();
    const copy = clientCopy(live, 4242);
    const first = updateFrom(copy, threadBy(carl));
    expect(admit(live, first, carl)).toBeInstanceOf(Promise);
    expect(await admit(live, first, carl)).toEqual({ kind: 'accepted' });
    await live.submit(first);
    const second = updateFrom(copy, threadBy(carl));
    const decision = admit(live, second, carl);
    expect(decision).not.toBeInstanceOf(Promise);
    expect(decision).toEqual({ kind: 'accepted' });
  });

  test('when the claim cannot be stored, the update is not taken now (the client sends it again)', async () => {
    const failing = storageWith(storage, {
      claimClientIds: () => Promise.reject(new Error('database is down')),
    });
    const { live } = await open({}, failing);
    expect(await decide(live, updateFrom(clientCopy(live), threadBy(carl)), carl)).toEqual({
      kind: 'not-now',
      reason: 'update not stored: database is down',
    });
  });

  test('a document past its size limit takes no more updates; a broken rule is still named first', async () => {
    const { live } = await open({ limits: limitsWith({ maxDocumentBytes: 1024 }) });
    // grow the stored document past 1 KiB
    await live.submit(updateFrom(clientCopy(live), (doc) => rootText(doc).insert(0, 'x'.repeat(2000))));
    expect(live.storedBytes).toBeGreaterThan(1024);
    expect(await decide(live, updateFrom(clientCopy(live), threadBy(carl)), carl)).toEqual({
      kind: 'too-large',
      rule: 'the document has reached its size limit (1 KiB)',
    });
    expect(await decide(live, updateFrom(clientCopy(live), threadBy(cleo)), carl)).toMatchObject({ kind: 'refused' });
  });

  test('an update that builds on what this copy lacks is not taken now, and the copy catches up from the log', async () => {
    const { live, id } = await open();
    const copy = clientCopy(live, 9001);
    // Another instance stored `earlier` to the shared log; this copy has not seen it.
    const earlier = updateFrom(copy, (doc) => doc.getText('scratch').insert(0, 'abc'));
    await storage.log.appendUpdates(id, [earlier]);
    const later = updateFrom(copy, (doc) => doc.getText('scratch').insert(3, 'd'));
    expect(await decide(live, later, owner)).toEqual({
      kind: 'not-now',
      reason: 'the update builds on content this server does not have yet; reconnecting',
    });
    await waitFor(() => live.doc.getText('scratch').toString() === 'abc', { message: 'the copy caught up' });
    expect(await decide(live, later, owner)).toEqual({ kind: 'accepted' });
  });

  test('a copy being reloaded takes no updates', async () => {
    const { live } = await open();
    live.discard();
    expect(await decide(live, updateFrom(clientCopy(live), threadBy(carl)), carl)).toEqual({ kind: 'reloading' });
  });
});

describe('admitPresence', () => {
  let storage: Storage;
  let opened: OpenDocument;
  const sender = (id: string) => ({ controlledIds: new Set<number>(), principal: { id } });
  const presence = (...entries: { clientId: number; clock: number; state: unknown }[]) =>
    encodeAwarenessEntries(entries.map((e) => ({ ...e, state: JSON.stringify(e.state) })));

  beforeEach(async () => {
    storage = await openSqliteStorage(':memory:');
    opened = await openDocument(storage, ARTICLE);
  });
  afterEach(async () => {
    await opened.registry.closeAll(1001, 'test over');
    await storage.close();
  });

  test("a client's own new state passes as it was sent", () => {
    const update = presence({ clientId: 10, clock: 1, state: { name: 'Ann' } });
    expect(admitPresence(opened.live, update, sender('ann'))).toBe(update);
  });

  test('a state that changes nothing (an old clock) applies nothing', () => {
    const ann = sender('ann');
    applyAwarenessUpdate(opened.live.awareness, presence({ clientId: 10, clock: 3, state: { name: 'Ann' } }), ann);
    expect(admitPresence(opened.live, presence({ clientId: 10, clock: 2, state: { name: 'Old' } }), ann)).toBeNull();
  });

  test("entries for another client's announced id are dropped; the sender's own entries still apply", () => {
    const ann = sender('ann');
    applyAwarenessUpdate(opened.live.awareness, presence({ clientId: 50, clock: 1, state: { name: 'Ann' } }), ann);
    expect(ann.controlledIds.has(50)).toBe(true);
    const admitted = admitPresence(
      opened.live,
      presence(
        { clientId: 50, clock: 2, state: { name: 'Mallory' } },
        { clientId: 60, clock: 1, state: { name: 'Bob' } },
      ),
      sender('bob'),
    );
    expect(admitted).toBeInstanceOf(Uint8Array);
    expect(decodeAwarenessEntries(admitted as Uint8Array).map((e) => e.clientId)).toEqual([60]);
  });

  test.each([
    ['presence state too large', { name: 'x'.repeat(9000) }],
    ['presence state must be an object or null', [1, 2]],
    ['presence state must be an object or null', 'text'],
  ])('a state refused as "%s" ends the session', (reason, state) => {
    const admitted = admitPresence(opened.live, presence({ clientId: 10, clock: 1, state }), sender('ann'));
    expect(admitted).toEqual({ kind: 'malformed', reason });
  });

  test('a state that is not JSON, or bytes that are not an awareness update, end the session', () => {
    const notJson = encodeAwarenessEntries([{ clientId: 10, clock: 1, state: '{nope' }]);
    expect(admitPresence(opened.live, notJson, sender('ann'))).toEqual({
      kind: 'malformed',
      reason: 'presence state is not JSON',
    });
    expect(admitPresence(opened.live, Uint8Array.from([5, 1]), sender('ann'))).toEqual({
      kind: 'malformed',
      reason: 'malformed awareness update',
    });
  });
});
