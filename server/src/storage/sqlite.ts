/**
 * SQLite storage (better-sqlite3, WAL). The default engine: one file under DATA_DIR.
 * Every write resolves only once it is on the disk, so whatever the server acknowledged survives a crash of the
 * process or the machine; but the event loop never waits for the disk. Commits run with synchronous=NORMAL (no
 * fsync in the commit) and each write then waits for an fdatasync of the WAL in the thread pool (wal-sync.ts),
 * shared by every write committed meanwhile; checkpoints run in the worker thread, never inside a commit.
 * The log (sqlite-log.ts) and Kysely (records.ts, over sqlite-kysely.ts) share the one connection through a gate.
 */
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { log } from '../log.js';
import { syncDirectory } from '../sync-dir.js';
import { checkpointInWorker } from './storage-worker.js';
import { WalSync } from './wal-sync.js';
import { migrate } from './migrations.js';
import { relationalRecords } from './records.js';
import type { Database as Tables } from './schema.js';
import { GatedSqliteDialect, SerialGate, type Disk } from './sqlite-kysely.js';
import { sqliteLog } from './sqlite-log.js';
import type { Storage } from './types.js';

/** A checkpoint is started once about this much has been written to the WAL since the last (SQLite's own default: 1,000 pages). */
const CHECKPOINT_AFTER_BYTES = 4 * 1024 * 1024;
/** What a commit adds to the WAL besides its payload, about (a page per touched table or index leaf). */
const COMMIT_OVERHEAD_BYTES = 2 * 4096;

export interface SqliteOptions {
  /** Start a WAL checkpoint after about this many bytes written (default 4 MiB). */
  checkpointAfterBytes?: number;
}

/** SQLite's way of saying a unique key (or primary key) already exists. */
const isUniqueViolation = (e: unknown): boolean =>
  ['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE'].includes((e as { code?: string }).code ?? '');

export async function openSqliteStorage(file: string, options: SqliteOptions = {}): Promise<Storage> {
  const onDisk = file !== ':memory:';
  const checkpointAfterBytes = options.checkpointAfterBytes ?? CHECKPOINT_AFTER_BYTES;
  if (onDisk) mkdirSync(dirname(file), { recursive: true });
  const connection = new Database(file);
  if (onDisk) {
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = NORMAL');
    connection.pragma('wal_autocheckpoint = 0');
    // The WAL is reused from its start after each checkpoint; one that a burst made long is cut back then.
    connection.pragma(`journal_size_limit = ${8 * checkpointAfterBytes}`);
  }
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');
  // A first read of a WAL database creates its WAL file, which the disk side opens.
  connection.pragma('user_version');
  const disk = onDisk ? openDisk(file, checkpointAfterBytes) : null;
  const gate = new SerialGate();
  const db = new Kysely<Tables>({ dialect: new GatedSqliteDialect(connection, gate, disk) });
  try {
    await migrate(db as Kysely<unknown>, 'sqlite');
  } catch (e) {
    await disk?.close();
    connection.close();
    throw e;
  }

  return {
    kind: 'sqlite',
    log: sqliteLog(connection, gate, disk),
    db,
    ...relationalRecords(db, isUniqueViolation),
    async ping() {
      disk?.wal.check(); // a disk that failed a sync is down until the server restarts
      await gate.run(() => connection.prepare('SELECT 1').get());
    },
    async close() {
      await db.destroy();
      await disk?.close();
      await gate.run(() => {
        if (connection.open) connection.close();
      });
    },
  };
}

/**
 * The file side of an on-disk database: the WAL's sync (wal-sync.ts) and checkpoints in the worker thread, one
 * at a time, once about `checkpointAfterBytes` have been written since the last.
 */
function openDisk(file: string, checkpointAfterBytes: number): Disk & { close(): Promise<void> } {
  // The WAL exists from the first read of the database. It is removed only by the last connection to close, and this one stays open as long as the storage: the descriptor stays valid.
  const wal = new WalSync(openSync(`${file}-wal`, 'r'));
  // The database file's own directory entry, once (SQLite syncs the WAL's when it creates it).
  syncDirectory(dirname(file));
  let sinceCheckpoint = 0;
  let checkpointing: Promise<void> | null = null;
  let closed = false;
  const checkpoint = () => {
    sinceCheckpoint = 0;
    checkpointing = checkpointInWorker(file)
      .then(
        (r) => log.debug('checkpoint', { frames: r.walFrames, copied: r.checkpointed }),
        (e: Error) => log.warn('checkpoint failed; retried after more writes', { error: e.message }),
      )
      .finally(() => {
        checkpointing = null;
      });
  };
  return {
    wal,
    written(bytes: number) {
      sinceCheckpoint += bytes + COMMIT_OVERHEAD_BYTES;
      if (sinceCheckpoint >= checkpointAfterBytes && !checkpointing && !closed) checkpoint();
    },
    /** Lets a running checkpoint finish (closing the database then checkpoints what is left, as SQLite does). */
    async close() {
      if (closed) return;
      closed = true;
      await checkpointing;
      await wal.close();
    },
  };
}
