/**
 * PostgreSQL storage (DATABASE_URL), for several instances sharing one database: the log (postgres-log.ts) and
 * Kysely (records.ts) over one connection pool. The schema is migrated at start (migrations.ts), one instance at
 * a time.
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { migrate } from './migrations.js';
import { postgresLog } from './postgres-log.js';
import { relationalRecords } from './records.js';
import type { Database } from './schema.js';
import { StorageError, type Storage } from './types.js';

// BIGINT columns hold epoch milliseconds and sequence numbers: well inside Number's exact range.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export interface PostgresOptions {
  connectionString: string;
  /** Schema to use (created if missing); default: the connection's search_path (usually public). */
  schema?: string;
  poolSize?: number;
}

/** PostgreSQL's way of saying a unique key (or primary key) already exists. */
const isUniqueViolation = (e: unknown): boolean => (e as { code?: string }).code === '23505';

export async function openPostgresStorage(opts: PostgresOptions): Promise<Storage> {
  const schema = opts.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`invalid schema name "${schema}"`);
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.poolSize ?? 10,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // A client losing its connection (idle or checked out) must not crash the process: the query in flight fails,
  // the broken client is discarded on release, and the next query opens a new connection.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // The Migrator keeps its tables in the schema the storage works in (it would otherwise adopt another schema's).
    const current = schema ?? (await sql<{ s: string }>`SELECT current_schema() AS s`.execute(db)).rows[0]!.s;
    await migrate(db as Kysely<unknown>, 'postgres', current);
  } catch (e) {
    await db.destroy(); // ends the pool
    throw new StorageError(`PostgreSQL unavailable: ${(e as Error).message}`, 'unavailable');
  }

  return {
    kind: 'postgres',
    log: postgresLog(pool),
    db,
    ...relationalRecords(db, isUniqueViolation),
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await db.destroy(); // ends the pool
    },
  };
}
