/**
 * XSS, server side: hostile comment bodies, user and guest names, titles and tag names are stored verbatim and
 * come back as JSON (or text/plain), never interpreted or half-escaped; responses carry nosniff, and exports are
 * served as sandboxed downloads with a safe file name. Rendering them (client, exports) is tested elsewhere.
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals';
import { startServer, createUser, api, type TestServer } from '../support/server.js';
import { rawClient } from '../support/raw-client.js';
import { readResolvedThreads, readVocabulary } from '@marginalia/shared';

const HOSTILE: string[] = [
  '<script>alert(1)</script>',
  '<img src=x onerror="alert(document.cookie)">',
  '"><svg/onload=alert(1)>',
  "'; DROP TABLE documents; --",
  'javascript:alert(1)',
  '{{constructor.constructor("alert(1)")()}}',
  '</textarea><iframe srcdoc="<script>parent.alert(1)</script>">',
  '&lt;already escaped&gt; &amp; &#x3C;',
  'line\u2028separator\u2029and <b>bold</b> \u202Eright-to-left',
  '[click](javascript:alert(1)) ![x](x" onerror="alert(1))',
  '=HYPERLINK("http://evil.example","x")',
];

describe('hostile text is stored verbatim and returned as data', () => {
  let server: TestServer;
  let owner: ReturnType<typeof api>;
  let docId: string;
  const title = `Title ${HOSTILE[0]} ${HOSTILE[2]} "quoted"\r\nSet-Cookie: pwned=1`;

  beforeAll(async () => {
    server = await startServer({ env: { MARGINALIA_SAMPLE: '0' } });
    const user = await createUser(server, 'writer', `Writer ${HOSTILE[1]}`);
    owner = api(server.url, user.token);
    const created = await owner.post('/documents', {
      title,
      format: 'text',
      content: `Article with ${HOSTILE[0]} in its text.\n\nSecond paragraph ${HOSTILE[1]}.`,
      guestRole: 'commenter',
      author: HOSTILE[2],
    });
    expect(created.status).toBe(201);
    docId = created.body.id;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('a title, an author and an article body come back byte for byte, as JSON and text/plain with nosniff', async () => {
    const doc = await owner.get(`/documents/${docId}`);
    expect(doc.headers.get('content-type')).toMatch(/^application\/json/);
    expect(doc.headers.get('x-content-type-options')).toBe('nosniff');
    expect(doc.body.title).toBe(title.trim());
    expect((await owner.get('/documents')).body.find((d: { id: string }) => d.id === docId).title).toBe(title.trim());
    const text = await owner.get(`/documents/${docId}/text`);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text.headers.get('x-content-type-options')).toBe('nosniff');
    expect(text.text).toBe(`Article with ${HOSTILE[0]} in its text.\n\nSecond paragraph ${HOSTILE[1]}.`);
    const c = rawClient(server.wsUrl, docId, server.adminToken);
    await c.synced;
    expect(c.doc.getMap('meta').get('author')).toBe(HOSTILE[2]);
    await c.close();
  });

  test('comment bodies (new, replies, edits) are stored verbatim, over REST and as the document holds them', async () => {
    const ids: string[] = [];
    for (const body of HOSTILE) {
      const t = await owner.post(`/documents/${docId}/threads`, { exact: 'Second paragraph', body });
      expect(t.status).toBe(201);
      ids.push(t.body.id);
      const reply = await owner.post(`/documents/${docId}/threads/${t.body.id}/comments`, { body: `re: ${body}` });
      expect(reply.status).toBe(201);
      const edited = await owner.patch(`/documents/${docId}/threads/${t.body.id}/comments/${reply.body.id}`, {
        body: `edit: ${body}`,
      });
      expect(edited.status).toBe(200);
    }
    const threads = await owner.get(`/documents/${docId}/threads`);
    expect(threads.headers.get('content-type')).toMatch(/^application\/json/);
    for (const [i, body] of HOSTILE.entries()) {
      const t = threads.body.find((x: { id: string }) => x.id === ids[i]);
      expect(t.comments.map((x: { body: string }) => x.body)).toEqual([body, `edit: ${body}`]);
      expect(t.comments[0].authorName).toBe(`Writer ${HOSTILE[1]}`);
    }
    // the raw JSON escapes nothing beyond JSON's own rules (no HTML entities invented on the way)
    expect(threads.text).toContain(JSON.stringify(HOSTILE[0]).slice(1, -1));
    expect(threads.text).not.toContain('&lt;script');
    const c = rawClient(server.wsUrl, docId, server.adminToken);
    await c.synced;
    const bodies = readResolvedThreads(c.doc).flatMap((t) => t.comments.map((x) => x.body));
    for (const body of HOSTILE) expect(bodies).toContain(body);
    await c.close();
  });

  test('user names, guest names and tag names are stored verbatim', async () => {
    const me = await owner.get('/auth/me');
    expect(me.body.user.name).toBe(`Writer ${HOSTILE[1]}`);
    for (const name of [HOSTILE[0], HOSTILE[2], HOSTILE[8]]) {
      const guest = await api(server.url).post('/auth/guest', { name });
      expect(guest.status).toBe(200);
      expect(guest.body.user.name).toBe(name);
      const t = await api(server.url, guest.body.token).post(`/documents/${docId}/threads`, {
        exact: 'Article with',
        body: 'guest says hi',
      });
      expect(t.status).toBe(201);
      const thread = (await owner.get(`/documents/${docId}/threads/${t.body.id}`)).body;
      expect(thread.comments[0].authorName).toBe(name);
    }
    const tags = ['<b onmouseover=alert(1)>tag</b>', '"><script>x</script>', 'a/b?c#d %'];
    for (const tag of tags) {
      const put = await owner.put(`/documents/${docId}/vocabulary/${encodeURIComponent(tag)}`, {
        color: '#aa0000',
        description: HOSTILE[1],
      });
      expect(put.status).toBe(200);
      expect(put.body.name).toBe(tag);
    }
    const vocabulary = (await owner.get(`/documents/${docId}/vocabulary`)).body;
    for (const tag of tags) expect(vocabulary[tag]).toEqual({ color: '#aa0000', description: HOSTILE[1] });
    const t = await owner.post(`/documents/${docId}/threads`, { exact: 'in its text', body: 'tagged', tags });
    expect(t.status).toBe(201);
    expect((await owner.get(`/documents/${docId}/threads/${t.body.id}`)).body.tags).toEqual(tags);
    const c = rawClient(server.wsUrl, docId, server.adminToken);
    await c.synced;
    expect(Object.keys(readVocabulary(c.doc))).toEqual(expect.arrayContaining(tags));
    await c.close();
  });

  test('errors that echo hostile input are JSON, not HTML', async () => {
    const missing = await owner.get(`/documents/${docId}/threads/${encodeURIComponent(HOSTILE[0]!)}`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    const unknownTag = await owner.post(`/documents/${docId}/threads`, {
      exact: 'in its text',
      body: 'x',
      tags: [HOSTILE[1]],
    });
    expect(unknownTag.status).toBe(422);
    expect(unknownTag.headers.get('content-type')).toMatch(/^application\/json/);
    expect(unknownTag.body.error).toContain(HOSTILE[1]);
    const route = await owner.get(`/${encodeURIComponent(HOSTILE[0]!)}`);
    expect(route.status).toBe(404);
    expect(route.headers.get('content-type')).toMatch(/^application\/json/);
  });

  test('every export is a sandboxed download whose file name cannot break the header', async () => {
    for (const format of ['md', 'html', 'w3c', 'csv', 'docx', 'json']) {
      const res = await owner.get(`/documents/${docId}/export?format=${format}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toMatch(/sandbox/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const disposition = res.headers.get('content-disposition')!;
      expect(disposition).toMatch(
        /^attachment; filename="[A-Za-z0-9 ._-]+"; filename\*=UTF-8''[A-Za-z0-9%._~!$&+,;=:@-]+$/,
      );
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });
});
