/**
 * Hostile updates beyond the per-field rules of policy.test.ts, crafted at the encoding level: things a stock
 * client never sends but a hostile one can. Each test states the outcome that must hold (nothing forged,
 * nobody's later work erased, presence not spoofed, sign-out ends sessions), and one pipelining case a stock
 * client does send: consecutive updates that depend on each other, sent before the first is stored.
 */
import { describe, expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { connect } from 'node:net';
import { articleText, createThread, readResolvedThreads, setThreadStatus, threadsMap } from '@marginalia/shared';
import { startServer, createDocument, createUser, addMember, api, login, type TestServer } from '../support/server.js';
import { rawClient, updateFrame, type RawClient } from '../support/raw-client.js';
import { connectClient, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';

interface Actor {
  token: string;
  id: string;
  name: string;
}

/** Encodes one client's consecutive structs as a V1 update with an empty delete set. */
function encodeStructs(structs: Array<Y.Item | Y.GC>): Uint8Array {
  const enc = new Y.UpdateEncoderV1() as any;
  encoding.writeVarUint(enc.restEncoder, 1);
  encoding.writeVarUint(enc.restEncoder, structs.length);
  enc.writeClient(structs[0]!.id.client);
  encoding.writeVarUint(enc.restEncoder, structs[0]!.id.clock);
  for (const s of structs) (s as any).write(enc, 0);
  encoding.writeVarUint(enc.restEncoder, 0);
  return enc.toUint8Array();
}

/** An update that only deletes clocks [clock, clock + len) of `client`. */
function deleteOnly(client: number, clock: number, len: number): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint(e, client);
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint(e, clock);
  encoding.writeVarUint(e, len);
  return encoding.toUint8Array(e);
}

/** The promise's value, or null after `ms`. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), ms))]);

const firstParagraph = (doc: Y.Doc) => doc.get('root', Y.XmlText).toDelta()[0].insert as Y.XmlText;

describe('hardening against crafted updates', () => {
  let server: TestServer;
  let docId: string;
  let carl: Actor; // commenter
  let eddy: Actor; // editor
  let cleo: Actor; // another commenter: the victim of forgeries
  let threadId: string;
  const open: Array<RawClient | TestClient> = [];
  const raw = (a: { token: string }, opts = {}) => {
    const c = rawClient(server.wsUrl, docId, a.token, opts);
    open.push(c);
    return c;
  };
  /** What a client connecting now receives. */
  async function fresh(): Promise<{ text: string; comments: { authorId: string; body: string }[] }> {
    const c = raw({ token: server.adminToken });
    await c.synced;
    return { text: articleText(c.doc), comments: readResolvedThreads(c.doc).flatMap((t) => t.comments) };
  }

  beforeAll(async () => {
    server = await startServer({ env: { MARGINALIA_SAMPLE: '0' } });
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const mk = (username: string, name: string, role: string): Promise<Actor> =>
      addMember(server, docId, username, name, role);
    carl = await mk('carl', 'Carl', 'commenter');
    cleo = await mk('cleo', 'Cleo', 'commenter');
    eddy = await mk('eddy', 'Eddy', 'editor');
    threadId = (
      await api(server.url, carl.token).post(`/documents/${docId}/threads`, { exact: 'new policy', body: 'first' })
    ).body.id;
  });
  afterEach(async () => {
    for (const c of open.splice(0)) {
      if ('provider' in c) c.destroy();
      else await c.close();
    }
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('consecutive dependent updates sent before the first is stored are all accepted (editor typing fast)', async () => {
    const e = raw(eddy, { manual: true });
    await e.synced;
    const updates: Uint8Array[] = [];
    e.doc.on('update', (u: Uint8Array) => updates.push(u));
    for (let i = 0; i < 20; i++) firstParagraph(e.doc).insert(i, String.fromCharCode(97 + i));
    for (const u of updates) e.send(updateFrame(u)); // one burst: the server reads them in one go
    await e.flushed();
    expect(e.isOpen()).toBe(true);
    expect((await fresh()).text).toMatch(/^abcdefghijklmnopqrst/);
  });

  test("a new comment cannot carry another user's id through two concurrent entries for authorId", async () => {
    const c = raw(carl, { manual: true });
    await c.synced;
    // carl's own doc (small client id) makes the comment; a second doc (larger id) sets authorId concurrently
    const a = new Y.Doc();
    Y.applyUpdate(a, Y.encodeStateAsUpdate(c.doc));
    a.clientID = 1000;
    const before = Y.encodeStateVector(a);
    const comment = new Y.Map<unknown>();
    a.transact(() => {
      ((threadsMap(a).get(threadId) as Y.Map<unknown>).get('comments') as Y.Array<unknown>).push([comment]);
      for (const [k, v] of Object.entries({
        id: crypto.randomUUID(),
        authorName: 'Carl',
        body: 'forged-concurrent',
        createdAt: 1,
        editedAt: null,
        deleted: false,
      }))
        comment.set(k, v);
    });
    const b = new Y.Doc();
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    b.clientID = 4_000_000_000;
    const bComment = ((threadsMap(b).get(threadId) as Y.Map<unknown>).get('comments') as Y.Array<Y.Map<unknown>>)
      .toArray()
      .at(-1)!;
    bComment.set('authorId', cleo.id); // wins in Yjs: same origin (none), higher client id
    comment.set('authorId', carl.id); // decoded last
    c.send(updateFrame(Y.mergeUpdates([Y.encodeStateAsUpdate(a, before), Y.encodeStateAsUpdate(b, before)])));
    expect((await within(c.closed, 3000))?.code).toBe(4403);
    expect((await fresh()).comments.filter((x) => x.body === 'forged-concurrent')).toEqual([]);
  });

  test("a new comment cannot carry another user's id as the last of several values in one map entry", async () => {
    const c = raw(carl, { manual: true });
    await c.synced;
    const sv = Y.encodeStateVector(c.doc);
    const comment = new Y.Map<unknown>();
    c.doc.transact(() => {
      ((threadsMap(c.doc).get(threadId) as Y.Map<unknown>).get('comments') as Y.Array<unknown>).push([comment]);
      for (const [k, v] of Object.entries({
        id: crypto.randomUUID(),
        authorName: 'Carl',
        body: 'forged-multi',
        createdAt: 1,
        editedAt: null,
        deleted: false,
      }))
        comment.set(k, v);
      comment.set('authorId', carl.id); // the last struct of the update
    });
    const structs = Y.decodeUpdate(Y.encodeStateAsUpdate(c.doc, sv)).structs as Y.Item[];
    const last = structs.at(-1)!;
    expect(last.parentSub).toBe('authorId');
    (last as any).content = new Y.ContentAny([carl.id, cleo.id]); // Y.Map reads the last value
    (last as any).length = 2;
    c.send(updateFrame(encodeStructs(structs)));
    expect((await within(c.closed, 3000))?.code).toBe(4403);
    expect((await fresh()).comments.filter((x) => x.body === 'forged-multi')).toEqual([]);
  });

  test("deleting clocks the server does not have yet cannot erase someone's later writing", async () => {
    const e = raw(eddy);
    await e.synced;
    firstParagraph(e.doc).insert(0, 'Eddy1 ');
    await e.flushed();
    const c = raw(carl, { manual: true });
    await c.synced;
    const sv = Y.encodeStateVector(c.doc);
    setThreadStatus(c.doc, threadId, 'resolved', carl.id); // a legitimate change, carrying the hostile delete set
    const hostile = Y.mergeUpdates([
      Y.encodeStateAsUpdate(c.doc, sv),
      deleteOnly(e.doc.clientID, Y.getState(e.doc.store, e.doc.clientID), 1_000_000),
    ]);
    c.send(updateFrame(hostile));
    await within(c.closed, 300);
    firstParagraph(e.doc).insert(0, 'Eddy2 ');
    await e.flushed();
    const seen = await fresh();
    expect(seen.text).toBe(articleText(e.doc));
    expect(seen.text).toMatch(/^Eddy2 Eddy1 /);
  });

  test("writing under another client's id cannot make the server drop that client's edits made meanwhile offline", async () => {
    const e = raw(eddy);
    await e.synced;
    firstParagraph(e.doc).insert(0, 'Before ');
    await e.flushed();
    const editorDoc = new Y.Doc();
    Y.applyUpdate(editorDoc, Y.encodeStateAsUpdate(e.doc));
    editorDoc.clientID = e.doc.clientID;
    await e.close();
    firstParagraph(editorDoc).insert(0, 'After '); // typed while offline (y-indexeddb keeps it)
    // meanwhile a commenter writes a thread under the editor's client id, at the editor's next clocks
    const c = raw(carl, { manual: true });
    await c.synced;
    const squat = new Y.Doc();
    Y.applyUpdate(squat, Y.encodeStateAsUpdate(c.doc));
    squat.clientID = editorDoc.clientID;
    const sv = Y.encodeStateVector(squat);
    createThread(squat, { exact: 'Critics', createdBy: carl.id, authorName: carl.name, body: 'squatting' });
    c.send(updateFrame(Y.encodeStateAsUpdate(squat, sv)));
    await within(c.closed, 300);
    // the editor reconnects with its offline edit
    const back = raw(eddy, { doc: editorDoc });
    await back.synced;
    await within(
      back.flushed(2000).catch(() => {}),
      2500,
    );
    const seen = await fresh();
    expect(seen.text).toMatch(/^After Before /);
  });

  test("a client cannot overwrite or remove another client's presence (awareness) state", async () => {
    const alice = connectClient(server.wsUrl, docId, cleo.token);
    const watcher = connectClient(server.wsUrl, docId, server.adminToken);
    open.push(alice, watcher);
    await Promise.all([alice.synced(), watcher.synced()]);
    alice.provider.awareness.setLocalStateField('user', { name: 'Cleo' });
    const aliceId = alice.doc.clientID;
    await waitFor(
      () =>
        (watcher.provider.awareness.getStates().get(aliceId) as { user?: { name: string } } | undefined)?.user?.name ===
        'Cleo',
    );
    const c = raw(carl);
    await c.synced;
    // a forged awareness entry for Cleo's client id with a higher clock, then Carl's own entry as a barrier
    const entry = (clientId: number, clock: number, state: unknown) => {
      const inner = encoding.createEncoder();
      encoding.writeVarUint(inner, 1);
      encoding.writeVarUint(inner, clientId);
      encoding.writeVarUint(inner, clock);
      encoding.writeVarString(inner, JSON.stringify(state));
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
      return encoding.toUint8Array(e);
    };
    c.send(entry(aliceId, 1_000, { user: { name: 'Cleo (really Carl)' } }));
    c.send(entry(c.doc.clientID, 1, { user: { name: 'Carl' } }));
    await waitFor(() => watcher.provider.awareness.getStates().has(c.doc.clientID) || !c.isOpen(), {
      message: 'barrier',
    });
    expect(
      (watcher.provider.awareness.getStates().get(aliceId) as { user?: { name: string } } | undefined)?.user?.name,
    ).toBe('Cleo');
  });

  test('an invalid WebSocket frame sent with the upgrade (before a connection takes the socket) ends only that socket', async () => {
    // The frame is not masked (a client's must be): ws reports it as an error on the socket, before the document is
    // loaded or while a refusal (4401, no token) waits for the client's close frame. Both requests carry it right
    // behind their headers, so it is parsed as soon as the socket is upgraded.
    const upgradeWithBadFrame = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const s = connect(server.port, '127.0.0.1', () => {
          s.write(
            Buffer.concat([
              Buffer.from(
                `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
              ),
              Buffer.from([0x82, 0x01, 0x00]),
            ]),
          );
        });
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString('latin1')));
        s.on('close', () => resolve(got));
        s.on('error', reject);
      });
    const refused = await upgradeWithBadFrame(`/collab/${docId}`);
    const loading = await upgradeWithBadFrame(`/collab/${docId}?token=${encodeURIComponent(carl.token)}`);
    expect(refused).toMatch(/^HTTP\/1.1 101/);
    expect(loading).toMatch(/^HTTP\/1.1 101/);
    expect(server.child.exitCode).toBeNull();
    expect((await api(server.url).get('/health')).status).toBe(200);
    expect((await fresh()).text).toContain('The minister announced');
  });

  test('a malformed sync step 1 (state vector) from a viewer closes only that connection (4400)', async () => {
    const vera = await createUser(server, 'vera', 'Vera');
    expect(
      (await api(server.url, server.adminToken).put(`/documents/${docId}/members/vera`, { role: 'viewer' })).status,
    ).toBe(200);
    const v = raw(vera, { manual: true });
    await v.synced;
    v.send(Uint8Array.of(0, 0, 1, 1)); // sync step 1 whose state vector announces a client and ends
    expect((await within(v.closed, 3000))?.code).toBe(4400);
    expect((await api(server.url).get('/health')).status).toBe(200);
    expect((await fresh()).text).toContain('The minister announced');
  });

  test("an owner's update with an empty delete range is refused as malformed; the document still loads after a restart", async () => {
    const o = raw({ token: server.adminToken }, { manual: true });
    await o.synced;
    const sv = Y.encodeStateVector(o.doc);
    o.doc.getMap('meta').set('note', 'with an empty delete range');
    const legit = Y.encodeStateAsUpdate(o.doc, sv);
    // same structs, and a delete set naming one range of length 0 past the document's clocks
    const bytes = Array.from(legit.subarray(0, legit.length - 1));
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, 12345);
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, 99);
    encoding.writeVarUint(e, 0);
    expect(legit.at(-1)).toBe(0); // the original update has an empty delete set
    o.send(updateFrame(Uint8Array.from([...bytes, ...encoding.toUint8Array(e)])));
    expect((await within(o.closed, 3000))?.code).toBe(4400);
    await server.restart();
    const seen = await fresh();
    expect(seen.text).toContain('The minister announced');
  });

  test('a commenter cannot store an update that refers forward to its own later struct (it would not load again)', async () => {
    const c = raw(carl, { manual: true });
    await c.synced;
    const sv = Y.encodeStateVector(c.doc);
    createThread(c.doc, { exact: 'Critics', createdBy: carl.id, authorName: carl.name, body: 'forward' });
    const structs = Y.decodeUpdate(Y.encodeStateAsUpdate(c.doc, sv)).structs as Y.Item[];
    const commentMap = structs.find((s) => s.parent !== null && typeof s.parent === 'object' && s.parentSub === null)!;
    const idField = structs.find((s) => s.parentSub === 'id')!;
    expect(commentMap.id.clock).toBeGreaterThan(idField.id.clock);
    (idField as any).parent = Y.createID(commentMap.id.client, commentMap.id.clock); // the thread's id field, inside the later comment map
    c.send(updateFrame(encodeStructs(structs)));
    expect((await within(c.closed, 3000))?.code).toBe(4400);
    await server.restart();
    expect((await fresh()).text).toContain('The minister announced');
  });

  test('signing out ends the WebSocket sessions opened with that token (close 4401)', async () => {
    const token = await login(server.url, 'carl', 'carl-password');
    const c = raw({ token });
    await c.synced;
    expect((await api(server.url, token).post('/auth/logout')).status).toBe(204);
    expect((await within(c.closed, 3000))?.code).toBe(4401);
  });
});
