/**
 * The document log on PostgreSQL, for several instances sharing one log. Sequence numbers come from a
 * per-document counter (`documents.last_seq`), so appends from different instances are ordered and commit in
 * sequence order. Compaction takes a transaction-scoped advisory lock: one compactor per document.
 */
import type pg from 'pg';
import { foldSnapshot } from './stored-state.js';
import { StorageError, type DocumentLog, type StoredState } from './types.js';

/** A driver's Buffer as the plain Uint8Array the rest of the server works with (no copy). */
const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** Runs `fn` in a transaction on a client of its own. */
async function transaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
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

/**
 * The stored state; with `leadOnly`, the snapshot's data only when it has no lead (PostgreSQL reads a TOASTed value
 * only when it is selected).
 */
const readState = async (c: pg.ClientBase, docId: string, leadOnly = false): Promise<StoredState> => {
  const snap = await c.query(
    `SELECT upto_seq, CASE WHEN $2 AND lead IS NOT NULL THEN NULL ELSE data END AS data, lead
       FROM snapshots WHERE doc_id = $1`,
    [docId, leadOnly],
  );
  const snapshotSeq = (snap.rows[0]?.upto_seq as number | undefined) ?? 0;
  const rows = await c.query('SELECT seq, data FROM updates WHERE doc_id = $1 AND seq > $2 ORDER BY seq', [
    docId,
    snapshotSeq,
  ]);
  return {
    snapshot: snap.rows[0]?.data ? bytes(snap.rows[0].data as Buffer) : null,
    snapshotSeq,
    snapshotLead: snap.rows[0]?.lead ? bytes(snap.rows[0].lead as Buffer) : null,
    updates: rows.rows.map((r) => ({ seq: r.seq as number, data: bytes(r.data as Buffer) })),
  };
};

export function postgresLog(pool: pg.Pool): DocumentLog {
  return {
    async appendUpdates(docId, updates) {
      if (updates.length === 0) return [];
      return transaction(pool, async (c) => {
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
      return transaction(pool, (c) => readState(c, docId));
    },
    async loadLeadState(docId) {
      return transaction(pool, (c) => readState(c, docId, true));
    },
    async compact(docId, fold = foldSnapshot) {
      // The advisory lock keeps other instances' compactions out while the fold runs (the transaction stays open).
      return transaction(pool, async (c) => {
        const lock = await c.query("SELECT pg_try_advisory_xact_lock(hashtext('marginalia.compact:' || $1)) AS ok", [
          docId,
        ]);
        if (!lock.rows[0].ok) return -1; // another instance is compacting this document right now
        const state = await readState(c, docId);
        const upto = state.updates.at(-1)?.seq ?? state.snapshotSeq;
        if (state.updates.length === 0) return upto;
        const folded = await fold(state);
        await c.query(
          `INSERT INTO snapshots (doc_id, upto_seq, data, lead, created_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (doc_id) DO UPDATE SET upto_seq = excluded.upto_seq, data = excluded.data, lead = excluded.lead,
             created_at = excluded.created_at`,
          [docId, upto, folded.snapshot, folded.lead, Date.now()],
        );
        // Folded entries go, except those the projector has not projected yet (it deletes them once it has).
        await c.query(
          `DELETE FROM updates WHERE doc_id = $1
             AND seq <= LEAST($2, coalesce((SELECT seq FROM projection_cursors WHERE doc_id = $1), 0))`,
          [docId, upto],
        );
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
      return transaction(pool, async (c) => {
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
  };
}
