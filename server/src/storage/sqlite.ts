/**
 * SQLite storage (better-sqlite3, WAL). The default engine: one file under DATA_DIR.
 * Every write resolves only once it is on the disk, so whatever the server acknowledged survives a crash of the
 * process or the machine; but the event loop never waits for the disk. Commits run with synchronous=NORMAL (no
 * fsync in the commit) and each write then waits for an fdatasync of the WAL in the thread pool (wal-sync.ts),
 * shared by every write committed meanwhile; checkpoints run in the worker thread, never inside a commit.
 * Updates arriving together are written in one transaction.
 */
import Database from 'better-sqlite3';
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { log } from '../log.js';
import { syncDirectory } from '../sync-dir.js';
import { checkpointInWorker } from './fold-worker.js';
import { WalSync } from './wal-sync.js';
import type { Role } from '@marginalia/shared';
import { foldState } from './merge.js';
import { DOCUMENT_COLUMNS, bytes, toDocument, toUser, type DocumentRow, type UserRow } from './rows.js';
import {
  StorageError,
  type AuditEntry,
  type DocumentFields,
  type AuditRecord,
  type Fold,
  type Member,
  type NewDocument,
  type Storage,
  type StoredState,
} from './types.js';

const MIGRATIONS: string[] = [
  `CREATE TABLE documents (
     id TEXT PRIMARY KEY,
     title TEXT NOT NULL,
     guest_role TEXT,
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     thread_count INTEGER NOT NULL DEFAULT 0,
     comment_count INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE updates (
     doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     data BLOB NOT NULL,
     PRIMARY KEY (doc_id, seq)
   );
   CREATE TABLE snapshots (
     doc_id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
     upto_seq INTEGER NOT NULL,
     data BLOB NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE users (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     is_admin INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE memberships (
     doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     role TEXT NOT NULL,
     PRIMARY KEY (doc_id, user_id)
   );
   CREATE INDEX memberships_user ON memberships(user_id);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     doc_id TEXT,
     actor_id TEXT,
     action TEXT NOT NULL,
     detail TEXT NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX audit_doc ON audit(doc_id, id);
   CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  `CREATE TABLE client_ids (
     doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
     client_id INTEGER NOT NULL,
     user_id TEXT NOT NULL,
     PRIMARY KEY (doc_id, client_id)
   );`,
];

/** A checkpoint is started once about this much has been written to the WAL since the last (SQLite's own default: 1,000 pages). */
const CHECKPOINT_AFTER_BYTES = 4 * 1024 * 1024;
/** What a commit adds to the WAL besides its payload, about (a page per touched table or index leaf). */
const COMMIT_OVERHEAD_BYTES = 2 * 4096;

export interface SqliteOptions {
  /** Start a WAL checkpoint after about this many bytes written (default 4 MiB). */
  checkpointAfterBytes?: number;
}

export function openSqliteStorage(file: string, options: SqliteOptions = {}): Storage {
  const onDisk = file !== ':memory:';
  const checkpointAfterBytes = options.checkpointAfterBytes ?? CHECKPOINT_AFTER_BYTES;
  if (onDisk) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  if (onDisk) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 0');
    // The WAL is reused from its start after each checkpoint; one that a burst made long is cut back then.
    db.pragma(`journal_size_limit = ${8 * checkpointAfterBytes}`);
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  const disk = onDisk ? openDisk(file, checkpointAfterBytes) : null;

  /** Runs a write and resolves once it is on the disk. Refused at once if the disk already failed a sync. */
  const durably = async <T>(write: () => T, bytes = 0): Promise<T> => {
    if (!disk) return write();
    disk.wal.check();
    const result = write();
    disk.written(bytes);
    await disk.wal.sync();
    return result;
  };

  const q = {
    insertDoc: db.prepare(
      'INSERT INTO documents (id, title, guest_role, created_by, created_at, updated_at, thread_count, comment_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getDoc: db.prepare<[string], DocumentRow>('SELECT * FROM documents WHERE id = ?'),
    listDocs: db.prepare<[], DocumentRow>('SELECT * FROM documents ORDER BY updated_at DESC, id'),
    countDocs: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM documents'),
    deleteDoc: db.prepare('DELETE FROM documents WHERE id = ?'),
    maxSeq: db.prepare<[{ doc: string }], { s: number | null }>(
      `SELECT max(s) AS s FROM (SELECT max(seq) AS s FROM updates WHERE doc_id = @doc
                               UNION ALL SELECT upto_seq AS s FROM snapshots WHERE doc_id = @doc)`,
    ),
    insertUpdate: db.prepare('INSERT INTO updates (doc_id, seq, data) VALUES (?, ?, ?)'),
    snapshot: db.prepare<[string], { upto_seq: number; data: Buffer }>(
      'SELECT upto_seq, data FROM snapshots WHERE doc_id = ?',
    ),
    updatesAfter: db.prepare<[string, number], { seq: number; data: Buffer }>(
      'SELECT seq, data FROM updates WHERE doc_id = ? AND seq > ? ORDER BY seq',
    ),
    upsertSnapshot: db.prepare(
      `INSERT INTO snapshots (doc_id, upto_seq, data, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (doc_id) DO UPDATE SET upto_seq = excluded.upto_seq, data = excluded.data, created_at = excluded.created_at`,
    ),
    deleteUpdatesUpTo: db.prepare('DELETE FROM updates WHERE doc_id = ? AND seq <= ?'),
    insertUser: db.prepare(
      'INSERT INTO users (id, username, name, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    userById: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
    userByName: db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?'),
    setPassword: db.prepare('UPDATE users SET password_hash = ? WHERE id = ?'),
    setMember: db.prepare(
      `INSERT INTO memberships (doc_id, user_id, role) VALUES (?, ?, ?)
       ON CONFLICT (doc_id, user_id) DO UPDATE SET role = excluded.role`,
    ),
    removeMember: db.prepare('DELETE FROM memberships WHERE doc_id = ? AND user_id = ?'),
    memberRole: db.prepare<[string, string], { role: string }>(
      'SELECT role FROM memberships WHERE doc_id = ? AND user_id = ?',
    ),
    members: db.prepare<[string], { user_id: string; username: string; name: string; role: string }>(
      `SELECT m.user_id, u.username, u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.doc_id = ? ORDER BY u.username`,
    ),
    membershipsOf: db.prepare<[string], { doc_id: string; role: string }>(
      'SELECT doc_id, role FROM memberships WHERE user_id = ?',
    ),
    audit: db.prepare('INSERT INTO audit (doc_id, actor_id, action, detail, at) VALUES (?, ?, ?, ?, ?)'),
    listAudit: db.prepare<
      [string, number],
      { id: number; doc_id: string; actor_id: string | null; action: string; detail: string; at: number }
    >('SELECT * FROM audit WHERE doc_id = ? ORDER BY id DESC LIMIT ?'),
    claimClient: db.prepare(
      'INSERT INTO client_ids (doc_id, client_id, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    clientOwner: db.prepare<[string, number], { user_id: string }>(
      'SELECT user_id FROM client_ids WHERE doc_id = ? AND client_id = ?',
    ),
    getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
    setSetting: db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };

  const nextSeq = (docId: string): number => (q.maxSeq.get({ doc: docId })?.s ?? 0) + 1;

  const createDocument = db.transaction((d: NewDocument) => {
    const r = d.record;
    q.insertDoc.run(r.id, r.title, r.guestRole, r.createdBy, r.createdAt, r.updatedAt, r.threadCount, r.commentCount);
    q.insertUpdate.run(r.id, 1, d.initialUpdate);
    for (const m of d.members) q.setMember.run(r.id, m.userId, m.role);
  });

  const appendUpdates = db.transaction((docId: string, updates: Uint8Array[]): number[] => {
    let seq = nextSeq(docId);
    const seqs: number[] = [];
    for (const u of updates) {
      q.insertUpdate.run(docId, seq, u);
      seqs.push(seq++);
    }
    return seqs;
  });

  const loadState = db.transaction((docId: string): StoredState => {
    const snap = q.snapshot.get(docId);
    const snapshotSeq = snap?.upto_seq ?? 0;
    return {
      snapshot: snap ? bytes(snap.data) : null,
      snapshotSeq,
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
  const storeFold = db.transaction((docId: string, fromSeq: number, uptoSeq: number, data: Uint8Array): number => {
    if ((q.snapshot.get(docId)?.upto_seq ?? 0) !== fromSeq) return -1;
    q.upsertSnapshot.run(docId, uptoSeq, data, Date.now());
    q.deleteUpdatesUpTo.run(docId, uptoSeq);
    return uptoSeq;
  });

  // The fold runs outside any transaction (it may be a worker's): the log is append-only, so the entries it read
  // are still there unchanged when it ends, and storeFold checks that no other compaction replaced the snapshot.
  const compact = async (docId: string, fold: Fold): Promise<number> => {
    const state = loadState(docId);
    const uptoSeq = state.updates.at(-1)?.seq ?? state.snapshotSeq;
    if (state.updates.length === 0) return uptoSeq;
    const data = await fold(state);
    return durably(() => storeFold(docId, state.snapshotSeq, uptoSeq, data), data.byteLength);
  };

  const updateDocument = (id: string, fields: DocumentFields) => {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, column] of DOCUMENT_COLUMNS) {
      if (fields[key] === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(fields[key]);
    }
    if (sets.length) db.prepare(`UPDATE documents SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  };

  return {
    kind: 'sqlite',
    async createDocument(d) {
      try {
        await durably(() => createDocument(d), d.initialUpdate.byteLength);
      } catch (e) {
        if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new StorageError(`document ${d.record.id} exists`, 'conflict');
        }
        throw e;
      }
    },
    async getDocument(id) {
      const r = q.getDoc.get(id);
      return r ? toDocument(r) : null;
    },
    async listDocuments() {
      return q.listDocs.all().map(toDocument);
    },
    async updateDocument(id, fields) {
      await durably(() => updateDocument(id, fields));
    },
    async deleteDocument(id) {
      return durably(() => q.deleteDoc.run(id).changes > 0);
    },
    async countDocuments() {
      return q.countDocs.get()?.n ?? 0;
    },
    async appendUpdates(docId, updates) {
      if (!updates.length) return [];
      return durably(
        () => appendUpdates(docId, updates),
        updates.reduce((n, u) => n + u.byteLength, 0),
      );
    },
    async loadState(docId) {
      return loadState(docId);
    },
    async compact(docId, fold = foldState) {
      return compact(docId, fold);
    },
    async lastSeq(docId) {
      return nextSeq(docId) - 1;
    },
    async updatesAfter(docId, seq) {
      const snapshotSeq = q.snapshot.get(docId)?.upto_seq ?? 0;
      if (seq < snapshotSeq) return null;
      return q.updatesAfter.all(docId, seq).map((u) => ({ seq: u.seq, data: bytes(u.data) }));
    },
    async claimClientIds(docId, userId, ids) {
      // Committed, not waited for: a claim matters only with the update written under it, and that update's own
      // flush comes later in the same WAL, so it carries the claim to the disk too. (Waiting here would let a
      // writer's first update fall a flush behind everyone else's.)
      disk?.wal.check();
      return claimClientIds(docId, userId, ids);
    },
    async createUser(u) {
      try {
        await durably(() => q.insertUser.run(u.id, u.username, u.name, u.passwordHash, u.isAdmin ? 1 : 0, u.createdAt));
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
          throw new StorageError(`username ${u.username} is taken`, 'conflict');
        }
        throw e;
      }
    },
    async getUserById(id) {
      const r = q.userById.get(id);
      return r ? toUser(r) : null;
    },
    async getUserByUsername(username) {
      const r = q.userByName.get(username);
      return r ? toUser(r) : null;
    },
    async setPassword(userId, hash) {
      await durably(() => q.setPassword.run(hash, userId));
    },
    async setMember(docId, userId, role) {
      await durably(() => q.setMember.run(docId, userId, role));
    },
    async removeMember(docId, userId) {
      return durably(() => q.removeMember.run(docId, userId).changes > 0);
    },
    async getMemberRole(docId, userId) {
      return (q.memberRole.get(docId, userId)?.role as Role | undefined) ?? null;
    },
    async listMembers(docId): Promise<Member[]> {
      return q.members
        .all(docId)
        .map((m) => ({ userId: m.user_id, username: m.username, name: m.name, role: m.role as Role }));
    },
    async membershipsOf(userId) {
      return new Map(q.membershipsOf.all(userId).map((m) => [m.doc_id, m.role as Role]));
    },
    async audit(e: AuditEntry) {
      await durably(() => q.audit.run(e.docId, e.actorId, e.action, JSON.stringify(e.detail), Date.now()));
    },
    async listAudit(docId, limit = 200): Promise<AuditRecord[]> {
      return q.listAudit.all(docId, limit).map((r) => ({
        id: r.id,
        docId: r.doc_id,
        actorId: r.actor_id,
        action: r.action,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
        at: r.at,
      }));
    },
    async getSetting(key) {
      return q.getSetting.get(key)?.value ?? null;
    },
    async setSetting(key, value) {
      await durably(() => q.setSetting.run(key, value));
    },
    async ping() {
      disk?.wal.check(); // a disk that failed a sync is down until the server restarts
      db.prepare('SELECT 1').get();
    },
    async close() {
      await disk?.close();
      if (db.open) db.close();
    },
  };
}

/**
 * The file side of an on-disk database: the WAL's sync (wal-sync.ts) and checkpoints in the worker thread, one
 * at a time, once about `checkpointAfterBytes` have been written since the last.
 */
function openDisk(file: string, checkpointAfterBytes: number) {
  // The WAL exists from the first read of a WAL database (migrate read the schema version). It is removed only by
  // the last connection to close, and this one stays open as long as the storage: the descriptor stays valid.
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
    /** Counts what a commit wrote to the WAL; starts a checkpoint when enough has. */
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

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
