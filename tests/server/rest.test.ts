import { describe, expect, test, beforeAll, afterAll } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, createUser, api, ROOT, type TestServer } from '../support/server.js';

const SEED = join(ROOT, '..', 'shared', 'fixtures', 'oped-kandahar-islamabad.txt');

describe('REST API', () => {
  let server: TestServer;
  let admin: ReturnType<typeof api>;
  let ann: { token: string; id: string };
  let bob: { token: string; id: string };

  beforeAll(async () => {
    server = await startServer();
    admin = api(server.url, server.adminToken);
    ann = await createUser(server, 'ann', 'Ann Analyst');
    bob = await createUser(server, 'bob', 'Bob Builder');
  });
  afterAll(async () => {
    await server.dispose();
  });

  describe('health, config and unknown routes', () => {
    test('GET /api/health answers ok', async () => {
      const r = await api(server.url).get('/health');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ok: true });
    });
    test('GET /api/config says guests are allowed', async () => {
      expect((await api(server.url).get('/config')).body).toMatchObject({ guests: true });
    });
    test('an unknown API route is a JSON 404', async () => {
      const r = await api(server.url).get('/nope');
      expect(r.status).toBe(404);
      expect(r.body.error).toMatch(/no such endpoint/);
    });
    test('the client app is served at / with a content security policy', async () => {
      const res = await fetch(`${server.url}/d/sample`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/<div id="root">/);
      expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    });
  });

  describe('auth', () => {
    test('login with the right password gives a token and the user', async () => {
      const r = await api(server.url).post('/auth/login', { username: 'ann', password: 'ann-password' });
      expect(r.status).toBe(200);
      expect(r.body.user).toMatchObject({ username: 'ann', name: 'Ann Analyst', id: ann.id });
      expect(typeof r.body.token).toBe('string');
      const me = await api(server.url, r.body.token).get('/auth/me');
      expect(me.body.user).toMatchObject({ username: 'ann' });
    });
    test('login is case-insensitive in the username', async () => {
      expect((await api(server.url).post('/auth/login', { username: 'ANN', password: 'ann-password' })).status).toBe(
        200,
      );
    });
    test('a wrong password or unknown user is 401 with the same message', async () => {
      const wrong = await api(server.url).post('/auth/login', { username: 'ann', password: 'nope-nope' });
      const unknown = await api(server.url).post('/auth/login', { username: 'zed', password: 'nope-nope' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body.error).toBe(unknown.body.error);
    });
    test('a login body without fields is 400 naming them', async () => {
      const r = await api(server.url).post('/auth/login', {});
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/username/);
    });
    test('malformed JSON is 400', async () => {
      const r = await api(server.url).post('/auth/login', '{"username": ');
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/not valid JSON/);
    });
    test('guest sign-in needs a name and gives a guest identity', async () => {
      expect((await api(server.url).post('/auth/guest', { name: '  ' })).status).toBe(400);
      const r = await api(server.url).post('/auth/guest', { name: 'Gus' });
      expect(r.status).toBe(200);
      expect(r.body.user).toMatchObject({ name: 'Gus', guest: true });
      expect(r.body.user.id).toMatch(/^guest:/);
    });
    test('no token, a bad token and a malformed header are 401', async () => {
      expect((await api(server.url).get('/auth/me')).status).toBe(401);
      expect((await api(server.url, 'garbage').get('/auth/me')).status).toBe(401);
      expect((await api(server.url).get('/auth/me', { authorization: 'Basic abc' })).status).toBe(401);
    });
    test('after logout the token no longer works', async () => {
      const r = await api(server.url).post('/auth/login', { username: 'bob', password: 'bob-password' });
      const bobApi = api(server.url, r.body.token);
      expect((await bobApi.post('/auth/logout')).status).toBe(204);
      expect((await bobApi.get('/auth/me')).status).toBe(401);
    });
    test('refresh gives a new working token', async () => {
      const r = await api(server.url, ann.token).post('/auth/refresh');
      expect(r.status).toBe(200);
      expect((await api(server.url, r.body.token).get('/auth/me')).body.user.username).toBe('ann');
    });
  });

  describe('users', () => {
    test('an admin creates users; the name is taken afterwards (409)', async () => {
      const r = await admin.post('/users', { username: 'Cleo', password: 'cleo-password', name: 'Cleo' });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ username: 'cleo', name: 'Cleo' });
      expect((await admin.post('/users', { username: 'cleo', password: 'other-password', name: 'C2' })).status).toBe(
        409,
      );
    });
    test('a non-admin may not create users (403), nor may anonymous callers (401)', async () => {
      expect(
        (await api(server.url, ann.token).post('/users', { username: 'dan', password: 'dan-password', name: 'Dan' }))
          .status,
      ).toBe(403);
      expect(
        (await api(server.url).post('/users', { username: 'dan', password: 'dan-password', name: 'Dan' })).status,
      ).toBe(401);
    });
    test('a short password or a bad username is 400', async () => {
      expect((await admin.post('/users', { username: 'eve', password: 'short', name: 'Eve' })).status).toBe(400);
      expect((await admin.post('/users', { username: 'e v e', password: 'long-enough', name: 'Eve' })).status).toBe(
        400,
      );
    });
  });

  describe('documents', () => {
    test('a user creates a document from text, markdown or html and becomes its owner', async () => {
      const annApi = api(server.url, ann.token);
      for (const [format, content] of [
        ['text', 'Plain paragraph one.\n\nPlain paragraph two.'],
        ['markdown', '# Heading\n\nSome *emphasis* here.'],
        ['html', '<h1>Title</h1><p>Hello <b>world</b><script>alert(1)</script></p>'],
      ] as const) {
        const r = await annApi.post('/documents', { title: `Doc ${format}`, format, content });
        expect(r.status).toBe(201);
        const got = await annApi.get(`/documents/${r.body.id}`);
        expect(got.body).toMatchObject({ id: r.body.id, title: `Doc ${format}`, role: 'owner' });
      }
      const text = await annApi.get(
        `/documents/${(await annApi.get('/documents')).body.find((d: { title: string }) => d.title === 'Doc html').id}/text`,
      );
      expect(text.text).toBe('Title\n\nHello world');
    });
    test('the list shows only documents the caller may see, with the role', async () => {
      const annDoc = (
        await api(server.url, ann.token).post('/documents', { title: 'Ann only', format: 'text', content: 'Secret.' })
      ).body.id;
      const bobList = (await api(server.url, bob.token).get('/documents')).body as { id: string; role: string }[];
      expect(bobList.some((d) => d.id === annDoc)).toBe(false);
      expect(bobList.find((d) => d.id === 'sample')).toMatchObject({ role: 'commenter' });
      const annList = (await api(server.url, ann.token).get('/documents')).body as { id: string; role: string }[];
      expect(annList.find((d) => d.id === annDoc)).toMatchObject({ role: 'owner', threadCount: 0 });
    });
    test('creating needs a title and content, a known format, and an account (guests 403)', async () => {
      const annApi = api(server.url, ann.token);
      expect((await annApi.post('/documents', { title: '', format: 'text', content: 'x' })).status).toBe(400);
      expect((await annApi.post('/documents', { title: 'T', format: 'pdf', content: 'x' })).status).toBe(400);
      expect((await annApi.post('/documents', { title: 'T', format: 'text', content: '' })).status).toBe(400);
      expect((await annApi.post('/documents', { title: 'T', format: 'text', content: '   \n\n  ' })).status).toBe(422);
      const guest = (await api(server.url).post('/auth/guest', { name: 'G' })).body.token;
      expect(
        (await api(server.url, guest).post('/documents', { title: 'T', format: 'text', content: 'x' })).status,
      ).toBe(403);
    });
    test('a body over the size limit is 413 and creates nothing', async () => {
      const before = (await admin.get('/documents')).body.length;
      const r = await api(server.url, ann.token).post('/documents', {
        title: 'Huge',
        format: 'text',
        content: 'x'.repeat(3 * 1024 * 1024),
      });
      expect(r.status).toBe(413);
      expect((await admin.get('/documents')).body.length).toBe(before);
    });
    test('reading a document: 404 when unknown, 403 without access', async () => {
      const annDoc = (
        await api(server.url, ann.token).post('/documents', { title: 'Private', format: 'text', content: 'P.' })
      ).body.id;
      expect((await api(server.url, bob.token).get(`/documents/${annDoc}`)).status).toBe(403);
      expect((await api(server.url, bob.token).get(`/documents/${annDoc}/text`)).status).toBe(403);
      expect((await api(server.url, bob.token).get('/documents/does-not-exist')).status).toBe(404);
      expect((await api(server.url, bob.token).get('/documents/bad.id')).status).toBe(404);
    });
    test('members: the owner adds, changes and removes members; others may not', async () => {
      const annApi = api(server.url, ann.token);
      const id = (await annApi.post('/documents', { title: 'Shared', format: 'text', content: 'Shared text.' })).body
        .id;
      expect((await annApi.put(`/documents/${id}/members/bob`, { role: 'commenter' })).status).toBe(200);
      expect((await api(server.url, bob.token).get(`/documents/${id}`)).body.role).toBe('commenter');
      expect((await api(server.url, bob.token).put(`/documents/${id}/members/bob`, { role: 'owner' })).status).toBe(
        403,
      );
      expect((await annApi.put(`/documents/${id}/members/bob`, { role: 'emperor' })).status).toBe(400);
      expect((await annApi.put(`/documents/${id}/members/nobody`, { role: 'viewer' })).status).toBe(404);
      expect(
        (await annApi.get(`/documents/${id}/members`)).body.map((m: { username: string }) => m.username).sort(),
      ).toEqual(['ann', 'bob']);
      expect((await annApi.delete(`/documents/${id}/members/bob`)).status).toBe(204);
      expect((await api(server.url, bob.token).get(`/documents/${id}`)).status).toBe(403);
      expect((await annApi.delete(`/documents/${id}/members/bob`)).status).toBe(404);
    });
    test('the last owner cannot leave or be demoted (409)', async () => {
      const annApi = api(server.url, ann.token);
      const id = (await annApi.post('/documents', { title: 'Solo', format: 'text', content: 'Solo.' })).body.id;
      expect((await annApi.put(`/documents/${id}/members/ann`, { role: 'editor' })).status).toBe(409);
      expect((await annApi.delete(`/documents/${id}/members/ann`)).status).toBe(409);
      expect((await annApi.get(`/documents/${id}`)).body.role).toBe('owner');
    });
    test('only the owner deletes a document; afterwards it is gone', async () => {
      const annApi = api(server.url, ann.token);
      const id = (await annApi.post('/documents', { title: 'Doomed', format: 'text', content: 'Bye.' })).body.id;
      await annApi.put(`/documents/${id}/members/bob`, { role: 'editor' });
      expect((await api(server.url, bob.token).delete(`/documents/${id}`)).status).toBe(403);
      expect((await annApi.delete(`/documents/${id}`)).status).toBe(204);
      expect((await annApi.get(`/documents/${id}`)).status).toBe(404);
    });
  });

  describe('the seed article', () => {
    const run = existsSync(SEED) ? test : test.skip;
    run(
      'imported as text, GET …/text returns its paragraphs joined by a blank line, character for character',
      async () => {
        const raw = readFileSync(SEED, 'utf8');
        const paragraphs = raw
          .replace(/\r\n?/g, '\n')
          .split(/\n[ \t]*\n+/)
          // the import's rule: trailing whitespace of a line is cut (it is invisible); every other character stays
          .map((p) =>
            p
              .split('\n')
              .map((line) => line.trimEnd())
              .join('\n')
              .replace(/^\n+|\n+$/g, ''),
          )
          .filter((p) => p.trim() !== '');
        const r = await api(server.url, ann.token).post('/documents', {
          title: 'Kandahar',
          format: 'text',
          content: raw,
        });
        expect(r.status).toBe(201);
        const text = (await api(server.url, ann.token).get(`/documents/${r.body.id}/text`)).text;
        expect(text).toBe(paragraphs.join('\n\n'));
        expect(text).toMatch(/[“”’—]/);
      },
    );
  });
});
