/**
 * Exports and annotation imports over REST and the CLI, against a spawned server: who may do what (401, 403, 404),
 * what is refused (400 bad format, 422 bad collection), content types and file names, filters, and a W3C round trip
 * from one document into a fresh copy of its article.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, api, createDocument, createUser, startServer, tempDir, type TestServer } from '../support/server.js';
import { parseCsv } from './helpers.js';

/**
 * Runs the CLI without blocking this process: a synchronous run would hold the event loop while the server closes
 * the idle keep-alive connection of this process's fetch, which then fails on its next request.
 */
const runCli = async (args: string[], env: NodeJS.ProcessEnv): Promise<string> =>
  (await promisify(execFile)(process.execPath, [CLI, ...args], { env, encoding: 'utf8' })).stdout;

const ARTICLE =
  'Night trains were written off twice.\n\nBoth times the obituary was premature: sleeper demand is back.\n\nBorder checks still slow them down.';

let server: TestServer;
let owner: { token: string; id: string };
let commenter: { token: string; id: string };
let viewer: { token: string; id: string };
let outsider: { token: string; id: string };
let docId: string;

beforeAll(async () => {
  server = await startServer({ env: { MARGINALIA_SAMPLE: '0' } });
  const users = await Promise.all(
    ['olga', 'cora', 'vic', 'otto'].map((u) => createUser(server, u, u[0]!.toUpperCase() + u.slice(1))),
  );
  [owner, commenter, viewer, outsider] = users as [typeof owner, typeof owner, typeof owner, typeof owner];
  docId = await createDocument(server.url, owner.token, ARTICLE, { title: 'Night trains: "the return" / part 1' });
  const asOwner = api(server.url, owner.token);
  for (const [username, role] of [
    ['cora', 'commenter'],
    ['vic', 'viewer'],
  ])
    expect((await asOwner.put(`/documents/${docId}/members/${username}`, { role })).status).toBe(200);
  expect((await asOwner.put(`/documents/${docId}/vocabulary/claim`, { color: '#d9822b' })).status).toBe(200);
  const t1 = await asOwner.post(`/documents/${docId}/threads`, {
    exact: 'written off twice',
    body: 'Since when?',
    tags: ['claim'],
  });
  expect(t1.status).toBe(201);
  await api(server.url, commenter.token).post(`/documents/${docId}/threads/${t1.body.id}/comments`, {
    body: 'Since the 2000s.',
  });
  const t2 = await api(server.url, commenter.token).post(`/documents/${docId}/threads`, {
    exact: 'sleeper demand is back',
    body: '=HYPERLINK("x")',
  });
  await api(server.url, commenter.token).patch(`/documents/${docId}/threads/${t2.body.id}`, { status: 'resolved' });
});

afterAll(async () => {
  await server?.dispose();
});

describe('GET /api/documents/:id/export', () => {
  const CONTENT_TYPES = {
    md: 'text/markdown',
    html: 'text/html',
    w3c: 'application/ld+json',
    csv: 'text/csv',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    json: 'application/json',
  } as const;

  test.each(Object.entries(CONTENT_TYPES))(
    'format=%s answers 200 with content type %s, as a download named after the title',
    async (format, type) => {
      const res = await fetch(`${server.url}/api/documents/${docId}/export?format=${format}`, {
        headers: { authorization: `Bearer ${viewer.token}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')!.split(';')[0]).toBe(type);
      const ext = format === 'w3c' ? 'jsonld' : format;
      expect(res.headers.get('content-disposition')).toContain(
        `attachment; filename="Night trains the return part 1.${ext}"`,
      );
      expect(res.headers.get('content-disposition')).toContain(
        "filename*=UTF-8''Night%20trains%3A%20%22the%20return%22%20%2F%20part%201.",
      );
      const body = new Uint8Array(await res.arrayBuffer());
      if (format === 'docx') expect([...body.slice(0, 2)]).toEqual([0x50, 0x4b]);
      else expect(new TextDecoder().decode(body)).toContain('written off twice');
    },
  );

  test('filters by status, tags and authors', async () => {
    const get = async (query: string) =>
      JSON.parse(
        (await api(server.url, owner.token).get(`/documents/${docId}/export?format=json&${query}`)).text,
      ).threads.map((t: { quote: { exact: string } }) => t.quote.exact);
    expect(await get('status=resolved')).toEqual(['sleeper demand is back']);
    expect(await get('status=open')).toEqual(['written off twice']);
    expect(await get('tags=claim,other')).toEqual(['written off twice']);
    expect(await get('authors=Cora')).toEqual(['written off twice', 'sleeper demand is back']);
    expect(await get(`authors=${owner.id}`)).toEqual(['written off twice']);
  });

  test('csv neutralises a formula written through REST', async () => {
    const rows = parseCsv((await api(server.url, owner.token).get(`/documents/${docId}/export?format=csv`)).text);
    expect(rows.map((r) => r[10])).toContain('\'=HYPERLINK("x")');
  });

  test('refuses: 401 without a token, 403 to a non-member, 404 for no document, 400 for a bad format or status', async () => {
    expect((await api(server.url).get(`/documents/${docId}/export?format=md`)).status).toBe(401);
    expect((await api(server.url, outsider.token).get(`/documents/${docId}/export?format=md`)).status).toBe(403);
    expect((await api(server.url, owner.token).get('/documents/no-such-doc/export?format=md')).status).toBe(404);
    const bad = await api(server.url, owner.token).get(`/documents/${docId}/export?format=pdf`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/format must be one of md, html, w3c, csv, docx, json/);
    expect((await api(server.url, owner.token).get(`/documents/${docId}/export`)).status).toBe(400);
    expect((await api(server.url, owner.token).get(`/documents/${docId}/export?format=md&status=done`)).status).toBe(
      400,
    );
  });
});

describe('POST /api/documents/:id/import', () => {
  test('a W3C export imported into a fresh copy of the article gives the same threads; twice changes nothing', async () => {
    const collection = JSON.parse(
      (await api(server.url, owner.token).get(`/documents/${docId}/export?format=w3c`)).text,
    );
    const copyId = await createDocument(server.url, owner.token, ARTICLE, { title: 'Copy' });
    await api(server.url, owner.token).put(`/documents/${copyId}/members/cora`, { role: 'commenter' });
    const asCommenter = api(server.url, commenter.token);
    const first = await asCommenter.post(`/documents/${copyId}/import?format=w3c`, JSON.stringify(collection), {
      'content-type': 'application/ld+json',
    });
    expect(first.status).toBe(200);
    // A commenter may not add tags to the vocabulary: the copy has no "claim" tag yet, so it is reported as dropped.
    expect(first.body).toMatchObject({
      imported: 2,
      orphaned: [],
      skipped: 0,
      comments: 3,
      rejected: [],
      droppedTags: ['claim'],
    });
    const original = (await api(server.url, owner.token).get(`/documents/${docId}/threads`)).body as any[];
    const copied = (await api(server.url, owner.token).get(`/documents/${copyId}/threads`)).body as any[];
    const shape = (ts: any[]) =>
      ts.map((t) => ({
        id: t.id,
        quote: t.quote,
        start: t.start,
        end: t.end,
        status: t.status,
        anchorState: t.anchorState,
        comments: t.comments.map((c: any) => [c.id, c.authorName, c.body, c.createdAt]),
      }));
    expect(shape(copied)).toEqual(shape(original));
    expect(copied[0].comments[0].authorId).toBe(`import:urn:marginalia:user:${owner.id}`);
    const again = await asCommenter.post(`/documents/${copyId}/import?format=w3c`, collection);
    expect(again.body).toMatchObject({ imported: 0, skipped: 2, comments: 0 });
    expect(((await api(server.url, owner.token).get(`/documents/${copyId}/threads`)).body as any[]).length).toBe(2);
  });

  test('an owner importing a JSON dump restores the tags into the vocabulary', async () => {
    const dump = JSON.parse((await api(server.url, owner.token).get(`/documents/${docId}/export?format=json`)).text);
    const copyId = await createDocument(server.url, owner.token, ARTICLE, { title: 'Restore' });
    const res = await api(server.url, owner.token).post(`/documents/${copyId}/import?format=json`, dump);
    expect(res.body).toMatchObject({ imported: 2, droppedTags: [] });
    expect((await api(server.url, owner.token).get(`/documents/${copyId}/vocabulary`)).body).toEqual({
      claim: { color: '#d9822b' },
    });
    const threads = (await api(server.url, owner.token).get(`/documents/${copyId}/threads`)).body as any[];
    expect(threads.map((t) => [t.quote.exact, t.status, t.tags])).toEqual([
      ['written off twice', 'open', ['claim']],
      ['sleeper demand is back', 'resolved', []],
    ]);
  });

  test('refuses: 401, 403 for a viewer or non-member, 404, 400 for a bad format, 422 for a bad collection', async () => {
    const collection = { type: 'AnnotationPage', items: [] };
    expect((await api(server.url).post(`/documents/${docId}/import?format=w3c`, collection)).status).toBe(401);
    expect((await api(server.url, viewer.token).post(`/documents/${docId}/import?format=w3c`, collection)).status).toBe(
      403,
    );
    expect(
      (await api(server.url, outsider.token).post(`/documents/${docId}/import?format=w3c`, collection)).status,
    ).toBe(403);
    expect(
      (await api(server.url, owner.token).post('/documents/no-such-doc/import?format=w3c', collection)).status,
    ).toBe(404);
    expect((await api(server.url, owner.token).post(`/documents/${docId}/import?format=csv`, collection)).status).toBe(
      400,
    );
    const bad = await api(server.url, owner.token).post(`/documents/${docId}/import?format=w3c`, {
      type: 'Person',
      name: 'not annotations',
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatch(/W3C/);
    expect(
      (await api(server.url, owner.token).post(`/documents/${docId}/import?format=json`, { format: 'something-else' }))
        .status,
    ).toBe(422);
    expect(
      (
        await api(server.url, owner.token).post(`/documents/${docId}/import?format=w3c`, '{ not json', {
          'content-type': 'application/json',
        })
      ).status,
    ).toBe(400);
    expect(
      (await api(server.url, owner.token).post(`/documents/${docId}/import?format=w3c`, collection)).body,
    ).toMatchObject({ imported: 0 });
  });
});

describe('CLI', () => {
  test('marginalia export writes a file; marginalia import-annotations writes threads a server then serves', async () => {
    const dir = tempDir();
    try {
      const env = { ...process.env, DATA_DIR: server.dataDir, LOG_LEVEL: 'warn' };
      const out = join(dir.path, 'export.jsonld');
      await runCli(['export', docId, '--format', 'w3c', '-o', out, '--base-url', 'https://notes.example'], env);
      const collection = JSON.parse(readFileSync(out, 'utf8'));
      expect(collection.first.items[0].target.source).toBe(`https://notes.example/d/${docId}`);
      const md = await runCli(['export', docId, '--format', 'md', '--status', 'resolved'], env);
      expect(md).toContain('[sleeper demand is back][^1]');
      expect(md).not.toContain('[^2]');

      const copyId = await createDocument(server.url, owner.token, ARTICLE, { title: 'CLI copy' });
      const file = join(dir.path, 'in.jsonld');
      writeFileSync(file, JSON.stringify(collection));
      const report = JSON.parse(await runCli(['import-annotations', copyId, file], env));
      expect(report).toMatchObject({ imported: 2, orphaned: [], skipped: 0 });
      const threads = (await api(server.url, owner.token).get(`/documents/${copyId}/threads`)).body as any[];
      expect(threads.map((t) => t.quote.exact)).toEqual(['written off twice', 'sleeper demand is back']);
    } finally {
      dir.remove();
    }
  });
});
