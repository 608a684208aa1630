/**
 * PostgreSQL storage (DATABASE_URL): the same interface as SQLite, for several instances sharing one log.
 * Sequence numbers come from a per-document counter row, so appends from different instances are ordered and
 * commit in sequence order. Compaction takes a transaction-scoped advisory lock: one compactor per document.
 */
import pg from 'pg';
import type { Role } from '@marginalia/shared';
import { foldState } from './merge.js';
import { DOCUMENT_COLUMNS, bytes, toDocument, toUser, type DocumentRow, type UserRow } from './rows.js';
import { StorageError, type AuditRecord, type Storage, type StoredState } from './types.js';

const MIGRATIONS: string[] = [
  `CREATE TABLE documents (
     id TEXT PRIMARY KEY,
     title TEXT NOT NULL,
     guest_role TEXT,
     created_by TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL,
     thread_count INTEGER NOT NULL DEFAULT 0,
     comment_count INTEGER NOT NULL DEFAULT 0,
     last_seq BIGINT NOT NULL DEFAULT 0
   );
   CREATE TABLE updates (
     doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
     seq BIGINT NOT NULL,
     data BYTEA NOT NULL,
     PRIMARY KEY (doc_id, seq)
   );
   CREATE TABLE snapshots (
     doc_id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
     upto_seq BIGINT NOT NULL,
     data BYTEA NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE TABLE users (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     is_admin BOOLEAN NOT NULL DEFAULT false,
     created_at BIGINT NOT NULL
   );
   CREATE TABLE memberships (
     doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     role TEXT NOT NULL,
     PRIMARY KEY (doc_id, user_id)
   );
   CREATE INDEX memberships_user ON memberships(user_id);
   CREATE TABLE audit (
     id BIGSERIAL PRIMARY KEY,
     doc_id TEXT,
     actor_id TEXT,
     action TEXT NOT NULL,
     detail JSONB NOT NULL,
     at BIGINT NOT NULL
   );
   CREATE INDEX audit_doc ON audit(doc_id, id);
   CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  `CREATE TABLE client_ids (
     doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
     client_id BIGINT NOT NULL,
     user_id TEXT NOT NULL,
     PRIMARY KEY (doc_id, client_id)
   );`,
];

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

export async function openPostgresStorage(opts: PostgresOptions): Promise<Storage & { pool: pg.Pool }> {
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
  try {
    await migrate(pool, schema);
  } catch (e) {
    await pool.end();
    throw new StorageError(`PostgreSQL unavailable: ${(e as Error).message}`, 'unavailable');
  }

  async function tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw e;
    } finally {
      c.release(broken);
    }
  }

  const readState = async (c: pg.ClientBase, docId: string): Promise<StoredState> => {
    const snap = await c.query('SELECT upto_seq, data FROM snapshots WHERE doc_id = $1', [docId]);
    const snapshotSeq = (snap.rows[0]?.upto_seq as number | undefined) ?? 0;
    const rows = await c.query('SELECT seq, data FROM updates WHERE doc_id = $1 AND seq > $2 ORDER BY seq', [
      docId,
      snapshotSeq,
    ]);
    return {
      snapshot: snap.rows[0] ? bytes(snap.rows[0].data as Buffer) : null,
      snapshotSeq,
      updates: rows.rows.map((r) => ({ seq: r.seq as number, data: bytes(r.data as Buffer) })),
    };
  };

  const storage: Storage & { pool: pg.Pool } = {
    kind: 'postgres',
    pool,
    async createDocument(d) {
      const r = d.record;
      try {
        await tx(async (c) => {
          await c.query(
            `INSERT INTO documents (id, title, guest_role, created_by, created_at, updated_at, thread_count, comment_count, last_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)`,
            [r.id, r.title, r.guestRole, r.createdBy, r.createdAt, r.updatedAt, r.threadCount, r.commentCount],
          );
          await c.query('INSERT INTO updates (doc_id, seq, data) VALUES ($1, 1, $2)', [r.id, d.initialUpdate]);
          for (const m of d.members) {
            await c.query('INSERT INTO memberships (doc_id, user_id, role) VALUES ($1, $2, $3)', [
              r.id,
              m.userId,
              m.role,
            ]);
          }
        });
      } catch (e) {
        if ((e as { code?: string }).code === '23505') throw new StorageError(`document ${r.id} exists`, 'conflict');
        throw e;
      }
    },
    async getDocument(id) {
      const r = await pool.query('SELECT * FROM documents WHERE id = $1', [id]);
      return r.rows[0] ? toDocument(r.rows[0] as DocumentRow) : null;
    },
    async listDocuments() {
      return (await pool.query('SELECT * FROM documents ORDER BY updated_at DESC, id')).rows.map((row) =>
        toDocument(row as DocumentRow),
      );
    },
    async updateDocument(id, fields) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [key, column] of DOCUMENT_COLUMNS) {
        if (fields[key] === undefined) continue;
        values.push(fields[key]);
        sets.push(`${column} = $${values.length}`);
      }
      if (!sets.length) return;
      values.push(id);
      await pool.query(`UPDATE documents SET ${sets.join(', ')} WHERE id = $${values.length}`, values);
    },
    async deleteDocument(id) {
      return ((await pool.query('DELETE FROM documents WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },
    async countDocuments() {
      return Number((await pool.query('SELECT count(*) AS n FROM documents')).rows[0].n);
    },
    async appendUpdates(docId, updates) {
      if (updates.length === 0) return [];
      return tx(async (c) => {
        const r = await c.query('UPDATE documents SET last_seq = last_seq + $2 WHERE id = $1 RETURNING last_seq', [
          docId,
          updates.length,
        ]);
        if (!r.rows[0]) throw new StorageError(`no document ${docId}`, 'not-found');
        const last = r.rows[0].last_seq as number;
        const seqs = updates.map((_, i) => last - updates.length + 1 + i);
        const params: unknown[] = [docId];
        const values = updates.map((u, i) => {
          params.push(seqs[i], u);
          return `($1, $${params.length - 1}, $${params.length})`;
        });
        await c.query(`INSERT INTO updates (doc_id, seq, data) VALUES ${values.join(', ')}`, params);
        return seqs;
      });
    },
    async loadState(docId) {
      return tx((c) => readState(c, docId));
    },
    async compact(docId, fold = foldState) {
      // The advisory lock keeps other instances' compactions out while the fold runs (the transaction stays open).
      return tx(async (c) => {
        const lock = await c.query("SELECT pg_try_advisory_xact_lock(hashtext('marginalia.compact:' || $1)) AS ok", [
          docId,
        ]);
        if (!lock.rows[0].ok) return -1; // another instance is compacting this document right now
        const state = await readState(c, docId);
        const upto = state.updates.at(-1)?.seq ?? state.snapshotSeq;
        if (state.updates.length === 0) return upto;
        await c.query(
          `INSERT INTO snapshots (doc_id, upto_seq, data, created_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (doc_id) DO UPDATE SET upto_seq = excluded.upto_seq, data = excluded.data, created_at = excluded.created_at`,
          [docId, upto, await fold(state), Date.now()],
        );
        await c.query('DELETE FROM updates WHERE doc_id = $1 AND seq <= $2', [docId, upto]);
        return upto;
      });
    },
    async lastSeq(docId) {
      return (
        ((await pool.query('SELECT last_seq FROM documents WHERE id = $1', [docId])).rows[0]?.last_seq as
          number | undefined) ?? 0
      );
    },
    async updatesAfter(docId, seq) {
      return tx(async (c) => {
        const snap = await c.query('SELECT upto_seq FROM snapshots WHERE doc_id = $1', [docId]);
        if (seq < ((snap.rows[0]?.upto_seq as number | undefined) ?? 0)) return null;
        const rows = await c.query('SELECT seq, data FROM updates WHERE doc_id = $1 AND seq > $2 ORDER BY seq', [
          docId,
          seq,
        ]);
        return rows.rows.map((r) => ({ seq: r.seq as number, data: bytes(r.data as Buffer) }));
      });
    },
    async claimClientIds(docId, userId, ids) {
      const owners = new Map<number, string>();
      if (ids.length === 0) return owners;
      await pool.query(
        'INSERT INTO client_ids (doc_id, client_id, user_id) SELECT $1, unnest($2::bigint[]), $3 ON CONFLICT DO NOTHING',
        [docId, ids, userId],
      );
      const r = await pool.query(
        'SELECT client_id, user_id FROM client_ids WHERE doc_id = $1 AND client_id = ANY($2::bigint[])',
        [docId, ids],
      );
      for (const row of r.rows) owners.set(row.client_id as number, row.user_id as string);
      return owners;
    },
    async createUser(u) {
      try {
        await pool.query(
          'INSERT INTO users (id, username, name, password_hash, is_admin, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [u.id, u.username, u.name, u.passwordHash, u.isAdmin, u.createdAt],
        );
      } catch (e) {
        if ((e as { code?: string }).code === '23505')
          throw new StorageError(`username ${u.username} is taken`, 'conflict');
        throw e;
      }
    },
    async getUserById(id) {
      const r = await pool.query('SELECT * FROM users WHERE id = $1', [id]);
      return r.rows[0] ? toUser(r.rows[0] as UserRow) : null;
    },
    async getUserByUsername(username) {
      const r = await pool.query('SELECT * FROM users WHERE username = $1', [username]);
      return r.rows[0] ? toUser(r.rows[0] as UserRow) : null;
    },
    async setPassword(userId, hash) {
      await pool.query('UPDATE users SET password_hash = $1 WHERE id = $2', [hash, userId]);
    },
    async setMember(docId, userId, role) {
      await pool.query(
        `INSERT INTO memberships (doc_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (doc_id, user_id) DO UPDATE SET role = excluded.role`,
        [docId, userId, role],
      );
    },
    async removeMember(docId, userId) {
      return (
        ((await pool.query('DELETE FROM memberships WHERE doc_id = $1 AND user_id = $2', [docId, userId])).rowCount ??
          0) > 0
      );
    },
    async getMemberRole(docId, userId) {
      const r = await pool.query('SELECT role FROM memberships WHERE doc_id = $1 AND user_id = $2', [docId, userId]);
      return (r.rows[0]?.role as Role | undefined) ?? null;
    },
    async listMembers(docId) {
      const r = await pool.query(
        `SELECT m.user_id, u.username, u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.doc_id = $1 ORDER BY u.username`,
        [docId],
      );
      return r.rows.map((m) => ({ userId: m.user_id, username: m.username, name: m.name, role: m.role as Role }));
    },
    async membershipsOf(userId) {
      const r = await pool.query('SELECT doc_id, role FROM memberships WHERE user_id = $1', [userId]);
      return new Map(r.rows.map((m) => [m.doc_id as string, m.role as Role]));
    },
    async audit(e) {
      await pool.query('INSERT INTO audit (doc_id, actor_id, action, detail, at) VALUES ($1, $2, $3, $4, $5)', [
        e.docId,
        e.actorId,
        e.action,
        JSON.stringify(e.detail),
        Date.now(),
      ]);
    },
    async listAudit(docId, limit = 200): Promise<AuditRecord[]> {
      const r = await pool.query('SELECT * FROM audit WHERE doc_id = $1 ORDER BY id DESC LIMIT $2', [docId, limit]);
      return r.rows.map((a) => ({
        id: a.id as number,
        docId: a.doc_id as string,
        actorId: a.actor_id as string | null,
        action: a.action as string,
        detail: a.detail as Record<string, unknown>,
        at: a.at as number,
      }));
    },
    async getSetting(key) {
      return (
        ((await pool.query('SELECT value FROM settings WHERE key = $1', [key])).rows[0]?.value as string | undefined) ??
        null
      );
    },
    async setSetting(key, value) {
      await pool.query(
        'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [key, value],
      );
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
  return storage;
}

async function migrate(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const c = await pool.connect();
  c.on('error', () => {});
  try {
    await c.query('BEGIN');
    // Instances starting together migrate one at a time.
    await c.query("SELECT pg_advisory_xact_lock(hashtext('marginalia.migrate'))");
    if (schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await c.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    );
    const done = new Set((await c.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version as number));
    for (let v = 1; v <= MIGRATIONS.length; v++) {
      if (done.has(v)) continue;
      await c.query(MIGRATIONS[v - 1]!);
      await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v, Date.now()]);
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}
