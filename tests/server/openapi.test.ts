/**
 * The OpenAPI document (GET /api/openapi.json): valid OpenAPI 3.1 by a maintained validator; an operation for every
 * route the Express app registers (a route without a spec is caught); every call of docs/API.md present; real
 * answers match their response schemas; the Swagger UI page at /api/docs renders in Chromium with every request
 * outside the server blocked (it is served from the npm package, no CDN).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from 'express';
import { z } from 'zod';
import { Validator } from '@seriousme/openapi-schema-validator';
import { loadConfig } from '@marginalia/server/config.js';
import { DEFAULT_CLIENT_DIR, startServer, type RunningServer } from '@marginalia/server/server.js';
import { createApp } from '@marginalia/server/http/app.js';
import { openApiPath, registeredRoutes, undocumentedRoutes } from '@marginalia/server/http/api-spec.js';
import { ROOT, api, createDocument, login, tempDir } from '../support/server.js';
import { browserTest, launchBrowser } from '../support/browser.js';
import { waitFor } from '../support/wait.js';

type Json = Record<string, any>;
const ADMIN = { username: 'admin', password: 'admin-password' };
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI document', () => {
  let server: RunningServer;
  let doc: Json;
  let admin: string;
  const dataDir = tempDir('marginalia-openapi-');

  beforeAll(async () => {
    const config = loadConfig({
      DATA_DIR: dataDir.path,
      MARGINALIA_STORAGE: 'memory',
      HOST: '127.0.0.1',
      PORT: '0',
      MARGINALIA_ADMIN_USER: ADMIN.username,
      MARGINALIA_ADMIN_PASSWORD: ADMIN.password,
      MARGINALIA_PROJECTION_DELAY_MS: '50',
    });
    server = await startServer(config, { clientDir: null });
    admin = await login(server.url, ADMIN.username, ADMIN.password);
    const res = await fetch(`${server.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Json;
  });

  afterAll(async () => {
    await server?.close();
    dataDir.remove();
  });

  /** The operation for an Express route, or undefined. */
  const operationOf = (method: string, path: string): Json | undefined => doc.paths?.[openApiPath(path)]?.[method];

  test('is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  test('every route the app registers has an operation, with its request and response schemas', () => {
    expect(undocumentedRoutes(server.app)).toEqual([]);
    const routes = registeredRoutes(server.app).filter((r) => r.spec && !('hidden' in r.spec));
    expect(routes.length).toBeGreaterThan(50);
    for (const r of routes) {
      const op = operationOf(r.method, r.path);
      expect({ route: `${r.method} ${r.path}`, op: op ? 'present' : 'missing' }).toEqual({
        route: `${r.method} ${r.path}`,
        op: 'present',
      });
      expect(Object.keys(op!.responses).some((s) => s.startsWith('2') || s.startsWith('3'))).toBe(true);
    }
    // The schemas are the routes' own zod schemas: limits and enums of the request bodies show through.
    const createThread = operationOf('post', '/api/documents/:id/threads')!;
    const bodySchema = JSON.stringify(createThread.requestBody.content['application/json'].schema);
    expect(bodySchema).toContain('"exact"');
    expect(bodySchema).toContain('"start"');
    const login = operationOf('post', '/api/auth/login')!;
    expect(login.requestBody.content['application/json'].schema.required).toEqual(['username', 'password']);
    expect(Object.keys(login.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '429']));
    const search = operationOf('get', '/api/search')!;
    const kind = (search.parameters as Json[]).find((p) => p.name === 'kind')!;
    expect(kind.schema.enum).toEqual(['comment', 'article', 'title']);
    const members = operationOf('put', '/api/documents/:id/members/:username')!;
    expect(members.parameters.map((p: Json) => `${p.in}:${p.name}`)).toEqual(['path:id', 'path:username']);
    expect(Object.keys(members.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404', '409']));
    expect(members.responses['409'].content['application/json'].schema.$ref).toBe('#/components/schemas/Error');
    expect(operationOf('get', '/metrics')).toBeDefined();
    expect(operationOf('get', '/api/openapi.json')).toBeDefined();
  });

  test('a route registered without a spec is caught', () => {
    // The same context, one more router through extraRoutes whose route was added with plain `r.get`.
    const app = createApp(server.context, {
      clientDir: null,
      extraRoutes: [
        () => {
          const r = Router();
          r.get('/undocumented/:thing', (_req, res) => void res.json({}));
          return r;
        },
      ],
    });
    expect(undocumentedRoutes(app)).toEqual(['GET /api/undocumented/:thing']);
    // A router mounted under a path the walk cannot see is reported too, rather than skipped.
    const hidden = createApp(server.context, {
      clientDir: null,
      extraRoutes: [
        () => {
          const outer = Router();
          const inner = Router();
          inner.get('/x', (_req, res) => void res.json({}));
          outer.use('/nested', inner);
          return outer;
        },
      ],
    });
    expect(undocumentedRoutes(hidden)).toEqual(['USE /api/<unknown mount path>']);
    // The web client's pages are registered through the registry too (as not part of the API).
    expect(undocumentedRoutes(createApp(server.context, { clientDir: DEFAULT_CLIENT_DIR }))).toEqual([]);
  });

  test("every call in docs/API.md's tables is in the document", () => {
    const text = readFileSync(join(ROOT, 'docs', 'API.md'), 'utf8');
    const calls = new Set<string>();
    for (const m of text.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/api\/[^`\s?]*|\/metrics)/g)) {
      calls.add(`${m[1]!.toLowerCase()} ${m[2]!}`);
    }
    expect(calls.size).toBeGreaterThan(45);
    const missing = [...calls].filter((c) => {
      const [method, path] = c.split(' ') as [string, string];
      return !operationOf(method, path);
    });
    expect(missing).toEqual([]);
  });

  test('real answers match their response schemas', async () => {
    const owner = api(server.url, admin);
    await createDocument(server.url, admin, 'The heron stood in the reeds.\n\nA second paragraph about herons.');
    const bobCreated = await owner.post('/users', { username: 'bob', password: 'bob-password', name: 'Bob B' });
    expect(bobCreated.status).toBe(201);
    const docId = await createDocument(server.url, admin, 'Egrets and herons share the marsh.', {
      title: 'Herons of the marsh',
    });
    expect((await owner.put(`/documents/${docId}/members/bob`, { role: 'commenter' })).status).toBe(200);
    const bob = api(server.url, await login(server.url, 'bob', 'bob-password'));
    const thread = await bob.post(`/documents/${docId}/threads`, { exact: 'herons', body: 'Which herons, @admin?' });
    expect(thread.status).toBe(201);

    /** The 200 answer schema of an operation, as a zod schema read back from the document's JSON Schema. */
    const answerSchema = (method: string, path: string, status = 200) =>
      z.fromJSONSchema(operationOf(method, path)!.responses[String(status)].content['application/json'].schema);
    const check = (method: string, path: string, body: unknown, status = 200) => {
      const r = answerSchema(method, path, status).safeParse(body);
      expect({ route: `${method} ${path}`, answer: r.success ? 'matches' : JSON.stringify(r.error.issues) }).toEqual({
        route: `${method} ${path}`,
        answer: 'matches',
      });
    };

    const documents = await owner.get('/documents');
    expect(documents.status).toBe(200);
    // Ours and the sample document seeded at start.
    expect(documents.body.map((d: Json) => d.title)).toEqual(
      expect.arrayContaining(['Herons of the marsh', 'Test article']),
    );
    check('get', '/api/documents', documents.body);

    const notifications = await waitFor(
      async () => {
        const r = await owner.get('/notifications');
        return r.status === 200 && r.body.items.length > 0 ? r : null;
      },
      { timeout: 15_000, interval: 50, message: 'the mention notification' },
    );
    check('get', '/api/notifications', notifications.body);

    const found = await waitFor(
      async () => {
        const r = await owner.get('/search?q=herons');
        return r.status === 200 && r.body.items.some((i: Json) => i.kind === 'comment') ? r : null;
      },
      { timeout: 15_000, interval: 50, message: 'the comment in the search index' },
    );
    expect(new Set(found.body.items.map((i: Json) => i.kind))).toEqual(new Set(['comment', 'article', 'title']));
    check('get', '/api/search', found.body);

    const threads = await owner.get(`/documents/${docId}/threads`);
    check('get', '/api/documents/:id/threads', threads.body);
    check('get', '/api/health', (await api(server.url).get('/health')).body);

    // More answers, each checked against its operation's schema (status and path as the document names them).
    const named = await owner.post(`/documents/${docId}/versions`, { name: 'before the edit' });
    expect(named.status).toBe(201);
    check('post', '/api/documents/:id/versions', named.body, 201);
    const resolved = await bob.patch(`/documents/${docId}/threads/${thread.body.id}`, { status: 'resolved' });
    expect(resolved.status).toBe(200);
    check('patch', '/api/documents/:id/threads/:threadId', resolved.body);
    check('post', '/api/documents/:id/threads', thread.body, 201);
    const reply = await owner.post(`/documents/${docId}/threads/${thread.body.id}/comments`, {
      body: 'The grey ones.',
    });
    check('post', '/api/documents/:id/threads/:threadId/comments', reply.body, 201);
    const tag = await owner.put(`/documents/${docId}/vocabulary/question`, { color: '#aabbcc' });
    check('put', '/api/documents/:id/vocabulary/:tag', tag.body);
    const revised = await owner.put(`/documents/${docId}/article?dryRun=true`, {
      format: 'text',
      content: 'Egrets and grey herons share the marsh.',
    });
    check('put', '/api/documents/:id/article', revised.body);
    const gets: [string, string][] = [
      ['/auth/me', '/api/auth/me'],
      ['/config', '/api/config'],
      ['/health/ready', '/api/health/ready'],
      [`/documents/${docId}`, '/api/documents/:id'],
      [`/documents/${docId}/members`, '/api/documents/:id/members'],
      [`/documents/${docId}/audit`, '/api/documents/:id/audit'],
      [`/documents/${docId}/vocabulary`, '/api/documents/:id/vocabulary'],
      [`/documents/${docId}/versions`, '/api/documents/:id/versions'],
      [`/documents/${docId}/diff?from=${named.body.id}`, '/api/documents/:id/diff'],
      [`/documents/${docId}/threads/${thread.body.id}`, '/api/documents/:id/threads/:threadId'],
      [`/documents/${docId}/follow`, '/api/documents/:id/follow'],
      [`/documents/${docId}/mentionable?q=b`, '/api/documents/:id/mentionable'],
      [`/documents/${docId}/shareable?q=b`, '/api/documents/:id/shareable'],
      ['/me/settings', '/api/me/settings'],
    ];
    for (const [url, path] of gets) {
      const r = await owner.get(url);
      expect({ url, status: r.status }).toEqual({ url, status: 200 });
      check('get', path, r.body);
    }

    // And a wrong answer does not match: the schemas are not vacuous.
    const wrong = answerSchema('get', '/api/documents').safeParse([{ ...documents.body[0], role: 'superuser' }]);
    expect(wrong.success).toBe(false);
    const extra = answerSchema('get', '/api/documents').safeParse([{ ...documents.body[0], secret: 'x' }]);
    expect(extra.success).toBe(false);
    const missing = answerSchema('get', '/api/search').safeParse({ items: [] });
    expect(missing.success).toBe(false);
  });

  browserTest('the docs page renders in Chromium with no network beyond the server', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const origin = new URL(server.url).origin;
      const blocked: string[] = [];
      const errors: string[] = [];
      await page.route('**/*', (r) => {
        if (new URL(r.request().url()).origin === origin) return r.continue();
        blocked.push(r.request().url());
        return r.abort();
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      const res = await page.goto(`${server.url}/api/docs`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
      const count = Object.values(doc.paths as Record<string, Json>).reduce(
        (n, item) => n + Object.keys(item).filter((k) => METHODS.includes(k)).length,
        0,
      );
      expect(await page.locator('.opblock').count()).toBe(count);
      await expect(
        page.locator('.opblock-summary-path', { hasText: '/api/documents/{id}/threads' }).count(),
      ).resolves.toBeGreaterThan(0);
      expect(await page.locator('.title').first().innerText()).toContain('Marginalia API');
      expect(blocked).toEqual([]);
      // Only the files the page needs are served from the package.
      expect((await fetch(`${server.url}/api/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
      expect((await fetch(`${server.url}/api/docs/assets/index.html`)).status).toBe(404);
      expect((await fetch(`${server.url}/api/docs/assets/swagger-initializer.js`)).status).toBe(404);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
