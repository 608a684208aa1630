/**
 * The tables, as Kysely sees them: one `Database` type for both engines (migrations.ts creates them). Columns
 * that differ by engine in how a value comes back are typed with both forms (booleans: SQLite 0/1, PostgreSQL
 * true/false; JSON: SQLite text, PostgreSQL jsonb): records.ts reads either.
 */
import type { ColumnType, Generated, Selectable } from 'kysely';

export interface DocumentsTable {
  id: string;
  title: string;
  guest_role: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  thread_count: Generated<number>;
  comment_count: Generated<number>;
}

/** The log (written by each engine's DocumentLog; a document's first entry by records.ts). */
export interface UpdatesTable {
  doc_id: string;
  seq: number;
  data: Uint8Array;
}

export interface SnapshotsTable {
  doc_id: string;
  upto_seq: number;
  data: Uint8Array;
  created_at: number;
}

export interface ClientIdsTable {
  doc_id: string;
  client_id: number;
  user_id: string;
}

export interface UsersTable {
  id: string;
  username: string;
  name: string;
  password_hash: string;
  /** Written as 0/1, which both engines take. */
  is_admin: ColumnType<number | boolean, number, number>;
  created_at: number;
  /** Written as 0/1, which both engines take. */
  disabled: ColumnType<number | boolean, number | undefined, number>;
}

export interface MembershipsTable {
  doc_id: string;
  user_id: string;
  role: string;
}

export interface AuditTable {
  id: Generated<number>;
  doc_id: string | null;
  actor_id: string | null;
  action: string;
  /** Written as JSON text, which both engines take. */
  detail: ColumnType<string | Record<string, unknown>, string, string>;
  at: number;
}

export interface SettingsTable {
  key: string;
  value: string;
}

/** Signed-out tokens, refused on every instance until they expire (auth/access-state.ts). */
export interface RevocationsTable {
  jti: string;
  user_id: string;
  expires_at: number;
  revoked_at: number;
}

/** How far the log projector has projected each document (projector/projector.ts). */
export interface ProjectionCursorsTable {
  doc_id: string;
  seq: number;
}

/** Versions of documents, each with its own full state (server/src/versions/). */
export interface VersionsTable {
  id: string;
  doc_id: string;
  /** Given by a user for a named version; null for an automatic one. */
  name: string | null;
  created_at: number;
  /** Who named it, or the last author of the changes an automatic one follows (null: none known). */
  created_by: string | null;
  /** Written as 0/1, which both engines take. */
  automatic: ColumnType<number | boolean, number, number>;
  /** The highest log sequence number the state covers (at least). */
  upto_seq: number;
  /** The document's full state (one Yjs update). */
  state: Uint8Array;
}

/** Who deleted which Yjs items (versions/deletions.ts). */
export interface DeletionsTable {
  doc_id: string;
  client: number;
  clock: number;
  len: number;
  user_id: string;
  /** The log entry that deleted them (0 when not known). */
  seq: number;
}

export interface Database {
  documents: DocumentsTable;
  updates: UpdatesTable;
  snapshots: SnapshotsTable;
  client_ids: ClientIdsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  audit: AuditTable;
  settings: SettingsTable;
  projection_cursors: ProjectionCursorsTable;
  revocations: RevocationsTable;
  versions: VersionsTable;
  deletions: DeletionsTable;
}

export type DocumentRow = Selectable<DocumentsTable>;
export type UserRow = Selectable<UsersTable>;
