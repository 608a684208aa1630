/**
 * Collaborative-editing drill: many seeded random schedules of 3–5 headless Lexical editors editing one article
 * through the project's @lexical/yjs binding, with partitions and reordered delivery (the fuzzer in
 * tests/support/editing-fuzz.ts, which `npm test` runs for a few hundred schedules). Prints the schedules run, the
 * time, and the violations by class; exits 1 on any violation not in a known class, or on any at all with --strict.
 *
 *   npm run drill:editing [-- --schedules 100000 --seeds 1,2,3 --max-steps 30 --strict --binding v1|v2 --ops type,format]
 *
 * `--compare` runs each schedule on both bindings, interleaved (so the machine's load weighs on both alike), and
 * prints how many fail on both, on one only, and each binding's time per run (without classification).
 *
 * `--binding v2` runs the same schedules on @lexical/yjs 0.52's experimental collab v2 binding (for comparison
 * only: nothing shipped uses it; the anchor invariant is skipped there, see BindingKind in the fuzzer).
 *
 * The schedules are split evenly over the seeds. Each failure is printed with its seed and the schedule shrunk by
 * fast-check to a minimal one (`--replay '<json>'` runs a printed schedule alone).
 */
import fc from 'fast-check';
import {
  ALL_OPS,
  KNOWN_CLASSES,
  classify,
  describeSchedule,
  runSchedule,
  scheduleArbitrary,
  type BindingKind,
  type OpKind,
  type Schedule,
} from '../../tests/support/editing-fuzz.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const binding = (arg('binding') ?? 'v1') as BindingKind;
  if (binding !== 'v1' && binding !== 'v2') throw new Error('--binding is v1 or v2');
  const replay = arg('replay');
  if (replay) {
    const result = await runSchedule(JSON.parse(replay) as Schedule, { binding });
    console.log(JSON.stringify({ violations: result.violations, text: result.finalText }, null, 2));
    process.exitCode = result.violations.length > 0 ? 1 : 0;
    return;
  }
  if (process.argv.includes('--compare')) {
    await compare();
    return;
  }
  const schedules = Number(arg('schedules') ?? 100_000);
  const seeds = (arg('seeds') ?? '1,2,3').split(',').map(Number);
  const maxSteps = Number(arg('max-steps') ?? 30);
  const strict = process.argv.includes('--strict');
  // Narrows the schedules to some operations (e.g. to study one class); all of them by default.
  const ops = (arg('ops')?.split(',') ?? [...ALL_OPS]) as OpKind[];
  for (const op of ops) if (!ALL_OPS.includes(op)) throw new Error(`--ops: unknown operation ${op}`);
  const perSeed = Math.ceil(schedules / seeds.length);

  const byClass = new Map<string, number>();
  const newFailures: string[] = [];
  let run = 0;
  const started = Date.now();
  for (const seed of seeds) {
    let firstNew: Schedule | null = null;
    // The property holds for a schedule unless it breaks an invariant outside the known classes; known-class
    // failures are counted as they go.
    const property = fc.asyncProperty(scheduleArbitrary({ maxSteps, ops }), async (schedule) => {
      run++;
      if (run % 1000 === 0) console.error(`… ${run} schedules, ${Math.round((Date.now() - started) / 1000)} s`);
      const result = await runSchedule(schedule, { binding });
      if (result.violations.length === 0) return true;
      const c = await classify(schedule, result, { binding });
      if (c.known.length > 0 && !strict) {
        const name = c.known.map((k) => k.name).join(' + ');
        byClass.set(name, (byClass.get(name) ?? 0) + 1);
        return true;
      }
      firstNew ??= schedule;
      return false;
    });
    const details = await fc.check(property, { seed, numRuns: perSeed, endOnFailure: false });
    if (details.failed) {
      const minimal = details.counterexample![0] as Schedule;
      const result = await runSchedule(minimal, { binding });
      const line = `seed ${seed} (path ${details.counterexamplePath}): ${result.violations
        .map((v) => `${v.invariant}: ${v.detail}`)
        .join('; ')}\n    minimal schedule: ${describeSchedule(minimal)}`;
      newFailures.push(line);
      byClass.set('new (not in a known class)', (byClass.get('new (not in a known class)') ?? 0) + 1);
      void firstNew;
    }
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `editing drill (collab ${binding}): ${run} schedules (seeds ${seeds.join(',')}, ops ${ops.length === ALL_OPS.length ? 'all' : ops.join(',')}, up to ${maxSteps} steps, 3–5 editors), ${seconds.toFixed(0)} s (${((1000 * seconds) / Math.max(1, run)).toFixed(1)} ms per schedule)`,
  );
  console.log(`  known classes: ${KNOWN_CLASSES.map((k) => k.name).join(', ') || 'none'}`);
  for (const [name, n] of byClass) console.log(`  ${name}: ${n}`);
  if (byClass.size === 0) console.log('  violations: 0');
  for (const f of newFailures) console.log(`  ${f}`);
  if (newFailures.length > 0) process.exitCode = 1;
}

/** Each schedule on v1 then v2; failures counted raw (any violation), times per run. */
async function compare(): Promise<void> {
  const schedules = Number(arg('schedules') ?? 1000);
  const seeds = (arg('seeds') ?? '1,2,3').split(',').map(Number);
  const maxSteps = Number(arg('max-steps') ?? 30);
  const counts = { both: 0, v1Only: 0, v2Only: 0, neither: 0 };
  const ms = { v1: 0, v2: 0 };
  let run = 0;
  for (const seed of seeds) {
    const sample = fc.sample(scheduleArbitrary({ maxSteps }), {
      seed,
      numRuns: Math.ceil(schedules / seeds.length),
    });
    for (const schedule of sample) {
      run++;
      let t = performance.now();
      const v1 = (await runSchedule(schedule, { binding: 'v1' })).violations.length > 0;
      ms.v1 += performance.now() - t;
      t = performance.now();
      const v2 = (await runSchedule(schedule, { binding: 'v2' })).violations.length > 0;
      ms.v2 += performance.now() - t;
      counts[v1 && v2 ? 'both' : v1 ? 'v1Only' : v2 ? 'v2Only' : 'neither']++;
    }
  }
  console.log(
    `editing drill, v1 against v2: ${run} schedules (seeds ${seeds.join(',')}, up to ${maxSteps} steps); failing on both ` +
      `${counts.both}, v1 only ${counts.v1Only}, v2 only ${counts.v2Only}, neither ${counts.neither}; ` +
      `${(ms.v1 / run).toFixed(1)} ms per run on v1, ${(ms.v2 / run).toFixed(1)} ms on v2`,
  );
}

await main();
