/**
 * How SQLite writes become durable without the event loop waiting for the disk (server/src/storage/wal-sync.ts):
 * flushes of the WAL are shared by every write committed meanwhile, a failed flush stops all writing, and
 * checkpoints (never inside a commit) copy the WAL into the database file. That nothing acknowledged is lost
 * when the power goes is power-cut.test.ts.
 */
import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { openSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WalSync } from '@marginalia/server/storage/wal-sync.js';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { StorageError } from '@marginalia/server/storage/types.js';
import { tempDir } from '../support/server.js';
import { documentRecord } from '../support/records.js';
import { waitFor } from '../support/wait.js';

describe('WalSync', () => {
  test('writes that ask while a flush runs share the next one; a later ask starts its own', async () => {
    const dir = tempDir();
    const file = join(dir.path, 'f');
    writeFileSync(file, 'x');
    const wal = new WalSync(openSync(file, 'r'));
    try {
      const first = wal.sync();
      // These may have committed after `first` started: they must wait for a flush that starts after it.
      const rest = Array.from({ length: 40 }, () => wal.sync());
      expect(new Set(rest).size).toBe(1);
      expect(rest[0]).not.toBe(first);
      await Promise.all([first, ...rest]);
      expect(wal.syncs).toBe(2);
      await wal.sync();
      expect(wal.syncs).toBe(3);
    } finally {
      await wal.close();
      dir.remove();
    }
  });

  test('a flush the kernel refuses is final: that write and every later one fail, nothing is tried again', async () => {
    const dir = tempDir();
    const fifo = join(dir.path, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // fdatasync of a pipe fails (EINVAL): a real refusal by the kernel, as a disk error would be.
    const wal = new WalSync(openSync(fifo, 'r+'));
    try {
      const error: unknown = await wal.sync().then(
        () => new Error('the flush of a pipe succeeded'),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe('unavailable');
      expect((error as Error).message).toMatch(/EINVAL.*restart the server/);
      expect(() => wal.check()).toThrow(/restart the server/);
      await expect(wal.sync()).rejects.toBe(error);
      expect(wal.syncs).toBe(1);
    } finally {
      await wal.close();
      dir.remove();
    }
  });
});

describe('SQLite storage on disk', () => {
  const fill = (n: number, size: number) => Array.from({ length: n }, (_, i) => new Uint8Array(size).fill(i % 251));

  async function writeMany(checkpointAfterBytes: number) {
    const dir = tempDir();
    const file = join(dir.path, 'm.db');
    const storage = await openSqliteStorage(file, { checkpointAfterBytes });
    await storage.createDocument({ record: documentRecord('d1'), initialUpdate: new Uint8Array([0, 0]), members: [] });
    const before = statSync(file).size;
    // 30 rounds of 10 concurrent appends of 4 KB (1.2 MB in all): each round shares flushes, and together they
    // pass the checkpoint threshold many times.
    const seqs: number[][] = [];
    const updates = fill(300, 4096);
    for (let round = 0; round < 30; round++) {
      seqs.push(
        ...(await Promise.all(
          updates.slice(round * 10, round * 10 + 10).map((u) => storage.log.appendUpdates('d1', [u])),
        )),
      );
    }
    return { dir, file, storage, before, seqs };
  }

  test('checkpoints copy the WAL into the database file while the server runs (never inside a commit)', async () => {
    const { dir, file, storage, before, seqs } = await writeMany(256 * 1024);
    try {
      expect(seqs.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 2));
      await waitFor(() => statSync(file).size >= before + 1_000_000, { message: 'the database file to hold the log' });
      // The WAL is started over once copied: it stays far below what was written.
      expect(statSync(`${file}-wal`).size).toBeLessThan(1_200_000);
    } finally {
      await storage.close();
      dir.remove();
    }
    // Without checkpoints nothing reaches the database file until close (SQLite's own are off): the control.
    const control = await writeMany(64 * 1024 * 1024);
    try {
      expect(statSync(control.file).size).toBe(control.before);
    } finally {
      await control.storage.close();
      control.dir.remove();
    }
  });

  test('what the storage resolved is in the file, whole, for a second connection', async () => {
    const { dir, file, storage } = await writeMany(256 * 1024);
    try {
      const other = new Database(file, { readonly: true });
      try {
        expect(other.pragma('integrity_check', { simple: true })).toBe('ok');
        expect((other.prepare('SELECT count(*) AS n FROM updates').get() as { n: number }).n).toBe(301);
      } finally {
        other.close();
      }
    } finally {
      await storage.close();
      dir.remove();
    }
  });
});
