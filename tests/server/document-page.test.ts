/**
 * A document's page carries the article as static HTML (server/src/http/document-page.ts), for a signed-in reader
 * only: the text is escaped, the page is never cached, and everyone else gets the plain page. A large document's
 * preview comes from its stored lead, without its threads, and shows the article's later edits too.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Window } from 'happy-dom';
import { createThread } from '@marginalia/shared';
import { addMember, adminAuthor, api, createDocument, startServer, type TestServer } from '../support/server.js';
import { rawClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';

const HOSTILE = '<script>alert(1)</script> & $& $1 "quoted"';
const ARTICLE = `A first paragraph with ${HOSTILE} in it.\n\nThe second paragraph, plainly.`;

let server: TestServer;
let docId: string;

beforeAll(async () => {
  server = await startServer({ env: { MARGINALIA_SAMPLE: '0' } });
  const created = await api(server.url, server.adminToken).post('/documents', {
    title: `Notes ${HOSTILE}`,
    format: 'text',
    content: ARTICLE,
  });
  docId = created.body.id as string;
});
afterAll(async () => {
  await server?.dispose();
});

const parse = (html: string) => new new Window().DOMParser().parseFromString(html, 'text/html');

/** The page at `path`, as a browser with this session cookie (or none) asks for it. */
async function page(path: string, token?: string) {
  const res = await fetch(server.url + path, { headers: token ? { cookie: `marginalia_session=${token}` } : {} });
  const html = await res.text();
  const document = parse(html);
  const preview = document.querySelector('#article-preview .article-preview');
  return {
    status: res.status,
    cacheControl: res.headers.get('cache-control'),
    title: document.title,
    /** The preview's paragraphs' text, or null without a preview. */
    paragraphs: preview ? [...preview.querySelectorAll('p')].map((p) => p.textContent) : null,
    /** The document the preview is of (the client shows it only on that document's view). */
    previewOf: preview?.getAttribute('data-doc-id') ?? null,
    scripts: document.querySelectorAll('script').length,
    root: document.querySelector('#root') !== null,
  };
}

describe("a document's page", () => {
  test('carries the article for a reader, escaped, with the title, and is never stored', async () => {
    const shell = await page('/');
    const p = await page(`/d/${docId}`, server.adminToken);
    expect(p.status).toBe(200);
    expect(p.paragraphs).toEqual([`A first paragraph with ${HOSTILE} in it.`, 'The second paragraph, plainly.']);
    // Only the app's own script: the article's "<script>" is text.
    expect(p.scripts).toBe(shell.scripts);
    expect(p.root).toBe(true);
    expect(p.previewOf).toBe(docId);
    expect(p.title).toBe(`Notes ${HOSTILE} · Marginalia`);
    expect(p.cacheControl).toBe('private, no-store');
    // A permalink's page too.
    expect((await page(`/d/${docId}/t/some-thread`, server.adminToken)).paragraphs).toHaveLength(2);
  });

  test('is the plain page for anyone who may not read the document', async () => {
    const stranger = await addMember(
      server,
      await createDocument(server.url, server.adminToken, 'Other.'),
      'eve',
      'Eve',
      'viewer',
    );
    const cases = [
      ['signed out', await page(`/d/${docId}`)],
      ['not a member', await page(`/d/${docId}`, stranger.token)],
      ['a bad cookie', await page(`/d/${docId}`, 'not-a-token')],
      ['no such document', await page('/d/00000000-0000-4000-8000-000000000000', server.adminToken)],
    ] as const;
    for (const [who, p] of cases) {
      expect({ who, status: p.status, paragraphs: p.paragraphs, cache: p.cacheControl }).toEqual({
        who,
        status: 200,
        paragraphs: null,
        cache: 'no-cache',
      });
    }
    // Signed out of that session: the cookie no longer opens the preview.
    await api(server.url, stranger.token).post('/auth/logout', {});
    const member = await addMember(server, docId, 'mallory', 'Mallory', 'viewer');
    expect((await page(`/d/${docId}`, member.token)).paragraphs).toHaveLength(2);
    await api(server.url, member.token).post('/auth/logout', {});
    expect((await page(`/d/${docId}`, member.token)).paragraphs).toBeNull();
  });
});

describe("a large document's page", () => {
  let big: TestServer;
  afterAll(async () => {
    await big?.dispose();
  });

  test('shows the stored article, read from storage without the threads, and starts loading the document', async () => {
    // Compaction after a few entries, so that the threads are folded into a snapshot (with its lead).
    big = await startServer({
      env: { MARGINALIA_SAMPLE: '0', MARGINALIA_COMPACT_AFTER_UPDATES: '10', MARGINALIA_UNLOAD_GRACE_MS: '10000' },
    });
    const id = await createDocument(big.url, big.adminToken, 'The opening line.\n\nThe closing line.');
    const writer = rawClient(big.wsUrl, id, big.adminToken);
    await writer.synced;
    const author = adminAuthor(big);
    const thread = (i: number) =>
      createThread(writer.doc, {
        start: 4,
        end: 11,
        createdBy: author.id,
        authorName: author.name,
        body: `Thread ${i} ${'words of a long comment '.repeat(100)}`,
      });
    writer.doc.transact(() => {
      for (let i = 0; i < 150; i++) thread(i);
    });
    await writer.flushed(20_000);
    for (let i = 0; i < 11; i++) {
      thread(1000 + i);
      await writer.flushed(20_000);
    }
    await writer.close();
    // Not loaded any more: the page reads storage.
    await big.restart();
    const res = await fetch(`${big.url}/d/${id}`, { headers: { cookie: `marginalia_session=${big.adminToken}` } });
    const preview = parse(await res.text()).querySelector('#article-preview .article-preview');
    expect([...(preview?.querySelectorAll('p') ?? [])].map((p) => p.textContent)).toEqual([
      'The opening line.',
      'The closing line.',
    ]);
    // The page's socket follows: the document is loaded (or loading) by the time it comes.
    await waitFor(
      async () =>
        /^marginalia_documents_loaded(?:\{[^}]*\})? 1$/m.test(await (await fetch(`${big.url}/metrics`)).text()),
      { message: 'the document to be loaded after its page was served', timeout: 20_000 },
    );
  });
});
