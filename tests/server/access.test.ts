import { describe, expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import WebSocket from 'ws';
import { createThread } from '@marginalia/shared';
import { startServer, createDocument, createUser, api, type TestServer } from '../support/server.js';
import { connectClient, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'A paragraph to protect.\n\nAnother one.';

/** Opens a raw socket and resolves with how it ended: an HTTP status at upgrade, or a close code. */
function rawConnect(url: string): Promise<{ status?: number; code?: number; reason?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      ws.terminate();
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', () => {});
  });
}

describe('who may connect and write', () => {
  let server: TestServer;
  let docId: string;
  let viewer: { token: string; id: string };
  let commenter: { token: string; id: string };
  let outsider: { token: string; id: string };
  const clients: TestClient[] = [];
  const client = (token: string | null, id = docId) => {
    const c = connectClient(server.wsUrl, id, token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startServer();
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    viewer = await createUser(server, 'vera', 'Vera Viewer');
    commenter = await createUser(server, 'carl', 'Carl Commenter');
    outsider = await createUser(server, 'olga', 'Olga Outsider');
    const owner = api(server.url, server.adminToken);
    expect((await owner.put(`/documents/${docId}/members/vera`, { role: 'viewer' })).status).toBe(200);
    expect((await owner.put(`/documents/${docId}/members/carl`, { role: 'commenter' })).status).toBe(200);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(async () => {
    await server.dispose();
  });

  test('no token, a bad token, an outsider and an unknown document are refused with 4401/4403/4404', async () => {
    expect(await rawConnect(`${server.wsUrl}/collab/${docId}`)).toMatchObject({ code: 4401 });
    expect(await rawConnect(`${server.wsUrl}/collab/${docId}?token=not-a-token`)).toMatchObject({ code: 4401 });
    expect(await rawConnect(`${server.wsUrl}/collab/${docId}?token=${outsider.token}`)).toMatchObject({ code: 4403 });
    expect(await rawConnect(`${server.wsUrl}/collab/no-such-doc?token=${server.adminToken}`)).toMatchObject({
      code: 4404,
    });
  });

  test('an invalid document id or path is refused at upgrade', async () => {
    expect(await rawConnect(`${server.wsUrl}/collab/${'x'.repeat(65)}?token=${server.adminToken}`)).toEqual({
      status: 400,
    });
    expect(await rawConnect(`${server.wsUrl}/collab/bad.id?token=${server.adminToken}`)).toEqual({ status: 400 });
    expect(await rawConnect(`${server.wsUrl}/elsewhere/${docId}`)).toEqual({ status: 404 });
  });

  test('a browser from a foreign origin is refused at upgrade', async () => {
    const result = await new Promise<{ status?: number }>((resolve) => {
      const ws = new WebSocket(`${server.wsUrl}/collab/${docId}?token=${server.adminToken}`, {
        origin: 'https://evil.example',
      });
      ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
      ws.on('open', () => resolve({}));
      ws.on('error', () => {});
    });
    expect(result).toEqual({ status: 403 });
  });

  test('a viewer reads the document, but its update is refused: not applied, not stored, not broadcast', async () => {
    const owner = client(server.adminToken);
    const v = client(viewer.token);
    await Promise.all([owner.synced(), v.synced()]);
    expect(v.doc.get('root', Y.XmlText).length).toBe(owner.doc.get('root', Y.XmlText).length);

    v.doc.getMap('meta').set('title', 'hijacked');
    await waitFor(() => v.closes.some((c) => c.code === 4403), { message: 'viewer closed with 4403' });
    expect(v.closes.find((c) => c.code === 4403)?.reason).toMatch(/permission denied: viewers may not change/);

    // The owner writes after the refused update; once the owner's own write has come back, the refused one would have too.
    owner.doc.getMap('meta').set('marker', 'after');
    const fresh = client(server.adminToken);
    await fresh.synced(); // the owner's broadcast may reach a joining client before its sync step 2
    await waitFor(() => fresh.doc.getMap('meta').get('marker') === 'after');
    expect(fresh.doc.getMap('meta').get('title')).not.toBe('hijacked');
    expect(owner.doc.getMap('meta').get('title')).not.toBe('hijacked');
  });

  test('a commenter may change threads but not the article: an update touching root is refused whole', async () => {
    const owner = client(server.adminToken);
    const c = client(commenter.token);
    await Promise.all([owner.synced(), c.synced()]);
    // a thread arrives whole, with its first comment by its creator
    const { threadId } = createThread(c.doc, {
      start: 0,
      end: 3,
      createdBy: commenter.id,
      authorName: 'Carl Commenter',
      body: 'a thread',
    });
    await waitFor(() => owner.doc.getMap('threads').has(threadId));

    const before = owner.doc.get('root', Y.XmlText).toString();
    c.doc.transact(() => {
      c.doc.getMap('threads').set('second', new Y.Map());
      c.doc.get('root', Y.XmlText).insert(0, 'vandalism ');
    });
    await waitFor(() => c.closes.some((x) => x.code === 4403));
    owner.doc.getMap('meta').set('marker2', 'after');
    const fresh = client(server.adminToken);
    await fresh.synced(); // the owner's broadcast may reach a joining client before its sync step 2
    await waitFor(() => fresh.doc.getMap('meta').get('marker2') === 'after');
    expect(fresh.doc.get('root', Y.XmlText).toString()).toBe(before);
    expect(fresh.doc.getMap('threads').has('second')).toBe(false);
    expect(owner.doc.getMap('threads').has('second')).toBe(false);
  });

  test('the sample document is open to guests as commenters', async () => {
    const guest = await api(server.url).post('/auth/guest', { name: 'Gina Guest' });
    expect(guest.status).toBe(200);
    const g = client(guest.body.token, 'sample');
    await g.synced();
    expect(g.doc.get('root', Y.XmlText).length).toBeGreaterThan(0);
    expect(g.doc.getMap('meta').get('title')).toMatch(/River/);
    // but a guest cannot open a document that is not open to guests
    expect(await rawConnect(`${server.wsUrl}/collab/${docId}?token=${guest.body.token}`)).toMatchObject({ code: 4403 });
  });
});
