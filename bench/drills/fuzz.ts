/**
 * drill:fuzz — the fuzz suite of tests/server/fuzz.test.ts with FUZZ_RUNS cases (default 100,000; the suite in
 * `npm test` runs 3,000). TEST_SEED replays a run. Prints the seed and the suite's outcome.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, machine } from './lib.js';

const runs = process.env.FUZZ_RUNS ?? '100000';
const seed = process.env.TEST_SEED ?? String(Date.now() % 2 ** 31);
const started = new Date();
console.log(`drill:fuzz: ${runs} cases, seed ${seed}; ${machine()}`);
const t0 = performance.now();
const child = spawn(
  process.execPath,
  ['--experimental-vm-modules', join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), 'server/fuzz.test.ts'],
  {
    cwd: join(ROOT, 'tests'),
    env: { ...process.env, FUZZ_RUNS: runs, TEST_SEED: seed, FUZZ_STATS: process.env.FUZZ_STATS ?? '1' },
    stdio: 'inherit',
  },
);
child.on('exit', (code) => {
  const minutes = ((performance.now() - t0) / 60000).toFixed(1);
  console.log(
    `drill:fuzz ${code === 0 ? 'passed' : 'FAILED'}: ${runs} cases, seed ${seed}, ${minutes} min (started ${started.toISOString()})`,
  );
  process.exitCode = code ?? 1;
});
