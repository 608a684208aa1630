/**
 * The system under test must not change during a run, but other work on this machine rebuilds server/dist and
 * shared/dist at any time (every `npm test` does). So a run first copies them, with the bench's own dist, into
 * bench/tmp/sut-*: node_modules/@marginalia/{shared,server} and bench/dist. Started from there, every process —
 * servers, generators, the bench itself — resolves @marginalia/* to the copy; everything else (yjs, ws, …) still
 * resolves to the one copy in the root node_modules.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export function freeze(benchDir: string): string {
  const root = join(benchDir, '..');
  const sut = join(benchDir, 'tmp', `sut-${Date.now()}`);
  for (const pkg of ['shared', 'server']) {
    const dst = join(sut, 'node_modules', '@marginalia', pkg);
    mkdirSync(dst, { recursive: true });
    cpSync(join(root, pkg, 'package.json'), join(dst, 'package.json'));
    cpSync(join(root, pkg, 'dist'), join(dst, 'dist'), { recursive: true });
  }
  cpSync(join(benchDir, 'dist'), join(sut, 'bench', 'dist'), { recursive: true });
  writeFileSync(join(sut, 'bench', 'package.json'), JSON.stringify({ type: 'module', private: true }));
  return sut;
}

/** The commit the working tree is at, and how many files under server/ and shared/ differ from it. */
export function sourceState(root: string): { commit: string; changed_files: number } {
  const git = (args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git(['rev-parse', '--short', 'HEAD']) || 'unknown';
  const changed = git(['status', '--porcelain', '--', 'server/src', 'shared/src']).split('\n').filter(Boolean).length;
  return { commit, changed_files: changed };
}
