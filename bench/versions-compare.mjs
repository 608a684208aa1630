/**
 * Before/after for a new revision of the 10,000-thread document, alternating the two builds in one process (same
 * load for both): BEFORE is another checkout's server build, e.g. the commit before the article copy:
 *
 *   git worktree add /tmp/vold 0a77292 && ln -s "$PWD/node_modules" /tmp/vold/node_modules \
 *     && (cd /tmp/vold && npx tsc -b shared server)
 *   npm run bench:versions --workspace bench     (builds this checkout's server)
 *   BEFORE=/tmp/vold node bench/versions-compare.mjs
 *
 * Each side, per run: a fresh live document (not timed); then the state encoded (kept as the version before),
 * the revision made (before: on a copy of the whole document decoded from that state; after: on a copy of the
 * article alone), applied, and the anchors counted; and the dry run (counted in the copy).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as Y from 'yjs';
import { addComment, anchorFromOffsets, articleIndex, createThread } from '@marginalia/shared';

const here = resolve(import.meta.dirname);
const BEFORE = process.env.BEFORE;
if (!BEFORE) throw new Error('BEFORE=<checkout with a built server> is required');
const RUNS = Number(process.env.RUNS ?? 5);
const load = async (root, file) => import(pathToFileURL(join(root, 'server', 'dist', file)).href);
const sides = {
  before: await load(BEFORE, 'versions/revise.js'),
  after: await load(join(here, '..'), 'versions/revise.js'),
};
const { importArticle } = await load(join(here, '..'), 'article/import.js');

const seed = readFileSync(join(here, '..', '..', 'shared', 'fixtures', 'oped-kandahar-islamabad.txt'), 'utf8');
const doc = new Y.Doc();
await importArticle(doc, 'text', seed);
const index = articleIndex(doc);
let r = 42;
const rand = () => (r = (r * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
doc.transact(() => {
  for (let made = 0; made < 10_000;) {
    const start = Math.floor(rand() * (index.text.length - 200));
    let target;
    try {
      target = anchorFromOffsets(index, start, start + 10 + Math.floor(rand() * 120));
    } catch {
      continue;
    }
    const n = made++;
    const { threadId } = createThread(doc, {
      anchor: target.anchor,
      quote: target.quote,
      createdBy: `user-${n % 17}`,
      authorName: `Analyst ${n % 17}`,
      body: `Thread ${n}: is this claim supported?`,
      now: 1_700_000_000_000 + n * 1000,
    });
    for (let k = 1; k <= 2; k++)
      addComment(doc, threadId, { authorId: `user-${(n + k) % 17}`, authorName: 'Analyst', body: `Reply ${k}` });
  }
});
const state = Y.encodeStateAsUpdate(doc);
const paragraphs = seed.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/);
paragraphs[5] = paragraphs[5].replace(/\bthe\b/, 'THE').replace(/\./, ', as reported.');
paragraphs.splice(11, 1);
paragraphs.splice(18, 0, 'A paragraph added in the second edition, about the border crossings at Torkham.');
const target = await sides.after.revisionBlocks('text', paragraphs.join('\n\n'));

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const fresh = () => {
  const live = new Y.Doc();
  Y.applyUpdate(live, state);
  return live;
};
const steps = {
  async before(m, dry) {
    const live = fresh();
    const c = cpu();
    const t = performance.now();
    const base = Y.encodeStateAsUpdate(live);
    const rev = await m.reviseArticle(base, target, 7, { countAnchors: dry });
    let counts = rev.anchors;
    if (!dry) {
      Y.applyUpdate(live, rev.update);
      counts = m.anchorCounts(live);
    }
    const out = { ms: performance.now() - t, cpu: cpu() - c, counts };
    live.destroy();
    return out;
  },
  async after(m, dry) {
    const live = fresh();
    const c = cpu();
    const t = performance.now();
    if (!dry) Y.encodeStateAsUpdate(live);
    const rev = await m.reviseArticle(live, target, 7, { countAnchors: dry });
    let counts = rev.anchors;
    if (!dry) {
      Y.applyUpdate(live, rev.update);
      counts = m.anchorCounts(live);
    }
    const out = { ms: performance.now() - t, cpu: cpu() - c, counts };
    live.destroy();
    return out;
  },
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (let i = 0; i < RUNS; i++) {
  for (const side of ['before', 'after']) {
    for (const dry of [false, true]) {
      const key = `${side}${dry ? ' dry run' : ''}`;
      const out = await steps[side](sides[side], dry);
      (results[key] ??= []).push(out);
    }
  }
}
const { loadavg } = await import('node:os');
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')}, ${RUNS} runs each, alternating`,
);
for (const [key, runs] of Object.entries(results)) {
  console.log(
    `${key.padEnd(16)} wall ${median(runs.map((x) => x.ms))
      .toFixed(0)
      .padStart(6)} ms  CPU ${median(runs.map((x) => x.cpu))
      .toFixed(0)
      .padStart(6)} ms  anchors ${JSON.stringify(runs[0].counts)}`,
  );
}
