/**
 * The per-update policy check (`checkUpdate`, server/src/collab/policy.ts) timed in-process, as the hot room's
 * writers exercise it: 400 threads, then each round one new comment per thread, each checked and then applied.
 * Prints the microseconds per check of each round, sorted (the fast rounds are the code; the slow ones are this
 * machine's other work and garbage collection).
 *
 *   node bench/policy-timing.mjs [ROOT] [ROUNDS]
 *
 * ROOT is a checkout with server/dist, shared/dist and node_modules (default: this one), so that another commit's
 * build can be timed beside this one, e.g. a `git worktree` of it after `npm install && node scripts/build.mjs`.
 * Each build writes its comments with its own `shared`, as its own clients would.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(process.argv[2] ?? resolve(import.meta.dirname, '..'));
const rounds = Number(process.argv[3] ?? 40);
const load = (path) => import(pathToFileURL(resolve(root, path)).href);
const Y = await load('node_modules/yjs/dist/yjs.mjs');
const shared = await load('shared/dist/index.js');
const { checkUpdate } = await load('server/dist/collab/policy.js');

const USER = { userId: 'u-1234', userName: 'Bench Commenter' };
const FILLER = 'A comment of ordinary length: the claim in this passage needs a source; see the 2019 report, p. 12.';
const doc = new Y.Doc();
doc.get('root', Y.XmlText).insert(0, 'An article with some words in it. '.repeat(40));
const writers = [];
for (let w = 0; w < 400; w++) {
  const own = new Y.Doc();
  Y.applyUpdate(own, Y.encodeStateAsUpdate(doc));
  const span = shared.anchorFromOffsets(own, 16 + (w % 50), 26 + (w % 50));
  const { threadId } = shared.createThread(own, {
    quote: span.quote,
    anchor: span.anchor,
    createdBy: USER.userId,
    authorName: USER.userName,
    body: `Thread ${w}`,
  });
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(own, Y.encodeStateVector(doc)));
  writers.push({ own, threadId });
}
const ctx = { role: 'commenter', ...USER };
const perRound = [];
for (let r = 0; r < rounds; r++) {
  const updates = writers.map(({ own, threadId }) => {
    const before = Y.encodeStateVector(own);
    shared.addComment(own, threadId, { authorId: USER.userId, authorName: USER.userName, body: `${r} ${FILLER}` });
    return Y.encodeStateAsUpdate(own, before);
  });
  const started = performance.now();
  for (const u of updates) {
    const decision = checkUpdate(ctx, doc, u);
    if (!decision.ok) throw new Error(`refused: ${decision.rule}`);
  }
  perRound.push(((performance.now() - started) / updates.length) * 1000);
  for (const u of updates) Y.applyUpdate(doc, u);
}
perRound.sort((a, b) => a - b);
console.log(
  `${root}: µs per checkUpdate, ${rounds} rounds of ${writers.length}: ` +
    `fastest quarter ${perRound[Math.floor(rounds / 4)].toFixed(1)}, median ${perRound[rounds >> 1].toFixed(1)}`,
);
console.log(perRound.map((x) => x.toFixed(0)).join(' '));
