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
  /** The snapshot's lead (StoredState.snapshotLead); null when it has none. */
  lead: Uint8Array | null;
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
  /**
   * Counts rebuilds of the document's search rows outside the projector (`reindexDocument`): the search consumer
   * trusts its own record of the rows it committed only while this and the cursor are what it left.
   */
  search_epoch: Generated<number>;
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
  /**
   * The read copy (versions/read-copy.ts, migration 0009): the article, metadata and vocabulary alone as one Yjs
   * update, and the threads' records as JSON. Null for a version recorded before it existed, until first read.
   */
  read_article: ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>;
  read_threads: ColumnType<string | null, string | null | undefined, string | null>;
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

/** One notification of one user (projector/notifications.ts). */
export interface NotificationsTable {
  id: string;
  user_id: string;
  kind: string;
  doc_id: string;
  thread_id: string;
  comment_id: string | null;
  actor_id: string | null;
  actor_name: string;
  excerpt: string;
  created_at: number;
  read_at: number | null;
}

/** Who follows a document (a row with following false: its creator chose not to). */
export interface FollowsTable {
  doc_id: string;
  user_id: string;
  following: ColumnType<number | boolean, number, number>;
}

export interface UserSettingsTable {
  user_id: string;
  /** 'off' | 'instant' | 'digest' */
  email: string;
  /** Where mail goes. */
  address: string | null;
  digest_sent_at: number | null;
}

export interface WebhooksTable {
  id: string;
  doc_id: string;
  url: string;
  /** JSON array of event types. */
  events: ColumnType<string | string[], string, string>;
  secret: string;
  created_by: string;
  created_at: number;
  /** The document's last log entry when the hook was made: it is sent events of later entries only (null: older). */
  after_seq: number | null;
}

/** The webhook outbox: one row per event and hook, written in the projection transaction (notify/webhooks.ts). */
export interface WebhookDeliveriesTable {
  id: string;
  hook_id: string;
  event: string;
  payload: string;
  /** 'pending' | 'delivered' | 'failed' */
  status: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  claimed_until: number | null;
  response_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

/** Mail to send, one row per notification of a user who wants mail (notify/mail.ts). */
export interface EmailOutboxTable {
  id: string;
  user_id: string;
  notification_id: string;
  /** 'instant' | 'digest' */
  mode: string;
  /** 'pending' | 'sent' | 'failed' */
  status: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  claimed_until: number | null;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
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
  revocations: RevocationsTable;
  versions: VersionsTable;
  deletions: DeletionsTable;
  notifications: NotificationsTable;
  follows: FollowsTable;
  user_settings: UserSettingsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  email_outbox: EmailOutboxTable;
  search_rows: SearchRowsTable;
  document_views: DocumentViewsTable;
}

export type DocumentRow = Selectable<DocumentsTable>;
export type UserRow = Selectable<UsersTable>;
