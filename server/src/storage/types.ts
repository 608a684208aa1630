/**
 * The storage interface. One implementation per engine (SQLite here, PostgreSQL beside it); the rest of the
 * server sees only this. Every method is async so that a networked engine fits the same shape.
 */
import type { Role } from '@marginalia/shared';

export interface DocumentRecord {
  id: string;
  title: string;
  /** Role given to guests (and to signed-in users who are not members); null: closed to them. */
  guestRole: Role | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** Counts kept current by the write path, so the library need not load every document. */
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

/** What is needed to rebuild a document: its latest snapshot and the log entries after it, in order. */
export interface StoredState {
  snapshot: Uint8Array | null;
  /** Highest log sequence number folded into the snapshot (0 when none). */
  snapshotSeq: number;
  updates: { seq: number; data: Uint8Array }[];
}

/** Folds a stored state into one update holding all of it. */
export type Fold = (state: Pick<StoredState, 'snapshot' | 'updates'>) => Uint8Array | Promise<Uint8Array>;

export interface NewDocument {
  record: DocumentRecord;
  /** The document's first state (article + meta), stored as its first log entry. */
  initialUpdate: Uint8Array;
  /** Memberships to create with it (the creator as owner). */
  members: { userId: string; role: Role }[];
}

export interface Storage {
  readonly kind: 'sqlite' | 'postgres';

  createDocument(doc: NewDocument): Promise<void>;
  getDocument(id: string): Promise<DocumentRecord | null>;
  /** Every document, newest activity first (callers filter by access). */
  listDocuments(): Promise<DocumentRecord[]>;
  updateDocument(id: string, fields: DocumentFields): Promise<void>;
  /** Deletes the document with its log, snapshots and memberships. */
  deleteDocument(id: string): Promise<boolean>;
  countDocuments(): Promise<number>;

  /** Appends updates to the log in one transaction; resolves with their sequence numbers once durable. */
  appendUpdates(docId: string, updates: Uint8Array[]): Promise<number[]>;
  loadState(docId: string): Promise<StoredState>;
  /**
   * Folds the snapshot and every log entry into a new snapshot and deletes those entries, in one transaction.
   * It reads what is stored rather than trusting a copy in memory, so entries appended by anyone else (another
   * instance, the CLI) are never dropped. Resolves with the sequence number now covered (0: nothing stored;
   * -1: someone else compacted meanwhile and nothing was written).
   * `fold` builds the new snapshot (default: `foldState` in this thread); it may run elsewhere (a worker) while
   * appends go on: only the entries it was given are deleted, and only if the snapshot is still the one it read.
   */
  compact(docId: string, fold?: Fold): Promise<number>;
  /** Highest sequence number stored for a document (log or snapshot); 0 when none. */
  lastSeq(docId: string): Promise<number>;
  /** Log entries after `seq`, or null when compaction already folded some of them into the snapshot. */
  updatesAfter(docId: string, seq: number): Promise<{ seq: number; data: Uint8Array }[] | null>;

  /**
   * Records `userId` as the owner of each Yjs client id not owned yet in this document, and returns the owner of
   * every id asked about. A client id is a writer's identity inside the CRDT: only its owner may write under it.
   */
  claimClientIds(docId: string, userId: string, clientIds: number[]): Promise<Map<number, string>>;

  createUser(user: UserRecord): Promise<void>;
  getUserById(id: string): Promise<UserRecord | null>;
  getUserByUsername(username: string): Promise<UserRecord | null>;
  setPassword(userId: string, passwordHash: string): Promise<void>;

  setMember(docId: string, userId: string, role: Role): Promise<void>;
  removeMember(docId: string, userId: string): Promise<boolean>;
  getMemberRole(docId: string, userId: string): Promise<Role | null>;
  listMembers(docId: string): Promise<Member[]>;
  /** Document ids the user is a member of, with the role. */
  membershipsOf(userId: string): Promise<Map<string, Role>>;

  audit(entry: AuditEntry): Promise<void>;
  listAudit(docId: string, limit?: number): Promise<AuditRecord[]>;

  /** Reads or sets a small server-wide setting (e.g. whether the sample document was created). */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;

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
