/**
 * What the rest of the server sees of storage, in two parts:
 * - `DocumentLog`: the hot path of every document (its append-only log of Yjs updates, snapshots, client-id
 *   claims). One implementation per engine, each tuned to it (sqlite-log.ts, postgres-log.ts).
 * - `Records`: everything relational (documents, users, memberships, audit, settings), written once with Kysely
 *   over either engine (records.ts), on the tables of schema.ts and the one migration set of migrations.ts.
 * A `Storage` holds both, opened together on one engine (sqlite.ts, postgres.ts).
 */
import type { Kysely, Transaction } from 'kysely';
import type { Role } from '@marginalia/shared';
import type { Database } from './schema.js';

export interface DocumentRecord {
  id: string;
  title: string;
  /** Role given to guests (and to signed-in users who are not members); null: closed to them. */
  guestRole: Role | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** Counts kept current from the stored log (projector/activity.ts), so the library need not load documents. */
  threadCount: number;
  commentCount: number;
}

export type DocumentFields = Partial<
  Pick<DocumentRecord, 'title' | 'guestRole' | 'updatedAt' | 'threadCount' | 'commentCount'>
>;

export interface UserRecord {
  id: string;
  username: string;
  name: string;
  passwordHash: string;
  isAdmin: boolean;
  createdAt: number;
  /** A disabled account cannot sign in, and its tokens are refused (auth/access-state.ts). */
  disabled?: boolean;
}

export interface Member {
  userId: string;
  username: string;
  name: string;
  role: Role;
}

export interface AuditEntry {
  docId: string | null;
  actorId: string | null;
  action: string;
  detail: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  id: number;
  at: number;
}

/** One stored update of a document's log. */
export interface LogEntry {
  seq: number;
  data: Uint8Array;
}

/** What is needed to rebuild a document: its latest snapshot and the log entries after it, in order. */
export interface StoredState {
  snapshot: Uint8Array | null;
  /** Highest log sequence number folded into the snapshot (0 when none). */
  snapshotSeq: number;
  /**
   * The snapshot's lead, stored with it when the snapshot is large (storage/slice.ts `leadOf`): the part of it that
   * holds everything but the threads and applies on its own. A joining client is sent it first, so that the
   * article shows before the threads have arrived. Null when there is none.
   */
  snapshotLead: Uint8Array | null;
  updates: LogEntry[];
}

/** A snapshot as compaction stores it: the folded update, and its lead (see `StoredState.snapshotLead`). */
export interface FoldedSnapshot {
  snapshot: Uint8Array;
  lead: Uint8Array | null;
}

/** Folds a stored state into one update holding all of it, with that update's lead (null: none is stored). */
export type Fold = (state: Pick<StoredState, 'snapshot' | 'updates'>) => FoldedSnapshot | Promise<FoldedSnapshot>;

export interface NewDocument {
  record: DocumentRecord;
  /** The document's first state (article + meta), stored as its first log entry (sequence number 1). */
  initialUpdate: Uint8Array;
  /** Memberships to create with it (the creator as owner). */
  members: { userId: string; role: Role }[];
  /**
   * What projecting the first entry derives besides the document's row (the search index's rows): written in
   * the same transaction, since the document starts projected.
   */
  derived?: (trx: Transaction<Database>) => Promise<void>;
}

/**
 * A document's log: the hot path, one implementation per engine.
 *
 * Durability: every write resolves only once what it wrote survives a crash of the process or the machine
 * (SQLite: after a flush of the WAL, shared by the writes committed meanwhile; PostgreSQL: after its commit).
 * A write that rejects may or may not be stored; nothing is acknowledged that is not.
 *
 * Order: sequence numbers of a document are 1, 2, 3, … in the order entries were committed, also across
 * instances sharing one database, and are never reused, not even after compaction.
 *
 * Compaction: folds the snapshot and the log entries into a new snapshot (covering sequence numbers up to
 * `snapshotSeq`). Entries at or below `snapshotSeq` are gone from what `loadState` and `updatesAfter` return. It
 * deletes the folded entries the log projector (projector/projector.ts) has projected; the others stay stored
 * until the projector has handed them on, and it deletes them then.
 *
 * On SQLite, the log and the relational layer share one connection: a log call waits while a relational
 * transaction is open, so never call the log from inside such a transaction (it would wait for itself).
 */
export interface DocumentLog {
  /** Appends updates in one transaction; resolves with their sequence numbers once durable. */
  appendUpdates(docId: string, updates: Uint8Array[]): Promise<number[]>;
  loadState(docId: string): Promise<StoredState>;
  /**
   * The stored state for a reader of the article alone (a document page's preview): when the snapshot has a lead,
   * `snapshot` is null and only the lead is read (a large document's snapshot is megabytes, its lead kilobytes);
   * else as `loadState`. The log entries after the snapshot come whole.
   */
  loadLeadState(docId: string): Promise<StoredState>;
  /**
   * Folds the snapshot and every log entry into a new snapshot, and deletes those entries that the projector has
   * projected, in one transaction. It reads what is stored rather than trusting a copy in memory, so entries appended
   * by anyone else (another instance, the CLI) are never dropped. Resolves with the sequence number now covered
   * (0: nothing stored; -1: someone else compacted meanwhile and nothing was written).
   * `fold` builds the new snapshot (default: `foldSnapshot` in this thread); it may run elsewhere (a worker) while
   * appends go on: only the entries it was given are folded, and only if the snapshot is still the one it read.
   */
  compact(docId: string, fold?: Fold): Promise<number>;
  /** Highest sequence number stored for a document (log or snapshot); 0 when none. */
  lastSeq(docId: string): Promise<number>;
  /** Log entries after `seq`, or null when compaction already folded some of them into the snapshot. */
  updatesAfter(docId: string, seq: number): Promise<LogEntry[] | null>;
  /**
   * Records `userId` as the owner of each Yjs client id not owned yet in this document, and returns the owner of
   * every id asked about. A client id is a writer's identity inside the CRDT: only its owner may write under it.
   * A claim need not be durable on its own: it matters only with an update written under it, which is.
   */
  claimClientIds(docId: string, userId: string, clientIds: number[]): Promise<Map<number, string>>;
}

/** The relational part of storage, written once for both engines (records.ts). Writes resolve once durable. */
export interface Records {
  /** Creates the document row, its first log entry and its memberships, in one transaction. */
  createDocument(doc: NewDocument): Promise<void>;
  getDocument(id: string): Promise<DocumentRecord | null>;
  /** Every document, newest activity first (callers filter by access). */
  listDocuments(): Promise<DocumentRecord[]>;
  updateDocument(id: string, fields: DocumentFields): Promise<void>;
  /** Deletes the document with its log, snapshots and memberships. */
  deleteDocument(id: string): Promise<boolean>;

  createUser(user: UserRecord): Promise<void>;
  getUserById(id: string): Promise<UserRecord | null>;
  getUserByUsername(username: string): Promise<UserRecord | null>;
  setPassword(userId: string, passwordHash: string): Promise<void>;
  /** Disables or re-enables an account; false when there is no such user. */
  setUserDisabled(userId: string, disabled: boolean): Promise<boolean>;
  /** The ids of every disabled account. */
  disabledUserIds(): Promise<string[]>;

  setMember(docId: string, userId: string, role: Role): Promise<void>;
  removeMember(docId: string, userId: string): Promise<boolean>;
  getMemberRole(docId: string, userId: string): Promise<Role | null>;
  listMembers(docId: string): Promise<Member[]>;
  /**
   * What decides a user's role on a document, read in one query: the document's guest role and the user's
   * membership (undefined document: it is gone), and whether the account is disabled.
   */
  accessOf(
    docId: string,
    userId: string | null,
  ): Promise<{ exists: boolean; guestRole: Role | null; memberRole: Role | null; disabled: boolean }>;
  /** The display names and usernames of the members of every document open to guests, each once. */
  memberNamesOnGuestDocuments(): Promise<{ username: string; name: string }[]>;
  /** Document ids the user is a member of, with the role. */
  membershipsOf(userId: string): Promise<Map<string, Role>>;

  audit(entry: AuditEntry): Promise<void>;
  listAudit(docId: string, limit?: number): Promise<AuditRecord[]>;

  /** Reads or sets a small server-wide setting (e.g. whether the sample document was created). */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /** The setting's value, set to `value` first when absent: whichever caller comes first wins, race-free. */
  settingOrInit(key: string, value: string): Promise<string>;
}

export type EngineKind = 'sqlite' | 'postgres';

/** Storage on one engine: the document log and the relational records, over one database. */
export interface Storage extends Records {
  readonly kind: EngineKind;
  readonly log: DocumentLog;
  /**
   * The relational database (Kysely), for what is written once for both engines (records.ts, the projector's
   * consumers). On SQLite its writes resolve once durable, as the log's do.
   */
  readonly db: Kysely<Database>;
  /** Resolves when the engine answers (health checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StorageError extends Error {
  constructor(
    message: string,
    readonly code: 'conflict' | 'not-found' | 'unavailable',
  ) {
    super(message);
    this.name = 'StorageError';
  }
}
