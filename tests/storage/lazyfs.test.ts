/**
 * lazyfs (support/lazyfs.ts), the power-cut simulator the storage durability tests rely on: what survives its
 * crash is exactly what was fsynced (file data and sizes; creating, renaming and deleting files is durable at
 * once), nothing done after the crash reaches the disk, and it holds for SQLite's own I/O (WAL, mmap of -shm).
 * As a slow disk (setFsyncDelay), an fsync that waits holds up no other operation, keeps only what was written
 * before it began, and fails with EIO, keeping nothing, if the crash comes first.
 */
import { afterEach, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CONTROL_FILE, lazyfsAvailable, mountLazyfs, type Lazyfs } from '../support/lazyfs.js';
import { tempDir } from '../support/server.js';
import { describeIfService } from '../support/services.js';
import { waitFor } from '../support/wait.js';

interface Mounted {
  lfs: Lazyfs;
  /** A path under the mount. */
  m(name: string): string;
  /** The same path in the backing directory (the "disk"). */
  b(name: string): string;
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  // Every cleanup runs (the unmount above all), even when an earlier one fails.
  const errors: unknown[] = [];
  for (const c of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(c)
      .catch((e: unknown) => errors.push(e));
  if (errors.length) throw errors[0];
});

/** Mounts lazyfs over a fresh backing directory that first gets `initial` (durable: never went through lazyfs). */
async function mount(initial: Record<string, string | Buffer> = {}): Promise<Mounted> {
  const backing = tempDir('lazyfs-backing-');
  cleanups.push(() => backing.remove());
  for (const [name, content] of Object.entries(initial)) fs.writeFileSync(join(backing.path, name), content);
  const mountpoint = tempDir('lazyfs-mount-');
  // rmdir, not rm -r: should the unmount ever fail, this must not delete through the mount.
  cleanups.push(() => fs.rmdirSync(mountpoint.path));
  const lfs = await mountLazyfs(backing.path, mountpoint.path);
  cleanups.push(() => lfs.unmount());
  return { lfs, m: (name) => join(lfs.mountpoint, name), b: (name) => join(lfs.backing, name) };
}

/** The error code a call fails with (undefined if it does not fail). */
function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
  return undefined;
}

/** Every directory (with a trailing /) and file (with its content) under `dir`. */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const name = prefix + e.name;
    if (e.isDirectory()) Object.assign(out, { [`${name}/`]: '' }, snapshot(join(dir, e.name), `${name}/`));
    else out[name] = fs.readFileSync(join(dir, e.name), 'utf8');
  }
  return out;
}

/** fsync of a file through a read-only descriptor of its own. */
function fsyncFile(path: string): void {
  const fd = fs.openSync(path, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `data` at `position` through a descriptor of its own, optionally followed by fsync or fdatasync. */
function writeAt(path: string, data: string | Buffer, position: number, sync?: 'fsync' | 'fdatasync'): void {
  const fd = fs.openSync(path, fs.existsSync(path) ? 'r+' : 'w+');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data, 0, data.length, position);
    if (sync === 'fsync') fs.fsyncSync(fd);
    if (sync === 'fdatasync') fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

describeIfService('fuse (lazyfs)', lazyfsAvailable())('lazyfs: a power cut for a directory', () => {
  test('passes everything through to the backing directory at once, and counts what is unsynced', async () => {
    const { lfs, m, b } = await mount({ 'old.txt': 'durable' });
    expect(lfs.pending()).toEqual({ files: 0, bytes: 0 });
    expect(fs.readFileSync(m('old.txt'), 'utf8')).toBe('durable');
    fs.writeFileSync(m('new.txt'), 'hello');
    expect(fs.readFileSync(b('new.txt'), 'utf8')).toBe('hello');
    expect(lfs.pending()).toEqual({ files: 1, bytes: 0 }); // appended to an empty file: nothing to keep
    writeAt(m('old.txt'), 'DUR', 0);
    expect(fs.readFileSync(b('old.txt'), 'utf8')).toBe('DURable');
    expect(lfs.pending()).toEqual({ files: 2, bytes: 3 }); // "dur" kept to undo it
    fs.mkdirSync(m('dir'));
    fs.renameSync(m('new.txt'), m('dir/moved.txt'));
    expect(fs.readFileSync(b('dir/moved.txt'), 'utf8')).toBe('hello');
    expect(fs.readdirSync(m('.')).sort()).toEqual(['dir', 'old.txt']); // the control file is not listed
    expect(fs.statSync(m(CONTROL_FILE)).isFile()).toBe(true);
    fsyncFile(m('old.txt'));
    expect(lfs.pending()).toEqual({ files: 1, bytes: 0 }); // the renamed file is still the same file, unsynced
    fs.unlinkSync(m('old.txt'));
    expect(fs.existsSync(b('old.txt'))).toBe(false);
  });

  test('a write that was not fsynced is lost: the old content and the old size come back', async () => {
    const { lfs, m, b } = await mount({ 'f.txt': 'the durable content\n', 'log.txt': 'line 1\n' });
    fs.writeFileSync(m('f.txt'), 'a newer and much longer content that was never synced\n'); // O_TRUNC, then a write
    fs.appendFileSync(m('log.txt'), 'line 2\n'); // O_APPEND
    fs.writeFileSync(m('created.txt'), 'never synced');
    expect(fs.readFileSync(b('f.txt'), 'utf8')).toBe('a newer and much longer content that was never synced\n');
    expect(fs.readFileSync(b('log.txt'), 'utf8')).toBe('line 1\nline 2\n');
    expect(lfs.pending().files).toBe(3);
    await lfs.crash();
    expect(fs.readFileSync(b('f.txt'), 'utf8')).toBe('the durable content\n');
    expect(fs.readFileSync(b('log.txt'), 'utf8')).toBe('line 1\n');
    // Creating a file is durable at once; its content is not.
    expect(fs.readFileSync(b('created.txt'), 'utf8')).toBe('');
  });

  test('fsync and fdatasync (through any descriptor of the file) keep a write', async () => {
    const { lfs, m, b } = await mount({ 'a.txt': 'a-old', 'b.txt': 'b-old', 'c.txt': 'c-old', 'd.txt': 'd-old' });
    writeAt(m('a.txt'), 'a-new-and-longer', 0, 'fsync');
    writeAt(m('b.txt'), 'b-new-and-longer', 0, 'fdatasync');
    writeAt(m('c.txt'), 'c-new-and-longer', 0);
    // d: written through one descriptor, synced through another, read-only one.
    writeAt(m('d.txt'), 'd-new-and-longer', 0);
    fsyncFile(m('d.txt'));
    expect(lfs.pending()).toEqual({ files: 1, bytes: 5 });
    await lfs.crash();
    expect(fs.readFileSync(b('a.txt'), 'utf8')).toBe('a-new-and-longer');
    expect(fs.readFileSync(b('b.txt'), 'utf8')).toBe('b-new-and-longer');
    expect(fs.readFileSync(b('c.txt'), 'utf8')).toBe('c-old');
    expect(fs.readFileSync(b('d.txt'), 'utf8')).toBe('d-new-and-longer');
  });

  test('a failing disk: after failFsync every fsync and fdatasync fails with EIO and keeps nothing; writes still succeed', async () => {
    const { lfs, m, b } = await mount({ 'f.txt': 'old' });
    writeAt(m('f.txt'), 'synced', 0, 'fsync');
    lfs.failFsync();
    expect(() => writeAt(m('f.txt'), 'SYNCED', 0, 'fdatasync')).toThrow(/EIO/);
    expect(() => fsyncFile(m('f.txt'))).toThrow(/EIO/);
    writeAt(m('g.txt'), 'written', 0);
    expect(fs.readFileSync(b('g.txt'), 'utf8')).toBe('written');
    await lfs.crash();
    expect(fs.readFileSync(b('f.txt'), 'utf8')).toBe('synced');
    expect(fs.readFileSync(b('g.txt'), 'utf8')).toBe('');
  });

  test('writes after an fsync are undone, newest first, and the synced bytes come back exactly', async () => {
    const { lfs, m, b } = await mount();
    const synced = randomBytes(200_000); // several FUSE writes (128 KiB at most each)
    writeAt(m('data'), synced, 0, 'fsync');
    expect(lfs.pending()).toEqual({ files: 0, bytes: 0 });
    writeAt(m('data'), randomBytes(100), 1000); // inside the synced region
    writeAt(m('data'), randomBytes(3000), 199_000); // across its end
    writeAt(m('data'), randomBytes(1 << 20), 5 << 20); // far beyond, leaving a hole
    writeAt(m('data'), randomBytes(100), 1000); // the same bytes again: only undoing newest first restores them
    // Kept: 100 synced bytes, the 1000 below the old end, and the first overwrite's 100.
    expect(lfs.pending()).toEqual({ files: 1, bytes: 1200 });
    expect(fs.statSync(b('data')).size).toBe(6 << 20);
    await lfs.crash();
    const after = fs.readFileSync(b('data'));
    expect(after.length).toBe(synced.length);
    expect(after.equals(synced)).toBe(true);
  });

  test('truncation and extension that were not fsynced are undone', async () => {
    const original = randomBytes(10_000);
    const small = randomBytes(5000);
    const shrunk = randomBytes(5000);
    const { lfs, m, b } = await mount({ f: original, g: small, h: shrunk });
    // f: cut by path, grown by descriptor, written past the old end, cut again.
    fs.truncateSync(m('f'), 100);
    const fd = fs.openSync(m('f'), 'r+');
    fs.ftruncateSync(fd, 50_000);
    fs.writeSync(fd, Buffer.from('tail'), 0, 4, 20_000);
    fs.ftruncateSync(fd, 30);
    fs.closeSync(fd);
    expect(fs.statSync(b('f')).size).toBe(30);
    // g: only extended.
    fs.truncateSync(m('g'), 1_000_000);
    // h: a cut that was fsynced stays; the cut after it does not.
    const hfd = fs.openSync(m('h'), 'r+');
    fs.ftruncateSync(hfd, 10);
    fs.fsyncSync(hfd);
    fs.ftruncateSync(hfd, 0);
    fs.closeSync(hfd);
    await lfs.crash();
    expect(fs.readFileSync(b('f')).equals(original)).toBe(true);
    expect(fs.readFileSync(b('g')).equals(small)).toBe(true);
    expect(fs.readFileSync(b('h')).equals(shrunk.subarray(0, 10))).toBe(true);
  });

  test('syncAll treats everything so far as synced', async () => {
    const { lfs, m, b } = await mount({ 'f.txt': 'old' });
    fs.writeFileSync(m('f.txt'), 'set up');
    fs.writeFileSync(m('g.txt'), 'set up too');
    lfs.syncAll();
    expect(lfs.pending()).toEqual({ files: 0, bytes: 0 });
    writeAt(m('f.txt'), 'SET', 0);
    await lfs.crash();
    expect(fs.readFileSync(b('f.txt'), 'utf8')).toBe('set up');
    expect(fs.readFileSync(b('g.txt'), 'utf8')).toBe('set up too');
  });

  test('after the crash every operation fails with EIO and the backing directory holds exactly the durable state', async () => {
    const { lfs, m, b } = await mount({ 'old.txt': 'old', 'gone.txt': 'gone' });
    fs.mkdirSync(m('dir'));
    fs.writeFileSync(m('dir/kept.txt'), 'kept');
    fsyncFile(m('dir/kept.txt'));
    fs.writeFileSync(m('dir/lost.txt'), 'lost');
    fs.renameSync(m('old.txt'), m('renamed.txt'));
    fs.unlinkSync(m('gone.txt'));
    const open = fs.openSync(m('open.txt'), 'w');
    let closed = false;
    // Closed before the unmount, which an open file would delay (the close fails with EIO after the crash).
    cleanups.push(() => void (closed || errorCode(() => fs.closeSync(open))));
    fs.writeSync(open, 'before');
    await lfs.crash();
    const durable = { 'dir/': '', 'dir/kept.txt': 'kept', 'dir/lost.txt': '', 'renamed.txt': 'old', 'open.txt': '' };
    expect(snapshot(b('.'))).toEqual(durable);

    expect(errorCode(() => fs.writeSync(open, 'after'))).toBe('EIO');
    expect(errorCode(() => fs.fsyncSync(open))).toBe('EIO');
    closed = true;
    expect(errorCode(() => fs.closeSync(open))).toBe('EIO'); // the flush fails; the descriptor is closed anyway
    expect(errorCode(() => fs.readFileSync(m('dir/kept.txt')))).toBe('EIO');
    expect(errorCode(() => fs.statSync(m('dir/kept.txt')))).toBe('EIO');
    expect(errorCode(() => fs.writeFileSync(m('dir/kept.txt'), 'after'))).toBe('EIO');
    expect(errorCode(() => fs.writeFileSync(m('new.txt'), 'after'))).toBe('EIO');
    expect(errorCode(() => fs.truncateSync(m('renamed.txt'), 0))).toBe('EIO');
    expect(errorCode(() => fs.mkdirSync(m('newdir')))).toBe('EIO');
    expect(errorCode(() => fs.readdirSync(m('.')))).toBe('EIO');
    expect(errorCode(() => fs.renameSync(m('renamed.txt'), m('again.txt')))).toBe('EIO');
    expect(errorCode(() => fs.unlinkSync(m('renamed.txt')))).toBe('EIO');
    expect(errorCode(() => fs.rmdirSync(m('dir')))).toBe('EIO');
    expect(lfs.pending()).toEqual({ files: 0, bytes: 0 });
    await lfs.unmount();
    expect(snapshot(b('.'))).toEqual(durable);
  });

  test('a slow disk: while an fdatasync waits, other operations are served (another file is written and read)', async () => {
    const { lfs, m } = await mount({ 'a.txt': 'a-old', 'b.txt': 'b-old' });
    writeAt(m('a.txt'), 'a-new', 0);
    expect(errorCode(() => fs.writeFileSync(m(CONTROL_FILE), 'fsync-delay soon'))).toBe('EINVAL');
    lfs.setFsyncDelay(1500);
    expect(fs.readFileSync(m(CONTROL_FILE), 'utf8')).toBe('pending 1 5\nfsync-delay 1500\nfsyncs-in-flight 0\n');
    const a = await fs.promises.open(m('a.txt'), 'r');
    cleanups.push(() => a.close());
    // Completion order (every call below is asynchronous, on libuv's thread pool): b's calls are issued only once
    // the fdatasync is waiting in lazyfs, and must all be answered before it returns.
    const done: string[] = [];
    const syncing = a.datasync().then(() => done.push('fdatasync a'));
    await waitFor(() => lfs.fsyncsInFlight() === 1 || done.length > 0, { message: 'the fdatasync to reach lazyfs' });
    await fs.promises.writeFile(m('b.txt'), 'b-new'); // open with O_TRUNC, write, flush, release
    done.push('write b');
    done.push(`read b: ${await fs.promises.readFile(m('b.txt'), 'utf8')}`);
    done.push(`stat b: ${(await fs.promises.stat(m('b.txt'))).size}`);
    await syncing;
    expect(done).toEqual(['write b', 'read b: b-new', 'stat b: 5', 'fdatasync a']);
    expect(lfs.pending()).toEqual({ files: 1, bytes: 5 }); // b's "b-old"; a is synced
    lfs.setFsyncDelay(0);
    expect(fs.readFileSync(m(CONTROL_FILE), 'utf8')).toBe('pending 1 5\nfsync-delay 0\nfsyncs-in-flight 0\n');
  });

  test('an fsync keeps only what was written before it began: a write that arrives while it waits is undone by the crash', async () => {
    const { lfs, m, b } = await mount({ 'f.txt': 'old-old' });
    // The kernel makes a write(2) to the file being fsynced wait for the fsync (it holds the inode's lock), but a
    // hard link is served by lazyfs as an inode of its own: a write through it reaches the same backing file
    // while the fsync waits, as another process's write to the file could on a disk.
    fs.linkSync(m('f.txt'), m('link.txt'));
    writeAt(m('f.txt'), 'NEW', 0); // before the fsync
    lfs.setFsyncDelay(3_600_000); // a disk that does not finish by itself: the test lets the fsync return
    const fh = await fs.promises.open(m('f.txt'), 'r');
    cleanups.push(() => fh.close()); // (a no-op once closed)
    let settled = false;
    const syncing = fh.sync().finally(() => (settled = true));
    await waitFor(() => lfs.fsyncsInFlight() === 1 || settled, { message: 'the fsync to reach lazyfs' });
    writeAt(m('link.txt'), 'LATE and longer', 3); // while it waits
    expect({ settled, inFlight: lfs.fsyncsInFlight() }).toEqual({ settled: false, inFlight: 1 });
    expect(fs.readFileSync(b('f.txt'), 'utf8')).toBe('NEWLATE and longer');
    lfs.setFsyncDelay(0); // applies to the waiting fsync too: it returns now
    await syncing;
    await fh.close(); // before the crash, after which its flush fails
    // Still to undo: the late write only (the 4 bytes it overwrote, and the old size).
    expect(lfs.pending()).toEqual({ files: 1, bytes: 4 });
    await lfs.crash();
    expect(fs.readFileSync(b('f.txt'), 'utf8')).toBe('NEW-old');
  });

  test('a crash while an fsync waits: the fsync fails with EIO and its file loses what was not synced', async () => {
    const { lfs, m, b } = await mount({ 'f.txt': 'durable', 'g.txt': 'durable too' });
    writeAt(m('f.txt'), 'unsynced, and longer', 0);
    writeAt(m('g.txt'), 'synced before', 0, 'fsync');
    lfs.setFsyncDelay(3_600_000);
    const fh = await fs.promises.open(m('f.txt'), 'r');
    cleanups.push(() => fh.close().catch(() => {})); // the flush fails with EIO after the crash
    let settled = false;
    const syncing = fh.sync().then(
      () => 'synced',
      (e: NodeJS.ErrnoException) => e.code,
    );
    void syncing.finally(() => (settled = true));
    await waitFor(() => lfs.fsyncsInFlight() === 1 || settled, { message: 'the fsync to reach lazyfs' });
    await lfs.crash(); // wakes the waiting fsync
    expect(await syncing).toBe('EIO');
    expect(fs.readFileSync(b('f.txt'), 'utf8')).toBe('durable');
    expect(fs.readFileSync(b('g.txt'), 'utf8')).toBe('synced before');
    expect(fs.readFileSync(m(CONTROL_FILE), 'utf8')).toBe(
      'pending 0 0\nfsync-delay 3600000\nfsyncs-in-flight 0\ncrashed\n',
    );
  });

  test('SQLite: every transaction committed with synchronous=FULL survives, those with synchronous=OFF do not', async () => {
    const FULL = 60;
    const OFF = 300;
    const { lfs, m, b } = await mount();
    // The database is used by a child process, killed after the power cut without closing anything. A small WAL
    // auto-checkpoint makes SQLite copy pages into the database file and restart the WAL (overwriting synced
    // frames) many times in both phases, with and without fsync.
    const script = `
      const Database = require(process.argv[1]);
      const [file, full, off] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
      const db = new Database(file);
      db.pragma('synchronous = FULL');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      db.pragma('wal_autocheckpoint = 20');
      db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, mode TEXT NOT NULL, body TEXT NOT NULL)');
      const insert = db.prepare('INSERT INTO rows (mode, body) VALUES (?, ?)');
      const body = (i) => String(i).padStart(6, '0').repeat(50);
      for (let i = 0; i < full; i++) insert.run('full', body(i));
      process.stdout.write('full ' + mode + '\\n');
      db.pragma('synchronous = OFF');
      for (let i = 0; i < off; i++) insert.run('off', body(i));
      process.stdout.write('off ' + db.prepare('SELECT count(*) AS n FROM rows').get().n + '\\n');
      process.stdin.resume(); // keeps the database open until killed
    `;
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const child = spawn(process.execPath, ['-e', script, sqlite, m('app.db'), String(FULL), String(OFF)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    cleanups.push(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /^off \d+$/m.test(out) || child.exitCode !== null, {
      timeout: 50_000,
      message: () => `the child to write:\n${out}`,
    });
    expect(out).toContain('full wal\n');
    expect(out).toContain(`off ${FULL + OFF}\n`);
    expect(lfs.pending().files).toBeGreaterThanOrEqual(2); // at least the database and its WAL
    expect(fs.existsSync(b('app.db-shm'))).toBe(true); // the wal-index, which SQLite maps with MAP_SHARED

    await lfs.crash();
    child.kill('SIGKILL');
    await exited;
    await lfs.unmount();

    const db = new Database(b('app.db'));
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const rows = db.prepare('SELECT id, mode FROM rows ORDER BY id').all() as { id: number; mode: string }[];
      const full = rows.filter((r) => r.mode === 'full');
      expect(full.map((r) => r.id)).toEqual(Array.from({ length: FULL }, (_, i) => i + 1));
      // Nothing was fsynced in the OFF phase, so the power cut takes (at least some of) those rows.
      expect(rows.length - full.length).toBeLessThan(OFF);
    } finally {
      db.close();
    }
  });
});
