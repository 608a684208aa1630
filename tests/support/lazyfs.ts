/**
 * lazyfs: a power cut for one directory. `mountLazyfs(backing, mountpoint)` mounts a small FUSE filesystem
 * (support/lazyfs/lazyfs.c, compiled on first use) that passes everything under `mountpoint` through to
 * `backing`, but remembers every change to a file's data or size that was not followed by an fsync/fdatasync of
 * that file. `crash()` undoes all of those — leaving `backing` as a disk would be after losing power — and makes
 * every later operation under the mount fail with EIO, so nothing written after the cut reaches the disk.
 *
 * Simplification: creating, renaming, linking and deleting files and directories is durable at once (a file created
 * and written without an fsync survives the crash, with the size of its last fsync: empty if never synced).
 *
 * A slow disk: `setFsyncDelay(ms)` makes every fsync/fdatasync wait that long before it returns, while every other
 * operation goes on being served. An fsync keeps only what was written to its file before it began.
 * Needs gcc, pkg-config with fuse3 (libfuse3-dev), fusermount3 (fuse3) and /dev/fuse: see `lazyfsAvailable`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'lazyfs', 'lazyfs.c');
/** The control file at the root of every lazyfs mount. */
export const CONTROL_FILE = '.lazyfs-control';

export interface Lazyfs {
  mountpoint: string;
  backing: string;
  /** Files with unsynced changes, and the bytes of old data kept to undo them. */
  pending(): { files: number; bytes: number };
  /** The power cut: undoes every unsynced change in `backing`; from then on the mount answers EIO. */
  crash(): Promise<void>;
  /** Treats every change so far as synced (for setup). */
  syncAll(): void;
  /**
   * A slow disk: from now on every fsync/fdatasync under the mount takes `ms` milliseconds (a whole number, at most
   * an hour) before it returns; 0 (the default) turns it off. Meanwhile every other operation, on any file, is
   * served as usual. An fsync keeps only the changes its file had when it began: a write that arrives while it
   * waits is undone by a crash unless a later fsync keeps it. A crash while an fsync waits makes it fail with EIO,
   * keeping nothing. The new delay also applies to fsyncs already waiting (counted from their start), so 0 lets them
   * all return at once.
   *
   * Note the kernel holds a file's inode lock for the length of its fsync: a write(2), truncate or fallocate of the
   * same path waits for it. A write through a hard link to the file (lazyfs gives every name its own inode) does not.
   */
  setFsyncDelay(ms: number): void;
  /** A failing disk: from now on every fsync/fdatasync fails with EIO and keeps nothing; writes still succeed. */
  failFsync(): void;
  /** The fsyncs/fdatasyncs of files under the mount that have begun and not yet returned. */
  fsyncsInFlight(): number;
  /** Unmounts and waits for the process to exit. Safe to call more than once, and after anything went wrong. */
  unmount(): Promise<void>;
  /** What the lazyfs process wrote to stdout and stderr. */
  output(): string;
}

function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** Whether lazyfs can be built and mounted here. */
export function lazyfsAvailable(): boolean {
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  return runs('gcc', ['--version']) && runs('pkg-config', ['--exists', 'fuse3']) && runs('fusermount3', ['--version']);
}

let binary: string | undefined;

/**
 * Compiles lazyfs.c, once per version: the binary is cached in the temp directory under a hash of the source and
 * the compiler options.
 */
function compile(): string {
  if (binary) return binary;
  const source = readFileSync(SOURCE);
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'fuse3'], { encoding: 'utf8' });
  if (flags.status !== 0) throw new Error(`pkg-config fuse3 failed: ${flags.stderr}`);
  const options = ['-O2', '-Wall', '-Wextra', '-pthread', ...flags.stdout.trim().split(/\s+/)];
  const hash = createHash('sha256').update(source).update(options.join(' ')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `lazyfs-${hash}`);
  const bin = join(dir, 'lazyfs');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    // Built under a private name and renamed, so that parallel test workers never run a half-written binary.
    const tmp = `${bin}.${process.pid}`;
    const cc = spawnSync('gcc', ['-o', tmp, SOURCE, ...options], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`compiling lazyfs failed:\n${cc.stderr}`);
    renameSync(tmp, bin);
  }
  return (binary = bin);
}

function isMounted(mountpoint: string): boolean {
  const escaped = mountpoint.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === escaped);
}

/** Mounts lazyfs over `backing` at `mountpoint` (an empty directory) and waits until it answers. */
export async function mountLazyfs(backing: string, mountpoint: string): Promise<Lazyfs> {
  backing = resolve(backing);
  mountpoint = resolve(mountpoint);
  const control = join(mountpoint, CONTROL_FILE);
  // -f: foreground (so we own the process), multi-threaded (no -s: an fsync waiting on the slow disk must not hold
  // up the other operations), auto_unmount: unmounted if the process dies.
  const child: ChildProcess = spawn(compile(), [backing, mountpoint, '-f', '-o', 'auto_unmount'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<void>((done) => {
    child.once('exit', () => done());
    child.once('error', (e) => {
      out += String(e);
      done();
    });
  });

  let unmounting: Promise<void> | undefined;
  const unmount = (): Promise<void> =>
    (unmounting ??= (async () => {
      if (isMounted(mountpoint) && !runs('fusermount3', ['-u', mountpoint])) {
        // Busy (something still has a file open under it): detach it now, the process exits once it is unused.
        if (!runs('fusermount3', ['-u', '-z', mountpoint])) runs('umount', ['-l', mountpoint]);
      }
      const timeout = new Promise<'timeout'>((done) => setTimeout(done, 5000, 'timeout').unref());
      if ((await Promise.race([exit, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exit;
      }
    })());

  const status = (): string => readFileSync(control, 'utf8');
  const failedToStart = exit.then(() => {
    throw new Error(`lazyfs exited before the mount was live:\n${out}`);
  });
  failedToStart.catch(() => {}); // only awaited while mounting
  try {
    await Promise.race([
      waitFor(() => status().startsWith('pending '), {
        timeout: 10_000,
        message: () => `lazyfs to mount at ${mountpoint}:\n${out}`,
      }),
      failedToStart,
    ]);
  } catch (e) {
    await unmount();
    throw e;
  }

  return {
    mountpoint,
    backing,
    pending() {
      const m = /^pending (\d+) (\d+)$/m.exec(status());
      if (!m) throw new Error(`unexpected lazyfs status: ${status()}`);
      return { files: Number(m[1]), bytes: Number(m[2]) };
    },
    async crash() {
      writeFileSync(control, 'crash');
      if (!/^crashed$/m.test(status())) throw new Error(`lazyfs did not crash: ${status()}`);
    },
    syncAll() {
      writeFileSync(control, 'sync-all');
    },
    setFsyncDelay(ms) {
      if (!Number.isInteger(ms) || ms < 0 || ms > 3_600_000) throw new Error(`fsync delay out of range: ${ms}`);
      writeFileSync(control, `fsync-delay ${ms}`);
    },
    failFsync() {
      writeFileSync(control, 'fail-fsync');
    },
    fsyncsInFlight() {
      const m = /^fsyncs-in-flight (\d+)$/m.exec(status());
      if (!m) throw new Error(`unexpected lazyfs status: ${status()}`);
      return Number(m[1]);
    },
    unmount,
    output: () => out,
  };
}
