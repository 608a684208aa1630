#!/usr/bin/env node
// Builds what is stale: the TypeScript packages (tsc -b is incremental) and the client bundle
// (rebuilt only when a source it depends on is newer than the last bundle).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, args, cwd = root) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

run(bin('tsc'), ['-b', 'shared', 'server']);

const stamp = join(root, 'client', 'dist', '.built');
const inputs = [
  'client/src',
  'client/index.html',
  'client/vite.config.ts',
  'client/public',
  'shared/src',
  'client/package.json',
  'patches', // patches to dependencies the bundle includes (applied at install)
];
const newestInput = Math.max(...inputs.map((p) => newestMtime(join(root, p))));
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (newestInput > built) {
  console.log('build: bundling the client (vite)…');
  run(bin('vite'), ['build', '--logLevel', 'warn'], join(root, 'client'));
  writeFileSync(stamp, new Date().toISOString() + '\n');
}
