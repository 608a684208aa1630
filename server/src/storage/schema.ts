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

/** How far the log projector has projected each document (projector/projector.ts). */
export interface ProjectionCursorsTable {
  doc_id: string;
  seq: number;
}

/** The search index (search/, kept by projector/search.ts); the engine's full-text part is not typed here. */
export interface SearchRowsTable {
  id: Generated<number>;
  doc_id: string;
  /** The row's identity within its document: `t` (title), `a:<hash>:<n>` (article block), `c:<comment id>`. */
  key: string;
  kind: 'comment' | 'article' | 'title';
  thread_id: string | null;
  comment_id: string | null;
  author_id: string | null;
  author_name: string | null;
  status: string | null;
  tags: string | null;
  created_at: number | null;
  body: string;
  quote: string | null;
  hash: string;
}

/** When each user last viewed each document. */
export interface DocumentViewsTable {
  user_id: string;
  doc_id: string;
  seen_at: number;
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
  search_rows: SearchRowsTable;
  document_views: DocumentViewsTable;
}

export type DocumentRow = Selectable<DocumentsTable>;
export type UserRow = Selectable<UsersTable>;
