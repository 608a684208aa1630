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
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as Y from 'yjs';

const here = resolve(import.meta.dirname);
const BEFORE = process.env.BEFORE;
if (!BEFORE) throw new Error('BEFORE=<checkout with a built server> is required');
const RUNS = Number(process.env.RUNS ?? 5);
const load = async (root, file) => import(pathToFileURL(join(root, 'server', 'dist', file)).href);
const sides = {
  before: await load(BEFORE, 'versions/revise.js'),
  after: await load(join(here, '..'), 'versions/revise.js'),
};
// The same 10,000-thread document and revision as the versions bench (bench/src/versions-doc.ts, built by it).
const { build, revisedText, seedText } = await import(pathToFileURL(join(here, 'dist', 'versions-doc.js')).href);
const doc = await build(10_000);
const state = Y.encodeStateAsUpdate(doc);
const target = await sides.after.revisionBlocks('text', revisedText(seedText()));

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const fresh = () => {
  const live = new Y.Doc();
  Y.applyUpdate(live, state);
  return live;
};
/** One side's run: the state encoded (kept as the version before; the old build revised a copy decoded from it),
 * the revision made and applied, the anchors counted; or the dry run, counted in the copy. */
async function step(side, m, dry) {
  const live = fresh();
  const c = cpu();
  const t = performance.now();
  const base = side === 'before' || !dry ? Y.encodeStateAsUpdate(live) : null;
  const rev = await m.reviseArticle(side === 'before' ? base : live, target, 7, { countAnchors: dry });
  let counts = rev.anchors;
  if (!dry) {
    Y.applyUpdate(live, rev.update);
    counts = m.anchorCounts(live);
  }
  const out = { ms: performance.now() - t, cpu: cpu() - c, counts };
  live.destroy();
  return out;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (let i = 0; i < RUNS; i++) {
  for (const side of ['before', 'after']) {
    for (const dry of [false, true]) {
      const key = `${side}${dry ? ' dry run' : ''}`;
      const out = await step(side, sides[side], dry);
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
