/**
 * Kysely on the SQLite connection the document log also writes on, made safe for both.
 *
 * better-sqlite3 is synchronous and SQLite has one writer: the log writes raw statements on the same connection
 * as Kysely. A Kysely transaction spans awaits; a log write run meanwhile would land inside it (and be rolled back
 * with it, after it was acknowledged). A second connection is no way out: its writes would meet SQLITE_BUSY and
 * better-sqlite3 would wait for the lock on this very thread, while the holder of the lock can never run.
 * So the connection is behind one gate (`SerialGate`): Kysely holds it from acquiring the connection to releasing
 * it (a whole transaction), and every log call passes through it. A log call that finds it open runs at once,
 * synchronously, as before.
 *
 * Durability: a Kysely write resolves, as a log write does, only once the WAL is flushed (`Disk`); the flush is
 * awaited after the gate is let go, so writes committed meanwhile share it.
 */
import type Database from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteDialect,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { WalSync } from './wal-sync.js';

/** One holder at a time, handed over in order of arrival. */
export class SerialGate {
  private held = false;
  private readonly waiting: (() => void)[] = [];

  get busy(): boolean {
    return this.held;
  }

  lock(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  unlock(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }

  /** Runs `fn` (synchronous) as a holder: at once if the gate is open, else in turn. */
  async run<T>(fn: () => T): Promise<T> {
    if (!this.held) return fn();
    await this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }
}

/** The file side of an on-disk database, as the writers see it (sqlite.ts). */
export interface Disk {
  wal: WalSync;
  /** Counts what a commit wrote to the WAL (for checkpoints). */
  written(bytes: number): void;
}

/**
 * Prepared statements kept for reuse, by SQL text: Kysely compiles the same few texts again and again (the
 * per-update role read, the projector's statements), and preparing one costs SQLite a parse and a plan each time.
 */
const STATEMENTS_KEPT = 256;

class GatedConnection implements DatabaseConnection {
  /** Whether anything was written since the connection was acquired (its release then waits for a flush). */
  wrote = false;
  bytes = 0;
  /** Least recently used first. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly disk: Disk | null,
  ) {}

  private prepared(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (stmt) this.statements.delete(text);
    else {
      stmt = this.db.prepare(text);
      if (this.statements.size >= STATEMENTS_KEPT) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(text, stmt);
    return stmt;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.prepared(compiled.sql);
    const params = compiled.parameters as unknown[];
    if (!stmt.readonly) {
      this.disk?.wal.check(); // a disk that failed a flush takes no more writes
      this.wrote = true;
      for (const p of params) this.bytes += p instanceof Uint8Array ? p.byteLength : String(p).length;
    }
    if (stmt.reader) return Promise.resolve({ rows: stmt.all(params) as R[] });
    const { changes, lastInsertRowid } = stmt.run(params);
    return Promise.resolve({ numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] });
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not used with SQLite');
  }
}

class GatedDriver implements Driver {
  private readonly connection: GatedConnection;

  constructor(
    db: Database.Database,
    private readonly gate: SerialGate,
    private readonly disk: Disk | null,
  ) {
    this.connection = new GatedConnection(db, disk);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.gate.lock();
    return this.connection;
  }

  async beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (settings.isolationLevel || settings.accessMode) throw new Error('SQLite transactions take no settings');
    await c.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const { wrote, bytes } = this.connection;
    this.connection.wrote = false;
    this.connection.bytes = 0;
    this.gate.unlock();
    if (wrote && this.disk) {
      this.disk.written(bytes);
      await this.disk.wal.sync();
    }
  }

  /** The connection belongs to the storage, which closes it. */
  async destroy(): Promise<void> {}
}

/** Kysely's SQLite dialect over a connection shared with the log through `gate`, its writes made durable by `disk`. */
export class GatedSqliteDialect extends SqliteDialect {
  constructor(
    private readonly connection: Database.Database,
    private readonly gate: SerialGate,
    private readonly disk: Disk | null,
  ) {
    super({ database: connection });
  }

  override createDriver(): Driver {
    return new GatedDriver(this.connection, this.gate, this.disk);
  }
}
