/**
 * Version history speed, on the seed article with 10,000 threads (each a first comment and two replies), each step
 * as the server does it:
 * - opening a version: its read copy read (versions/read.ts, read-copy.ts: the article alone built into a fresh
 *   doc, the thread records parsed), the text and every thread resolved in it and serialised (what
 *   `GET …/text?version=` and `GET …/threads?version=` do); goal <= 1 s; and the same from the full state, as a
 *   version recorded before read copies is read the first time (its read copy then made);
 * - the diff of two versions of the seed article (a changed sentence, a deleted and an inserted paragraph);
 *   goal <= 200 ms;
 * - a new revision applied to the 10,000-thread document (versions/apply.ts: the state before encoded for its
 *   version, the minimal edit made on a copy of the article alone, applied, the anchors counted); goal <= 2 s;
 * - recording a version's read copy (from the document built in the fold, and from a live document's cached
 *   thread records);
 * - the storage an automatic version takes (its state, one Yjs update, and its read copy).
 * Each figure is a median of RUNS runs, in wall time and in CPU time of the process (all its threads, the
 * garbage collector's included): the machine is shared, and the CPU time is what the work costs without waiting
 * for a core. Prints the figures and writes them into RESULTS.md under "Versions" (only that section is touched).
 *
 *   npm run bench:versions --workspace bench        (THREADS=… to change the size, RUNS=… the runs)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { articleIndex, articleText, readResolvedThreads, resolveThreads } from '@marginalia/shared';
import { build, revisedText, seedText } from './versions-doc.js';
import { anchorCounts, reviseArticle, revisionBlocks } from '../../server/dist/versions/revise.js';
import { articleCopy } from '../../server/dist/versions/article-copy.js';
import { diffDocuments } from '../../server/dist/versions/diff.js';
import { cachedThreadRecords, readCopyDoc, readCopyOf, readCopyThreads } from '../../server/dist/versions/read-copy.js';
import { threadView } from '../../server/dist/http/thread-routes.js';

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(here, '..', 'RESULTS.md');
const THREADS = Number(process.env.THREADS ?? 10_000);
const RUNS = Number(process.env.RUNS ?? 5);

const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Timing {
  ms: number;
  cpu: number;
  first: number;
}

/** CPU time of the process so far (ms, every thread). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function timed<T>(
  fn: (input: T) => unknown | Promise<unknown>,
  setup: () => T = () => undefined as T,
  teardown: (input: T) => void = () => {},
): Promise<Timing> {
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const input = setup();
    const c = cpuNow();
    const t = performance.now();
    await fn(input);
    times.push(performance.now() - t);
    cpu.push(cpuNow() - c);
    teardown(input);
  }
  return { ms: median(times), cpu: median(cpu), first: times[0]! };
}

/** A version's state built as versions/read.ts builds it. */
function built(state: Uint8Array): Y.Doc {
  const doc = new Y.Doc({ gc: false });
  Y.applyUpdate(doc, state);
  return doc;
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const big = await build(THREADS);
  const bigState = Y.encodeStateAsUpdate(big);

  // Opening a version: its read copy read (article built, records parsed), its text and its threads (resolved in
  // the article copy, serialised as the route answers).
  const readCopy = readCopyOf(big);
  const open = await timed(() => {
    const doc = readCopyDoc(readCopy);
    articleText(doc);
    JSON.stringify(resolveThreads(readCopyThreads(readCopy), articleIndex(doc)).map(threadView));
    doc.destroy();
  });
  const copyBuilt = await timed(() => readCopyDoc(readCopy).destroy());
  const parsed = await timed(() => readCopyThreads(readCopy));
  const copyDoc = readCopyDoc(readCopy);
  const records = readCopyThreads(readCopy);
  const resolve = await timed(() => JSON.stringify(resolveThreads(records, articleIndex(copyDoc)).map(threadView)));
  copyDoc.destroy();
  // The same from the full state: a version recorded before read copies, read the first time (its read copy made).
  const openFull = await timed(() => {
    const doc = built(bigState);
    articleText(doc);
    JSON.stringify(readResolvedThreads(doc).map(threadView));
    readCopyOf(doc);
    doc.destroy();
  });
  const apply = await timed(() => built(bigState).destroy());
  // Recording a read copy: in the fold's worker job (records read afresh), and from a live document whose thread
  // records the projector keeps read (cached).
  const recordFresh = await timed(() => readCopyOf(big));
  readCopyOf(big, { cached: true });
  const recordCached = await timed(() => readCopyOf(big, { cached: true }));

  const target = await revisionBlocks('text', revisedText(seedText()));
  // A new revision as versions/apply.ts makes it on the live document.
  const fresh = () => built(bigState);
  const revise = await timed(
    async (live: Y.Doc) => {
      Y.encodeStateAsUpdate(live); // the state kept as the version before the revision
      readCopyOf(live, { cached: true }); // and its read copy
      const revision = await reviseArticle(live, target, 7, { countAnchors: false });
      Y.applyUpdate(live, revision.update);
      return anchorCounts(live);
    },
    fresh,
    (live) => live.destroy(),
  );
  // Its dry run (the preview): the edit on the copy, the live threads resolved in it.
  const dryRun = await timed(
    (live: Y.Doc) => reviseArticle(live, target, 8, { countAnchors: true }),
    fresh,
    (live) => live.destroy(),
  );
  const copy = await timed(() => articleCopy(big).destroy());
  // What the History dialog also asks when it opens a version: the diff from it to the current document.
  const current = built(bigState);
  await reviseArticle(current, target, 10, { countAnchors: false }).then((r) => Y.applyUpdate(current, r.update));
  // The version as the server keeps it after its text and threads were read (read.ts); the live document's records
  // through its cache, which the projector keeps read.
  const kept = { doc: readCopyDoc(readCopy), threads: readCopyThreads(readCopy) };
  cachedThreadRecords(current);
  const bigDiff = await timed(() =>
    diffDocuments(kept, { doc: current, threads: cachedThreadRecords(current) }, () => 'editor'),
  );
  kept.doc.destroy();
  current.destroy();
  const counted = await reviseArticle(big, target, 9);

  const plain = await build(0);
  const plainState = Y.encodeStateAsUpdate(plain);
  const plainCopy = readCopyOf(plain);
  const revision = await reviseArticle(plain, target, 7);
  const after = new Y.Doc();
  Y.applyUpdate(after, plainState);
  Y.applyUpdate(after, revision.update);
  const diff = await timed(() => diffDocuments(plain, after, () => 'editor'));
  const changes = diffDocuments(plain, after, () => 'editor').article.length;
  const loadAfter = loadavg();

  const rows = [
    [
      'open a version (its read copy: article built, records parsed; text, every thread resolved and serialised)',
      open,
      1000,
    ],
    ['… of which: the article copy built (`Y.applyUpdate`)', copyBuilt, null],
    ['… of which: the thread records parsed (`JSON.parse`)', parsed, null],
    ['… of which: every thread resolved in the article copy and serialised (as `GET …/threads`)', resolve, null],
    [
      'open a version from its full state (a version recorded before read copies, first read: built, read, its read copy made)',
      openFull,
      null,
    ],
    ['… of which: the state built into a fresh doc (`Y.applyUpdate`)', apply, null],
    ['recording a read copy (in the fold: thread records read afresh)', recordFresh, null],
    ['recording a read copy (live document: thread records cached)', recordCached, null],
    ['diff of two versions of the seed article', diff, 200],
    [
      'a new revision applied (state and read copy kept, edit on the article copy, applied, anchors counted)',
      revise,
      2000,
    ],
    ['… its dry run (the preview: edit on the article copy, live threads resolved in it)', dryRun, 2000],
    ['… of which: the copy of the article alone', copy, null],
    [
      `diff of a ${THREADS.toLocaleString('en')}-thread version and the revised document (from the version's read copy: the History dialog opening a version)`,
      bigDiff,
      null,
    ],
  ] as const;
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}: the seed article with ${THREADS.toLocaleString('en')} threads (each with two replies). Each figure is the median of ${RUNS} runs: wall time, CPU time of the process (all threads, garbage collection included), and the first run. The revision changes a sentence, deletes a paragraph and inserts one (${changes} word-level changes in the diff; anchors after it: ${counted.anchors.exact} exact, ${counted.anchors.moved} moved, ${counted.anchors.orphaned} orphaned). Load average (1/5/15 min) ${load(loadBefore)} before, ${load(loadAfter)} after: the 2-core machine is shared with other sessions' builds and tests. Run: \`npm run bench:versions --workspace bench\`.`,
    '',
    '| operation | wall ms (median) | CPU ms (median) | first run | goal | |',
    '|---|---:|---:|---:|---:|---|',
    ...rows.map(
      ([name, t, goal]) =>
        `| ${name} | ${t.ms.toFixed(0)} | ${t.cpu.toFixed(0)} | ${t.first.toFixed(0)} | ${goal === null ? '' : `<= ${goal}`} | ${goal === null ? '' : t.ms <= goal ? 'met' : 'missed'} |`,
    ),
    '',
    `Storage per automatic version: its full state ${mib(bigState.byteLength)} MiB and its read copy ${mib(readCopy.article.byteLength + Buffer.byteLength(readCopy.threads))} MiB (article ${(readCopy.article.byteLength / 1024).toFixed(0)} KiB, thread records ${mib(Buffer.byteLength(readCopy.threads))} MiB of JSON) for the ${THREADS.toLocaleString('en')}-thread document; ${(plainState.byteLength / 1024).toFixed(0)} KiB of state and ${((plainCopy.article.byteLength + Buffer.byteLength(plainCopy.threads)) / 1024).toFixed(0)} KiB of read copy for the seed article alone.`,
  ];
  console.log(lines.join('\n'));
  writeSection(lines.join('\n'));
  big.destroy();
  plain.destroy();
  after.destroy();
}

/** Notes written by hand below this mark in the section (the profile, the figures before) are kept. */
const NOTES_MARK = '<!-- versions-notes -->';

/**
 * Replaces (or appends) the "## Versions" section of RESULTS.md, leaving every other section as it is; the notes
 * written below NOTES_MARK in that section are kept.
 */
function writeSection(body: string): void {
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
  const start = current.search(/^## Versions\s*$/m);
  let next: string;
  if (start < 0) {
    next = `${current.replace(/\s*$/, '')}\n\n## Versions\n\n${body}\n`;
  } else {
    const rest = current.slice(start + 1);
    const end = rest.search(/^## /m);
    const old = end < 0 ? rest : rest.slice(0, end);
    const mark = old.indexOf(NOTES_MARK);
    const notes = mark < 0 ? '' : `\n${old.slice(mark).replace(/\s*$/, '')}\n`;
    const section = `## Versions\n\n${body}\n${notes}`;
    next = current.slice(0, start) + section + (end < 0 ? '' : `\n${rest.slice(end)}`);
  }
  writeFileSync(RESULTS, next);
}

await main();
