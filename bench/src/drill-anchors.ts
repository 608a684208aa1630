/**
 * Anchoring-fidelity drill: N seeded random traces over the seed article (annotate, edit through Lexical, resolve,
 * judge against the ground truth). Prints exact / moved-correct / orphan / wrong; exits 1 if any is wrong.
 *
 *   npm run drill:anchors [-- --traces 10000 --seed 1 --trace K --diagnose file.jsonl]
 *
 * --trace K replays trace K alone (verbose); --diagnose writes every non-exact anchor's best fuzzy candidate, with
 * whether it was the right place; --sweep also judges every trace under other thresholds (the evidence for the ones
 * in shared/src/anchor.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { MOVE_THRESHOLDS, type MoveThresholds } from '@marginalia/shared';
import { importArticle } from '../../server/dist/article/import.js';
import { TraceRunner, type Judged, type Verdict } from './anchors/trace.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, '../../../shared/fixtures/oped-kandahar-islamabad.txt');

const T = MOVE_THRESHOLDS;
const tiers = (a: number, b: number, c: number): MoveThresholds['minContextSimilarity'] => [
  { shorterThan: 4, min: a },
  { shorterThan: 16, min: b },
  { shorterThan: Number.POSITIVE_INFINITY, min: c },
];
/** Threshold variants tried by --sweep; the first is the one in use. */
const SWEEP: [string, MoveThresholds][] = [
  ['in use', T],
  ['quote >= 0.70', { ...T, minQuoteSimilarity: 0.7 }],
  ['quote >= 0.75', { ...T, minQuoteSimilarity: 0.75 }],
  ['quote >= 0.85', { ...T, minQuoteSimilarity: 0.85 }],
  ['quote >= 0.90', { ...T, minQuoteSimilarity: 0.9 }],
  ['context 0.9/0.6/0.4', { ...T, minContextSimilarity: tiers(0.9, 0.6, 0.4) }],
  ['context 0.75/0.5/0.3', { ...T, minContextSimilarity: tiers(0.75, 0.5, 0.3) }],
  ['context 0.5 for all', { ...T, minContextSimilarity: tiers(0.5, 0.5, 0.5) }],
  ['no context check', { ...T, minContextSimilarity: tiers(0, 0, 0) }],
  ['margin 0', { ...T, minMargin: 0 }],
  ['nearby 128', { ...T, nearby: 128 }],
  ['nearby 1024', { ...T, nearby: 1024 }],
  ['far context 0.7', { ...T, minFarContextSimilarity: 0.7 }],
  ['no exact context check', { ...T, exactContextBelowLength: 0 }],
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const fixture =
    process.env.MARGINALIA_FIXTURE ??
    (existsSync(FIXTURE) ? FIXTURE : '/work/shared/fixtures/oped-kandahar-islamabad.txt');
  const traces = Number(arg('traces') ?? 10000);
  const baseSeed = Number(arg('seed') ?? 1);
  const only = arg('trace');
  const diagnose = arg('diagnose');

  const base = new Y.Doc();
  await importArticle(base, 'text', readFileSync(fixture, 'utf8'));
  const variants = process.argv.includes('--sweep') ? SWEEP : SWEEP.slice(0, 1);
  const runner = new TraceRunner(
    Y.encodeStateAsUpdate(base),
    variants.map(([, t]) => t),
  );
  const perVariant = variants.map(() => ({ exact: 0, 'moved-correct': 0, orphan: 0, wrong: 0 }));
  base.destroy();

  const counts: Record<Verdict, number> = { exact: 0, 'moved-correct': 0, orphan: 0, wrong: 0 };
  let recoverableOrphans = 0;
  let diverged = 0;
  let crashed = 0;
  const samples: string[] = [];
  const rows: string[] = [];
  const started = Date.now();
  const from = only === undefined ? 0 : Number(only);
  const to = only === undefined ? traces : from + 1;
  for (let t = from; t < to; t++) {
    const seed = baseSeed * 1_000_003 + t;
    let result;
    try {
      result = await runner.run(seed);
    } catch (error) {
      crashed++;
      if (samples.length < 20) samples.push(`trace ${t}: the edit failed in Lexical: ${(error as Error).message}`);
      continue;
    }
    if (only !== undefined) console.log(JSON.stringify(result, null, 2));
    if (result.diverged) {
      diverged++;
      if (samples.length < 10) samples.push(`trace ${t}: Lexical text diverged from the shadow ${result.diverged}`);
      continue;
    }
    result.anchors.forEach((judged, v) => judged.forEach((a) => perVariant[v]![a.verdict]++));
    result.anchors[0]!.forEach((a: Judged) => {
      counts[a.verdict]++;
      if (a.verdict === 'orphan' && a.recoverable) recoverableOrphans++;
      if (a.verdict === 'wrong' && samples.length < 20)
        samples.push(
          `trace ${t}: ${a.detail} quote ${JSON.stringify(a.quote.slice(0, 60))} ops ${result.ops.join('; ')}`,
        );
      if (diagnose && a.candidate)
        rows.push(JSON.stringify({ trace: t, verdict: a.verdict, length: a.quote.length, ...a.candidate }));
    });
    if ((t + 1) % 1000 === 0) console.error(`… ${t + 1} traces, ${Math.round((Date.now() - started) / 1000)} s`);
  }
  if (diagnose) writeFileSync(diagnose, rows.join('\n') + '\n');

  const total = counts.exact + counts['moved-correct'] + counts.orphan + counts.wrong;
  const pct = (n: number): string => `${((100 * n) / Math.max(1, total)).toFixed(2)}%`;
  console.log(
    `anchoring drill: ${to - from} traces (seed ${baseSeed}), ${total} anchors, ${Math.round((Date.now() - started) / 1000)} s`,
  );
  console.log(`  exact          ${counts.exact} (${pct(counts.exact)})`);
  console.log(`  moved-correct  ${counts['moved-correct']} (${pct(counts['moved-correct'])})`);
  console.log(
    `  orphan         ${counts.orphan} (${pct(counts.orphan)}; of which the passage survived recognisably: ${recoverableOrphans})`,
  );
  console.log(`  wrong          ${counts.wrong}`);
  if (crashed) console.log(`  traces not judged (an edit threw in Lexical): ${crashed}`);
  if (diverged) console.log(`  traces not judged (Lexical text diverged from the shadow): ${diverged}`);
  console.log(
    `  thresholds     ${JSON.stringify(MOVE_THRESHOLDS, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'any' : v))}`,
  );
  if (variants.length > 1) {
    console.log('\n| thresholds | exact | moved-correct | orphan | wrong |\n|---|---|---|---|---|');
    variants.forEach(([name], v) => {
      const c = perVariant[v]!;
      console.log(`| ${name} | ${c.exact} | ${c['moved-correct']} | ${c.orphan} | ${c.wrong} |`);
    });
  }
  for (const s of samples) console.log(`  ${s}`);
  if (counts.wrong > 0) process.exitCode = 1;
}

await main();
