/**
 * A new thread must arrive whole and valid, over the WebSocket path: stock Yjs clients (y-websocket) write maps
 * by hand as a hostile or careless client would. Refused updates are closed with 4403 "permission denied:
 * <rule>", audited, and never reach storage or other clients, whoever sends them (owners: matrix.test.ts,
 * policy-unit.test.ts); what was stored incomplete before these rules stays out of every reader and cannot be
 * filled in.
 */
import { describe, expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import { readThreads, threadsMap } from '@marginalia/shared';
import { startServer, createDocument, addMember, api, type TestServer, type Member } from '../support/server.js';
import { connectClient, canonical, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { writeToStoredLog } from '../support/stored-log.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';

describe('a new thread arrives whole and valid (WebSocket)', () => {
  let server: TestServer;
  let docId: string;
  let carl: Member; // commenter
  let watcher: TestClient;
  let existing: string; // a thread by carl, made over REST
  const clients: TestClient[] = [];

  const connect = async (token: string) => {
    const c = connectClient(server.wsUrl, docId, token);
    clients.push(c);
    await c.synced();
    return c;
  };
  const threadsOf = (doc: Y.Doc) => canonical(threadsMap(doc).toJSON());

  /**
   * A thread map as createThread lays it out, with `over` applied (undefined: the field is left out), in one
   * transaction: one update.
   */
  function handMadeThread(doc: Y.Doc, key: string, over: Record<string, unknown> = {}): void {
    doc.transact(() => writeThread(doc, key, over));
  }
  function writeThread(doc: Y.Doc, key: string, over: Record<string, unknown>): void {
    const model = threadsMap(doc).get(existing)!;
    const map = new Y.Map<unknown>();
    threadsMap(doc).set(key, map);
    const comment = new Y.Map<unknown>(
      Object.entries({
        id: crypto.randomUUID(),
        authorId: carl.id,
        authorName: carl.name,
        body: 'by hand',
        createdAt: 1,
        editedAt: null,
        deleted: false,
      }),
    );
    const fields: Record<string, unknown> = {
      id: key,
      anchor: model.get('anchor'),
      quote: model.get('quote'),
      createdBy: carl.id,
      createdAt: 1,
      status: 'open',
      resolvedBy: null,
      resolvedAt: null,
      tags: new Y.Array<string>(),
      comments: Y.Array.from([comment]),
      ...over,
    };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) map.set(k, v);
  }

  /** Runs `change` as carl and expects it refused whole for `rule`: closed 4403, unseen, not stored. */
  async function expectRefused(change: (doc: Y.Doc) => void, rule: RegExp) {
    const before = threadsOf(watcher.doc);
    const c = await connect(carl.token);
    change(c.doc);
    await waitFor(() => c.closes.some((x) => x.code === 4403), { message: 'close 4403' });
    expect(c.closes.find((x) => x.code === 4403)!.reason).toMatch(/^permission denied: /);
    expect(c.closes.find((x) => x.code === 4403)!.reason).toMatch(rule);
    const marker = `m${Math.random()}`;
    watcher.doc.getMap('meta').set('marker', marker);
    const fresh = await connect(server.adminToken);
    await waitFor(() => fresh.doc.getMap('meta').get('marker') === marker);
    expect(threadsOf(fresh.doc)).toBe(before);
    expect(threadsOf(watcher.doc)).toBe(before);
  }

  beforeAll(async () => {
    server = await startServer();
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    carl = await addMember(server, docId, 'carl', 'Carl', 'commenter');
    existing = (await api(server.url, carl.token).post(`/documents/${docId}/threads`, { exact: 'minister', body: 'x' }))
      .body.id;
    watcher = connectClient(server.wsUrl, docId, server.adminToken);
    await watcher.synced();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(async () => {
    watcher.destroy();
    await server.dispose();
  });

  test('a complete thread made by hand is accepted', async () => {
    const key = crypto.randomUUID();
    const c = await connect(carl.token);
    handMadeThread(c.doc, key);
    await waitFor(() => readThreads(watcher.doc).some((t) => t.id === key), { message: 'the thread arrives' });
    expect(c.closes.filter((x) => x.code === 4403)).toEqual([]);
  });

  test('an empty map is refused, under a UUID, a short key or a 200,000-character key', async () => {
    await expectRefused((d) => threadsMap(d).set(crypto.randomUUID(), new Y.Map()), /arrives with its id/);
    await expectRefused((d) => threadsMap(d).set('x', new Y.Map()), /key is its id, a UUID/);
    await expectRefused((d) => threadsMap(d).set('k'.repeat(200_000), new Y.Map()), /key is its id, a UUID/);
  });

  test('a thread under a key other than its id, missing a field, or with an extra field is refused', async () => {
    await expectRefused((d) => handMadeThread(d, crypto.randomUUID(), { id: crypto.randomUUID() }), /match its key/);
    await expectRefused((d) => handMadeThread(d, crypto.randomUUID(), { quote: undefined }), /with its quote/);
    await expectRefused(
      (d) => handMadeThread(d, crypto.randomUUID(), { comments: new Y.Array() }),
      /with its first comment/,
    );
    await expectRefused((d) => handMadeThread(d, crypto.randomUUID(), { extra: 1 }), /unknown thread field "extra"/);
  });

  test('a reply missing a field or over the body limit is refused', async () => {
    const reply = (fields: Record<string, unknown>) => (d: Y.Doc) =>
      (threadsMap(d).get(existing)!.get('comments') as Y.Array<Y.Map<unknown>>).push([
        new Y.Map<unknown>(Object.entries(fields).filter(([, v]) => v !== undefined)),
      ]);
    const complete = {
      id: crypto.randomUUID(),
      authorId: carl.id,
      authorName: carl.name,
      body: 'reply',
      createdAt: 1,
      deleted: false,
    };
    await expectRefused(reply({ ...complete, createdAt: undefined }), /arrives with its createdAt/);
    await expectRefused(reply({ ...complete, body: 'x'.repeat(20_001) }), /at most 20000 characters/);
  });

  test('a map stored incomplete (as clients could before) is hidden and cannot be filled in', async () => {
    const junk = crypto.randomUUID();
    // no client can store it now, owners included: it is written to the stored log (the server restarts)
    await writeToStoredLog(server, docId, (doc) => threadsMap(doc).set(junk, new Y.Map()));
    await waitFor(() => threadsMap(watcher.doc).has(junk), { timeout: 10_000, message: 'the watcher reconnects' });
    const c = await connect(carl.token);
    await waitFor(() => threadsMap(c.doc).has(junk), { message: 'the junk arrives' });
    const listed = await api(server.url, carl.token).get(`/documents/${docId}/threads`);
    expect(listed.body.map((t: { id: string }) => t.id)).not.toContain(junk);
    const exported = await api(server.url, carl.token).get(`/documents/${docId}/export?format=json`);
    expect(exported.text).not.toContain(junk);
    await expectRefused((d) => {
      const map = threadsMap(d).get(junk)!;
      map.set('id', junk);
      map.set('createdBy', carl.id);
    }, /may not change a thread's (id|createdBy)/);
  });

  test('every refusal is in the audit log with its rule', async () => {
    const audit = await api(server.url, server.adminToken).get(`/documents/${docId}/audit`);
    const rules = audit.body
      .filter((e: { action: string }) => e.action === 'update.rejected')
      .map((e: { detail: { rule: string } | string }) => JSON.stringify(e.detail));
    expect(rules.some((r: string) => r.includes('key is its id, a UUID'))).toBe(true);
    expect(rules.some((r: string) => r.includes('arrives with its first comment'))).toBe(true);
  });
});
