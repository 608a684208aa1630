/**
 * Waiting for the disk off the event loop. SQLite runs with synchronous=NORMAL: a commit writes its WAL frames
 * (into the page cache) and returns without an fsync. Before a write is acknowledged, `WalSync.sync()` has the
 * WAL file fdatasync'ed in libuv's thread pool; the event loop serves everyone else meanwhile, and a slow disk
 * delays only the writes waiting for it.
 *
 * Why one fdatasync of the WAL file makes a commit durable: the WAL is written in order, and recovery after a power
 * cut replays frames from the (synced) header up to the last whole commit whose checksums chain; every frame
 * written before the fdatasync started is on the disk when it returns, so every commit made before then survives
 * (tests/storage/power-cut.test.ts cuts the power under a running server to check it). SQLite itself syncs the
 * WAL header after each restart of the log and the WAL's directory entry when it creates it, and checkpoints sync
 * the WAL before and the database after copying (they run in the worker thread: storage-worker.ts).
 *
 * Syncs are shared: writes committed while one runs wait for the next, which covers them all (group commit).
 * A failed fdatasync is final, as in PostgreSQL: the kernel may have dropped the pages it could not write, so
 * nothing written since can be trusted to be on the disk. Every later write is refused until the server restarts
 * and reads what the disk really holds.
 */
import { fdatasync, closeSync } from 'node:fs';
import { log } from '../log.js';
import { StorageError } from './types.js';
import { metrics } from '../metrics.js';

export class WalSync {
  private running: Promise<void> | null = null;
  /** The sync after the running one: covers writes committed while the running one was under way. */
  private next: Promise<void> | null = null;
  private failed: StorageError | null = null;
  /** Syncs started (for tests and logs: how many writes shared each). */
  syncs = 0;

  constructor(private readonly fd: number) {}

  /** Throws if the disk already failed a sync: call before writing anything. */
  check(): void {
    if (this.failed) throw this.failed;
  }

  /** Resolves once everything committed before this call is on the disk. */
  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.running) return this.start();
    // The running sync may have started before the caller's commit: wait for one that starts after it.
    return (this.next ??= this.running.then(
      () => this.startNext(),
      () => this.startNext(),
    ));
  }

  private startNext(): Promise<void> {
    this.next = null;
    return this.sync();
  }

  private start(): Promise<void> {
    this.syncs++;
    const started = performance.now();
    const p = new Promise<void>((resolve, reject) => {
      fdatasync(this.fd, (e) => {
        metrics.fsyncSeconds.observe((performance.now() - started) / 1000);
        if (this.running === p) this.running = null;
        if (!e) return resolve();
        this.failed ??= new StorageError(
          `the disk did not store changes (${e.code ?? e.message}); restart the server`,
          'unavailable',
        );
        log.error('storage sync failed: refusing writes until restarted', { error: e.message });
        reject(this.failed);
      });
    });
    this.running = p;
    return p;
  }

  /** Waits for a sync in flight, then releases the file. */
  async close(): Promise<void> {
    await Promise.allSettled([this.running, this.next]);
    closeSync(this.fd);
  }
}
