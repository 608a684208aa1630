/**
 * The document log on SQLite: prepared statements on the storage's one connection, each call through the gate it
 * shares with Kysely (sqlite-kysely.ts). A write resolves once the WAL is flushed (`Disk`): commits run with
 * synchronous=NORMAL and the flush runs in the thread pool, shared by every write committed meanwhile. Updates
 * arriving together are written in one transaction.
 */
import type Database from 'better-sqlite3';
import { foldSnapshot } from './stored-state.js';
import type { Disk, SerialGate } from './sqlite-kysely.js';
import type { DocumentLog, Fold, FoldedSnapshot, StoredState } from './types.js';

/** A driver's Buffer as the plain Uint8Array the rest of the server works with (no copy). */
const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export function sqliteLog(db: Database.Database, gate: SerialGate, disk: Disk | null): DocumentLog {
  const q = {
    maxSeq: db.prepare<[{ doc: string }], { s: number | null }>(
      `SELECT max(s) AS s FROM (SELECT max(seq) AS s FROM updates WHERE doc_id = @doc
                               UNION ALL SELECT upto_seq AS s FROM snapshots WHERE doc_id = @doc)`,
    ),
    insertUpdate: db.prepare('INSERT INTO updates (doc_id, seq, data) VALUES (?, ?, ?)'),
    /**
     * With `leadOnly` 1, the snapshot's `data` only when it has no lead: SQLite reads a blob's pages only when the
     * branch that selects it is taken.
     */
    snapshot: db.prepare<
      [{ doc: string; leadOnly: 0 | 1 }],
      { upto_seq: number; data: Buffer | null; lead: Buffer | null }
    >(
      `SELECT upto_seq, CASE WHEN @leadOnly = 1 AND lead IS NOT NULL THEN NULL ELSE data END AS data, lead
         FROM snapshots WHERE doc_id = @doc`,
    ),
    /** Only the number: reading `data` would copy the whole snapshot. */
    snapshotSeq: db.prepare<[string], { upto_seq: number }>('SELECT upto_seq FROM snapshots WHERE doc_id = ?'),
    updatesAfter: db.prepare<[string, number], { seq: number; data: Buffer }>(
      'SELECT seq, data FROM updates WHERE doc_id = ? AND seq > ? ORDER BY seq',
    ),
    upsertSnapshot: db.prepare(
      `INSERT INTO snapshots (doc_id, upto_seq, data, lead, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (doc_id) DO UPDATE SET upto_seq = excluded.upto_seq, data = excluded.data, lead = excluded.lead,
         created_at = excluded.created_at`,
    ),
    /** Folded entries go, except those the projector has not projected yet (it deletes them once it has). */
    deleteFolded: db.prepare<[{ doc: string; upto: number }]>(
      `DELETE FROM updates WHERE doc_id = @doc
         AND seq <= min(@upto, coalesce((SELECT seq FROM projection_cursors WHERE doc_id = @doc), 0))`,
    ),
    claimClient: db.prepare(
      'INSERT INTO client_ids (doc_id, client_id, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    clientOwner: db.prepare<[string, number], { user_id: string }>(
      'SELECT user_id FROM client_ids WHERE doc_id = ? AND client_id = ?',
    ),
  };

  /** Runs a write through the gate and resolves once it is on the disk. Refused at once if a flush failed. */
  const durably = async <T>(write: () => T, size = 0): Promise<T> => {
    disk?.wal.check();
    const result = await gate.run(write);
    if (!disk) return result;
    disk.written(size);
    await disk.wal.sync();
    return result;
  };

  const nextSeq = (docId: string): number => (q.maxSeq.get({ doc: docId })?.s ?? 0) + 1;

  const appendUpdates = db.transaction((docId: string, updates: Uint8Array[]): number[] => {
    let seq = nextSeq(docId);
    const seqs: number[] = [];
    for (const u of updates) {
      q.insertUpdate.run(docId, seq, u);
      seqs.push(seq++);
    }
    return seqs;
  });

  const loadState = db.transaction((docId: string, leadOnly = false): StoredState => {
    const snap = q.snapshot.get({ doc: docId, leadOnly: leadOnly ? 1 : 0 });
    const snapshotSeq = snap?.upto_seq ?? 0;
    return {
      snapshot: snap?.data ? bytes(snap.data) : null,
      snapshotSeq,
      snapshotLead: snap?.lead ? bytes(snap.lead) : null,
      updates: q.updatesAfter.all(docId, snapshotSeq).map((u) => ({ seq: u.seq, data: bytes(u.data) })),
    };
  });

  const claimClientIds = db.transaction((docId: string, userId: string, ids: number[]) => {
    const owners = new Map<number, string>();
    for (const id of ids) {
      q.claimClient.run(docId, id, userId);
      owners.set(id, q.clientOwner.get(docId, id)!.user_id);
    }
    return owners;
  });

  /** Writes a folded snapshot if the stored snapshot is still the one the fold started from. */
  const storeFold = db.transaction(
    (docId: string, fromSeq: number, uptoSeq: number, folded: FoldedSnapshot): number => {
      if ((q.snapshotSeq.get(docId)?.upto_seq ?? 0) !== fromSeq) return -1;
      q.upsertSnapshot.run(docId, uptoSeq, folded.snapshot, folded.lead, Date.now());
      q.deleteFolded.run({ doc: docId, upto: uptoSeq });
      return uptoSeq;
    },
  );

  return {
    async appendUpdates(docId, updates) {
      if (!updates.length) return [];
      return durably(
        () => appendUpdates(docId, updates),
        updates.reduce((n, u) => n + u.byteLength, 0),
      );
    },
    loadState(docId) {
      return gate.run(() => loadState(docId));
    },
    loadLeadState(docId) {
      return gate.run(() => loadState(docId, true));
    },
    // The fold runs outside any transaction (it may be a worker's): the log is append-only, so the entries it read
    // are still there unchanged when it ends, and storeFold checks that no other compaction replaced the snapshot.
    async compact(docId, fold: Fold = foldSnapshot) {
      const state = await gate.run(() => loadState(docId));
      const uptoSeq = state.updates.at(-1)?.seq ?? state.snapshotSeq;
      if (state.updates.length === 0) return uptoSeq;
      const folded = await fold(state);
      return durably(
        () => storeFold(docId, state.snapshotSeq, uptoSeq, folded),
        folded.snapshot.byteLength + (folded.lead?.byteLength ?? 0),
      );
    },
    lastSeq(docId) {
      return gate.run(() => nextSeq(docId) - 1);
    },
    updatesAfter(docId, seq) {
      return gate.run(() => {
        const snapshotSeq = q.snapshotSeq.get(docId)?.upto_seq ?? 0;
        if (seq < snapshotSeq) return null;
        return q.updatesAfter.all(docId, seq).map((u) => ({ seq: u.seq, data: bytes(u.data) }));
      });
    },
    claimClientIds(docId, userId, ids) {
      // Committed, not waited for: a claim matters only with the update written under it, and that update's own
      // flush comes later in the same WAL, so it carries the claim to the disk too. (Waiting here would let a
      // writer's first update fall a flush behind everyone else's.)
      disk?.wal.check();
      return gate.run(() => claimClientIds(docId, userId, ids));
    },
  };
}
