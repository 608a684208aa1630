#!/usr/bin/env node
// Client speed with many threads (issue 4, "Speed"): a document with N threads (default 2000, each with C
// comments, default 1) opened in Chromium; measures when the article's text is on the page (after navigation,
// in the page's own clock), the first render with every highlight drawn, the time per keystroke in a reply box,
// and long tasks while scrolling. Starts its own server on a free port with a temporary data directory.
// Run after `node scripts/build.mjs`:  node client/bench/render.mjs [N] [C]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import Database from 'better-sqlite3';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { addComment, articleIndex, createThread } from '../../shared/dist/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const N = Number(process.argv[2] ?? 2000);
const C = Number(process.argv[3] ?? 1);
const dataDir = mkdtempSync(join(tmpdir(), 'marginalia-bench-'));
const server = spawn(process.execPath, [join(ROOT, 'server/dist/cli.js'), 'serve'], {
  env: {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    MARGINALIA_ADMIN_USER: 'admin',
    MARGINALIA_ADMIN_PASSWORD: 'admin-password',
    LOG_LEVEL: 'warn',
    // The set-up writes the threads as fast as it can.
    MARGINALIA_MAX_BYTES_PER_SECOND: String(256 * 1024 * 1024),
    MARGINALIA_MAX_MESSAGES_PER_SECOND: '10000',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
// Never leave the server behind, whatever happens below.
process.on('exit', () => server.kill('SIGKILL'));
process.on('uncaughtException', (error) => {
  console.error(error);
  process.exit(1);
});
process.on('unhandledRejection', (error) => {
  console.error(error);
  process.exit(1);
});
const URL = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /running at (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  server.once('exit', () => reject(new Error(`server exited:\n${out}`)));
});

const post = async (path, body, token) =>
  (
    await fetch(URL + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    })
  ).json();
const { token, user } = await post('/api/auth/login', { username: 'admin', password: 'admin-password' });
const words =
  'the river keeps its own maps and every town along it remembers floods that planners forget quickly'.split(' ');
const paragraphs = Array.from(
  { length: 120 },
  (_, p) => Array.from({ length: 90 }, (_, i) => words[(p * 7 + i * 3) % words.length]).join(' ') + '.',
);
const { id } = await post(
  '/api/documents',
  { title: 'Many threads', format: 'text', content: paragraphs.join('\n\n') },
  token,
);

const doc = new Y.Doc();
const provider = new WebsocketProvider(URL.replace('http', 'ws') + '/collab', id, doc, {
  params: { token },
  WebSocketPolyfill: WebSocket,
  disableBc: true,
});
await new Promise((resolve) => provider.on('sync', (synced) => synced && resolve()));
const text = articleIndex(doc).text;
// In transactions of 300 threads: each update must fit in one WebSocket frame (MARGINALIA_MAX_FRAME_BYTES).
for (let from = 0; from < N; from += 300)
  doc.transact(() => {
    for (let i = from; i < Math.min(N, from + 300); i++) {
      const start = Math.floor((i / N) * (text.length - 60)) + (i % 7);
      const { threadId } = createThread(doc, {
        start,
        end: start + 12 + (i % 30),
        // The server accepts a new thread only from its creator.
        createdBy: user.id,
        authorName: user.name,
        body: `Comment number ${i}`,
      });
      for (let c = 1; c < C; c++)
        addComment(doc, threadId, {
          authorId: user.id,
          authorName: user.name,
          body: `Reply ${c}: the quote is accurate, but the context is missing; the speaker was answering another question.`,
        });
    }
  });
// Let the server store it and, for a large document (the 10,000-thread case), compact it into a snapshot with its
// lead (a new browser is sent the lead first) and project it (search rows, notifications), so that the page is
// opened on a server at rest, as a document written earlier is. A fixed wait alone was too short on a slow machine
// (the fold and the lead take 4-5 s there, the projection of 40,000 comments longer): some runs opened the document
// before its lead existed, others while the projector still held the server. Whether it came to rest within a
// minute is reported (`atRest`): a run that did not is not comparable.
await new Promise((resolve) => setTimeout(resolve, 3000));
let atRest = null;
if (N >= 5000) {
  const db = new Database(join(dataDir, 'marginalia.db'), { readonly: true });
  const state = db.prepare(
    `SELECT (SELECT lead IS NOT NULL FROM snapshots WHERE doc_id = :id) AS lead,
            (SELECT seq FROM projection_cursors WHERE doc_id = :id) >=
              max(coalesce((SELECT max(seq) FROM updates WHERE doc_id = :id), 0),
                  coalesce((SELECT upto_seq FROM snapshots WHERE doc_id = :id), 0)) AS projected`,
  );
  const waitedFrom = Date.now();
  for (;;) {
    const s = state.get({ id });
    atRest = s?.lead === 1 && s?.projected === 1;
    if (atRest || Date.now() - waitedFrom > 60_000) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  db.close();
}
provider.destroy();
provider.awareness.destroy();
doc.destroy();

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
const context = await browser.newContext({ baseURL: URL, viewport: { width: 1280, height: 860 } });
// When the article's first paragraph has text, in the page's clock (milliseconds after navigation started).
await context.addInitScript(() => {
  // When the document's socket opened and its first message arrived (the app's only WebSocket).
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__wsCreatedAt ??= performance.now();
      this.addEventListener('open', () => (window.__wsOpenAt ??= performance.now()));
      this.addEventListener('message', () => (window.__wsFirstMessageAt ??= performance.now()));
    }
  };
  /** Notes in `window[key]` when the first paragraph under `root` has text. */
  const whenText = (root, key) =>
    new MutationObserver((_, observer) => {
      const p = document.querySelector(`${root} p`);
      if (!p || !p.textContent) return;
      window[key] = performance.now();
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true, characterData: true });
  // The server's static preview of the article (document-page.ts), in the page's own HTML; then the editor's.
  whenText('.article-preview', '__previewAt');
  whenText('.article-content', '__articleAt');
});
const page = await context.newPage();
// Signed in as a user would (the session is an HttpOnly cookie).
await page.goto('/');
await page.getByLabel(/Username|Your name/).waitFor();
if (await page.getByRole('tab', { name: 'Account' }).count()) await page.getByRole('tab', { name: 'Account' }).click();
await page.getByLabel('Username').fill('admin');
await page.getByLabel('Password').fill('admin-password');
await page.getByRole('button', { name: 'Sign in' }).click();
await page.getByRole('heading', { name: 'Documents' }).waitFor();
const cdp = process.env.PROFILE ? await context.newCDPSession(page) : null;
if (cdp) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
}
const started = Date.now();
await page.goto(`/d/${id}`);
await page.locator('.article-content p').first().waitFor({ timeout: 60_000 });
const articleShown = Date.now() - started;
const articleReadable = Math.round(await page.evaluate(() => window.__articleAt));
const previewReadable = await page.evaluate(() => (window.__previewAt ? Math.round(window.__previewAt) : null));
const socket = await page.evaluate(() => ({
  createdMs: Math.round(window.__wsCreatedAt),
  openMs: Math.round(window.__wsOpenAt),
  firstMessageMs: Math.round(window.__wsFirstMessageAt),
}));
// Every highlight drawn (null if they were not all drawn within a minute: the count drawn is reported).
const firstRender = await page
  .waitForFunction((n) => document.querySelectorAll('.highlights [data-highlight]').length >= n, N, {
    timeout: 60_000,
    polling: 20,
  })
  .then(
    () => Date.now() - started,
    () => null,
  );
const highlightsDrawn = await page.evaluate(() => document.querySelectorAll('.highlights [data-highlight]').length);
await page.locator('.threads-panel [data-thread-card]').first().waitFor({ timeout: 60_000 });
const cardsShown = Date.now() - started;
const marks = await page.evaluate(() =>
  Object.fromEntries(
    ['responseEnd', 'domContentLoadedEventEnd']
      .map((k) => [k, Math.round(performance.getEntriesByType('navigation')[0][k])])
      .concat(performance.getEntriesByType('paint').map((m) => [m.name, Math.round(m.startTime)]))
      .concat(
        performance
          .getEntriesByType('mark')
          .filter((m) => m.name.startsWith('marginalia:'))
          .map((m, i) => [`${i} ${m.name}`, Math.round(m.startTime)]),
      ),
  ),
);
if (cdp) {
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map();
  const dt = profile.timeDeltas;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  console.log(
    [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([k, v]) => `${v.toFixed(0).padStart(6)} ms  ${k}`)
      .join('\n'),
  );
}

const card = page.locator('.threads-panel [data-thread-card]').first();
await card.getByRole('button', { name: 'Reply', exact: true }).click();
await page.getByRole('textbox', { name: 'Reply…' }).first().focus();
const keystrokes = await page.evaluate(async () => {
  const times = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    document.execCommand('insertText', false, 'x');
    times.push(performance.now() - t); // synchronous work: input handler, React render
  }
  return times;
});

const longTasks = await page.evaluate(async () => {
  const tasks = [];
  const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries().map((e) => e.duration)));
  observer.observe({ type: 'longtask', buffered: false });
  const scroller = document.querySelector('.doc-scroll');
  for (let y = 0; y < 20000; y += 400) {
    scroller.scrollTop = y;
    await new Promise((r) => requestAnimationFrame(r));
  }
  await new Promise((r) => setTimeout(r, 200));
  observer.disconnect();
  return tasks;
});

const sorted = [...keystrokes].sort((a, b) => a - b);
console.log(
  JSON.stringify(
    {
      threads: N,
      commentsPerThread: C,
      atRest,
      previewReadableMs: previewReadable,
      articleReadableMs: articleReadable,
      socket,
      articleShownMs: articleShown,
      firstRenderMs: firstRender,
      highlightsDrawn,
      firstCardsMs: cardsShown,
      marks,
      keystrokeMs: {
        median: +sorted[Math.floor(sorted.length / 2)].toFixed(2),
        max: +sorted[sorted.length - 1].toFixed(2),
      },
      scrollLongTasks: { count: longTasks.length, maxMs: longTasks.length ? Math.max(...longTasks) : 0 },
    },
    null,
    2,
  ),
);
await browser.close();
server.kill('SIGTERM');
rmSync(dataDir, { recursive: true, force: true });
