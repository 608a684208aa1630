#!/usr/bin/env node
// Client speed with many threads (issue 4, "Speed"): a document with N threads (default 2000) opened in
// Chromium; measures the first render with every highlight drawn, the time per keystroke in a reply box,
// and long tasks while scrolling. Starts its own server on a free port with a temporary data directory.
// Run after `node scripts/build.mjs`:  node client/bench/render.mjs [N]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { articleIndex, createThread } from '../../shared/dist/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const N = Number(process.argv[2] ?? 2000);
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
const { token } = await post('/api/auth/login', { username: 'admin', password: 'admin-password' });
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
doc.transact(() => {
  for (let i = 0; i < N; i++) {
    const start = Math.floor((i / N) * (text.length - 60)) + (i % 7);
    createThread(doc, {
      start,
      end: start + 12 + (i % 30),
      createdBy: `user-${i % 5}`,
      authorName: `User ${i % 5}`,
      body: `Comment number ${i}`,
    });
  }
});
await new Promise((resolve) => setTimeout(resolve, 1000)); // let the server store it
provider.destroy();
provider.awareness.destroy();
doc.destroy();

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
const context = await browser.newContext({ baseURL: URL, viewport: { width: 1280, height: 860 } });
await context.addInitScript(
  (session) => localStorage.setItem('marginalia.session', session),
  JSON.stringify({ token, user: { id: 'admin', username: 'admin', name: 'admin' } }),
);
const page = await context.newPage();
await page.goto('/');
const cdp = process.env.PROFILE ? await context.newCDPSession(page) : null;
if (cdp) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
}
const started = Date.now();
await page.goto(`/d/${id}`);
await page.locator('.article-content p').first().waitFor({ timeout: 60_000 });
const articleShown = Date.now() - started;
await page.waitForFunction((n) => document.querySelectorAll('.highlights [data-highlight]').length >= n, N, {
  timeout: 60_000,
  polling: 20,
});
const firstRender = Date.now() - started;
await page.locator('.threads-panel [data-thread-card]').first().waitFor({ timeout: 60_000 });
const cardsShown = Date.now() - started;
const marks = await page.evaluate(() =>
  Object.fromEntries(
    ['responseEnd', 'domContentLoadedEventEnd']
      .map((k) => [k, Math.round(performance.getEntriesByType('navigation')[0][k])])
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
      articleShownMs: articleShown,
      firstRenderMs: firstRender,
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
