/**
 * The one migration set, for both engines, run by Kysely's Migrator when storage opens. On PostgreSQL the
 * Migrator holds an advisory lock while it migrates, so instances starting together migrate one at a time
 * (SQLite is one process's file).
 *
 * A migration is written once against `ENGINE_SCHEMA`, the engine-specific remainder: the column types each engine
 * stores a value in (kept as the databases made before this migration set have them) and the PostgreSQL log's
 * sequence counter. Append new migrations to the end; never change one that has shipped.
 *
 * Adopting databases from before this set: they have the same tables (SQLite: `user_version` 1 or 2; PostgreSQL:
 * versions 1 and 2 in `schema_migrations`), created with the same DDL. The first migration creates only what is
 * missing, so such a database is taken over as it is, rows and all.
 */
import { Migrator, sql, type Kysely, type Migration, type ColumnDataType } from 'kysely';
import type { EngineKind } from './types.js';

interface EngineSchema {
  /** Epoch milliseconds, sequence numbers, client ids. */
  integer: ColumnDataType;
  binary: ColumnDataType;
  boolean: ColumnDataType;
  json: ColumnDataType;
  /** The value `false` as a column default. */
  falseDefault: number | boolean;
  /** Adds an auto-numbered primary key column `id`. */
  autoId: ColumnDataType;
}

const ENGINE_SCHEMA: Record<EngineKind, EngineSchema> = {
  sqlite: { integer: 'integer', binary: 'blob', boolean: 'integer', json: 'text', falseDefault: 0, autoId: 'integer' },
  postgres: {
    integer: 'bigint',
    binary: 'bytea',
    boolean: 'boolean',
    json: 'jsonb',
    falseDefault: false,
    autoId: 'bigserial',
  },
};

type Migrations = Record<string, Migration>;

/**
 * The full-text part of the search index, the one thing about it that differs by engine. Rows are written to
 * `search_rows` alike on both; the query side is in search/store.ts (`MATCHES`).
 * - SQLite: an FTS5 table over the row's text columns (external content: it holds only the index), kept by
 *   triggers; case and diacritics folded (unicode61 remove_diacritics 2), English stems (porter).
 * - PostgreSQL: a generated tsvector column (the `english` configuration over unaccented text) with a GIN index.
 *   `unaccent` is an extension, installed once per database (in `public` when there is one), so the column calls it
 *   through an immutable wrapper in the storage's schema that names the extension's schema. `0007_search_speed`
 *   (`SEARCH_SPEED`) moved the vectors to a table of their own and changed the configuration.
 */
const SEARCH_SCHEMA: Record<EngineKind, (db: Kysely<unknown>) => Promise<void>> = {
  async sqlite(db) {
    await sql`CREATE VIRTUAL TABLE search_fts USING fts5(body, quote, tags, author_name, content='search_rows',
              content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')`.execute(db);
    const row = (r: string) => sql.raw(`${r}.id, ${r}.body, ${r}.quote, ${r}.tags, ${r}.author_name`);
    const del = sql`INSERT INTO search_fts (search_fts, rowid, body, quote, tags, author_name) VALUES ('delete', ${row('old')});`;
    const ins = sql`INSERT INTO search_fts (rowid, body, quote, tags, author_name) VALUES (${row('new')});`;
    await sql`CREATE TRIGGER search_rows_ai AFTER INSERT ON search_rows BEGIN ${ins} END`.execute(db);
    await sql`CREATE TRIGGER search_rows_ad AFTER DELETE ON search_rows BEGIN ${del} END`.execute(db);
    await sql`CREATE TRIGGER search_rows_au AFTER UPDATE ON search_rows BEGIN ${del} ${ins} END`.execute(db);
  },
  async postgres(db) {
    // Schemas migrating at once in one database would race to create the extension.
    await sql`SELECT pg_advisory_xact_lock(hashtext('marginalia.extension:unaccent'))`.execute(db);
    const { rows: publicSchema } = await sql`SELECT 1 FROM pg_namespace WHERE nspname = 'public'`.execute(db);
    if (publicSchema.length) await sql`CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public`.execute(db);
    else await sql`CREATE EXTENSION IF NOT EXISTS unaccent`.execute(db);
    const { rows } = await sql<{ schema: string }>`
      SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'unaccent'`.execute(db);
    const ext = sql.id(rows[0]!.schema);
    const dictionary = sql.lit(`${rows[0]!.schema}.unaccent`);
    await sql`CREATE FUNCTION marginalia_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
              AS $$ SELECT ${ext}.unaccent(${dictionary}::regdictionary, $1) $$`.execute(db);
    const vector = (column: string, weight: string) =>
      sql.raw(
        `setweight(to_tsvector('english'::regconfig, marginalia_unaccent(coalesce(${column}, ''))), '${weight}')`,
      );
    await sql`ALTER TABLE search_rows ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
                ${vector('body', 'A')} || ${vector('quote', 'B')} || ${vector('tags', 'B')} || ${vector('author_name', 'C')}
              ) STORED`.execute(db);
    await sql`CREATE INDEX search_rows_tsv ON search_rows USING gin (tsv)`.execute(db);
  },
};

/**
 * `0007_search_speed`, PostgreSQL (SQLite's FTS5 index is left as it is):
 * - The text search vectors move out of `search_rows` into a narrow table `search_vectors` (the row's id and the
 *   columns a search filters on: document, kind, status, author, tags; and its tsvector) with the GIN index, kept from `search_rows` by a trigger as SQLite's
 *   `search_fts` is. A search reads and ranks every matching row's vector: in `search_rows` each sat among the
 *   row's displayed text (body, quote, key, hash), so a common word read most of the table; the narrow table is
 *   about half as many pages, and a search filters and ranks within it, reading `search_rows` only for the rows
 *   it returns.
 * - The vectors are built with `marginalia_english`: the `english` configuration with an English Snowball stemmer
 *   that keeps stop words, as SQLite's porter tokenizer does. With `english`, "the", "of" and the like were
 *   dropped, so `"state of the art"` matched "state art" anywhere and a query of only stop words found nothing.
 */
const SEARCH_SPEED: Record<EngineKind, (db: Kysely<unknown>) => Promise<void>> = {
  async sqlite() {},
  async postgres(db) {
    await sql`CREATE TEXT SEARCH DICTIONARY marginalia_english_stem (TEMPLATE = pg_catalog.snowball, LANGUAGE = english)`.execute(
      db,
    );
    await sql`CREATE TEXT SEARCH CONFIGURATION marginalia_english (COPY = pg_catalog.english)`.execute(db);
    await sql`ALTER TEXT SEARCH CONFIGURATION marginalia_english
              ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
              WITH marginalia_english_stem`.execute(db);
    await sql`CREATE TABLE search_vectors (
                id bigint PRIMARY KEY REFERENCES search_rows (id) ON DELETE CASCADE,
                doc_id text NOT NULL,
                kind text NOT NULL,
                status text,
                author_id text,
                tags text,
                tsv tsvector NOT NULL)`.execute(db);
    const vector = (row: string) => {
      const part = (column: string, weight: string) =>
        `setweight(to_tsvector('marginalia_english'::regconfig, marginalia_unaccent(coalesce(${row}.${column}, ''))), '${weight}')`;
      return sql.raw(
        `${part('body', 'A')} || ${part('quote', 'B')} || ${part('tags', 'B')} || ${part('author_name', 'C')}`,
      );
    };
    // The function runs with the search path it was created with: the storage's schema, whatever the caller's.
    await sql`CREATE FUNCTION marginalia_search_vector() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT
              AS $$ BEGIN
                INSERT INTO search_vectors (id, doc_id, kind, status, author_id, tags, tsv)
                VALUES (NEW.id, NEW.doc_id, NEW.kind, NEW.status, NEW.author_id, NEW.tags, ${vector('NEW')})
                ON CONFLICT (id) DO UPDATE
                SET doc_id = EXCLUDED.doc_id, kind = EXCLUDED.kind, status = EXCLUDED.status,
                    author_id = EXCLUDED.author_id, tags = EXCLUDED.tags, tsv = EXCLUDED.tsv;
                RETURN NULL;
              END $$`.execute(db);
    await sql`CREATE TRIGGER search_rows_vector AFTER INSERT OR UPDATE ON search_rows
              FOR EACH ROW EXECUTE FUNCTION marginalia_search_vector()`.execute(db);
    await sql`INSERT INTO search_vectors (id, doc_id, kind, status, author_id, tags, tsv)
              SELECT r.id, r.doc_id, r.kind, r.status, r.author_id, r.tags, ${vector('r')} FROM search_rows r`.execute(
      db,
    );
    await sql`CREATE INDEX search_vectors_tsv ON search_vectors USING gin (tsv)`.execute(db);
    // A search in one document.
    await sql`CREATE INDEX search_vectors_doc ON search_vectors (doc_id)`.execute(db);
    await sql`ALTER TABLE search_rows DROP COLUMN tsv`.execute(db);
  },
};

function migrations(engine: EngineKind): Migrations {
  const t = ENGINE_SCHEMA[engine];
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('documents')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('guest_role', 'text')
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', t.integer, (c) => c.notNull())
          .addColumn('updated_at', t.integer, (c) => c.notNull())
          .addColumn('thread_count', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('comment_count', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        if (engine === 'postgres') {
          // The PostgreSQL log numbers a document's entries from this counter (postgres-log.ts). Every document is
          // created with its first entry at 1, so that is where a new row's counter starts.
          await sql`ALTER TABLE documents ADD COLUMN IF NOT EXISTS last_seq BIGINT NOT NULL DEFAULT 1`.execute(db);
          await sql`ALTER TABLE documents ALTER COLUMN last_seq SET DEFAULT 1`.execute(db);
        }
        await db.schema
          .createTable('updates')
          .ifNotExists()
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('seq', t.integer, (c) => c.notNull())
          .addColumn('data', t.binary, (c) => c.notNull())
          .addPrimaryKeyConstraint('updates_pkey', ['doc_id', 'seq'])
          .execute();
        await db.schema
          .createTable('snapshots')
          .ifNotExists()
          .addColumn('doc_id', 'text', (c) => c.primaryKey().references('documents.id').onDelete('cascade'))
          .addColumn('upto_seq', t.integer, (c) => c.notNull())
          .addColumn('data', t.binary, (c) => c.notNull())
          .addColumn('created_at', t.integer, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('users')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('username', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('is_admin', t.boolean, (c) => c.notNull().defaultTo(t.falseDefault))
          .addColumn('created_at', t.integer, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('memberships')
          .ifNotExists()
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('memberships_pkey', ['doc_id', 'user_id'])
          .execute();
        await db.schema.createIndex('memberships_user').ifNotExists().on('memberships').column('user_id').execute();
        await db.schema
          .createTable('audit')
          .ifNotExists()
          .addColumn('id', t.autoId, (c) => (engine === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('doc_id', 'text')
          .addColumn('actor_id', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('detail', t.json, (c) => c.notNull())
          .addColumn('at', t.integer, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_doc').ifNotExists().on('audit').columns(['doc_id', 'id']).execute();
        await db.schema
          .createTable('settings')
          .ifNotExists()
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('client_ids')
          .ifNotExists()
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('client_id', t.integer, (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('client_ids_pkey', ['doc_id', 'client_id'])
          .execute();
      },
    },
    '0002_projection_cursors': {
      async up(db: Kysely<unknown>) {
        // How far the log projector (projector/) has projected each document's log. A document without a row has
        // projected nothing. Documents that exist already start at their last sequence number: their history
        // before the projector is not replayed (compaction may have folded it away).
        await db.schema
          .createTable('projection_cursors')
          .ifNotExists()
          .addColumn('doc_id', 'text', (c) => c.primaryKey().references('documents.id').onDelete('cascade'))
          .addColumn('seq', t.integer, (c) => c.notNull())
          .execute();
        await sql`INSERT INTO projection_cursors (doc_id, seq)
                  SELECT d.id, coalesce((SELECT max(u.seq) FROM updates u WHERE u.doc_id = d.id),
                                        (SELECT s.upto_seq FROM snapshots s WHERE s.doc_id = d.id), 0)
                  FROM documents d`.execute(db);
      },
    },
    '0003_access': {
      async up(db: Kysely<unknown>) {
        // Signed-out tokens (by id), refused until they expire on every instance (auth/access-state.ts); rows
        // past `expires_at` are pruned. Disabled accounts sign in no more and their tokens stop everywhere.
        await db.schema
          .createTable('revocations')
          .ifNotExists()
          .addColumn('jti', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('expires_at', t.integer, (c) => c.notNull())
          .addColumn('revoked_at', t.integer, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('revocations_revoked_at')
          .ifNotExists()
          .on('revocations')
          .column('revoked_at')
          .execute();
        await db.schema
          .alterTable('users')
          .addColumn('disabled', t.boolean, (c) => c.notNull().defaultTo(t.falseDefault))
          .execute();
      },
    },
    '0004_notifications': {
      async up(db: Kysely<unknown>) {
        // What the notifications consumer (projector/notifications.ts) derives from the stored log, and what it
        // hands on: one row per recipient and event, a document's webhooks with their deliveries, and e-mail.
        await db.schema
          .createTable('notifications')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('thread_id', 'text', (c) => c.notNull())
          .addColumn('comment_id', 'text')
          .addColumn('actor_id', 'text')
          .addColumn('actor_name', 'text', (c) => c.notNull())
          .addColumn('excerpt', 'text', (c) => c.notNull())
          .addColumn('created_at', t.integer, (c) => c.notNull())
          .addColumn('read_at', t.integer)
          .execute();
        await db.schema
          .createIndex('notifications_user')
          .on('notifications')
          .columns(['user_id', 'created_at', 'id'])
          .execute();
        await db.schema
          .createIndex('notifications_comment')
          .on('notifications')
          .columns(['doc_id', 'comment_id'])
          .execute();
        await db.schema
          .createTable('follows')
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('following', t.boolean, (c) => c.notNull())
          .addPrimaryKeyConstraint('follows_pkey', ['doc_id', 'user_id'])
          .execute();
        await db.schema
          .createTable('user_settings')
          .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
          .addColumn('email', 'text', (c) => c.notNull())
          .addColumn('address', 'text')
          .addColumn('digest_sent_at', t.integer)
          .execute();
        await db.schema
          .createTable('webhooks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('events', t.json, (c) => c.notNull())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', t.integer, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhooks_doc').on('webhooks').column('doc_id').execute();
        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('hook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', t.integer, (c) => c.notNull())
          .addColumn('claimed_until', t.integer)
          .addColumn('response_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('created_at', t.integer, (c) => c.notNull())
          .addColumn('delivered_at', t.integer)
          .execute();
        await db.schema
          .createIndex('webhook_deliveries_due')
          .on('webhook_deliveries')
          .columns(['status', 'next_attempt_at'])
          .execute();
        await db.schema
          .createIndex('webhook_deliveries_hook')
          .on('webhook_deliveries')
          .columns(['hook_id', 'created_at'])
          .execute();
        await db.schema
          .createTable('email_outbox')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('notification_id', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', t.integer, (c) => c.notNull())
          .addColumn('claimed_until', t.integer)
          .addColumn('last_error', 'text')
          .addColumn('created_at', t.integer, (c) => c.notNull())
          .addColumn('sent_at', t.integer)
          .execute();
        await db.schema
          .createIndex('email_outbox_due')
          .on('email_outbox')
          .columns(['status', 'next_attempt_at'])
          .execute();
      },
    },
    '0005_search': {
      async up(db: Kysely<unknown>) {
        // The search index (search/): one row per live comment, per article block and per title, kept by the log
        // projector (projector/search.ts). `hash` is of every other column: the projector rewrites only rows whose
        // content changed. `tags` holds the thread's tags one per line, with a line break before and after each.
        await db.schema
          .createTable('search_rows')
          .addColumn('id', t.autoId, (c) => (engine === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('thread_id', 'text')
          .addColumn('comment_id', 'text')
          .addColumn('author_id', 'text')
          .addColumn('author_name', 'text')
          .addColumn('status', 'text')
          .addColumn('tags', 'text')
          .addColumn('created_at', t.integer)
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('quote', 'text')
          .addColumn('hash', 'text', (c) => c.notNull())
          .addUniqueConstraint('search_rows_doc_key', ['doc_id', 'key'])
          .execute();
        // Comments newest first (a search without words), and unread counts.
        await db.schema
          .createIndex('search_rows_kind_created')
          .on('search_rows')
          .columns(['kind', 'created_at', 'id'])
          .execute();
        await SEARCH_SCHEMA[engine](db);
        // When each user last viewed each document (POST /api/documents/:id/seen): what is new to them.
        await db.schema
          .createTable('document_views')
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('seen_at', t.integer, (c) => c.notNull())
          .addPrimaryKeyConstraint('document_views_pkey', ['user_id', 'doc_id'])
          .execute();
      },
    },
    '0006_versions': {
      async up(db: Kysely<unknown>) {
        // Versions of a document (server/src/versions/): each keeps its own full state, so compaction of the log
        // and snapshots never touches them. Automatic ones (`automatic` true) expire after the retention period;
        // named ones stay.
        await db.schema
          .createTable('versions')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('name', 'text')
          .addColumn('created_at', t.integer, (c) => c.notNull())
          .addColumn('created_by', 'text')
          .addColumn('automatic', t.boolean, (c) => c.notNull())
          .addColumn('upto_seq', t.integer, (c) => c.notNull())
          .addColumn('state', t.binary, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('versions_doc')
          .ifNotExists()
          .on('versions')
          .columns(['doc_id', 'created_at'])
          .execute();
        // Who deleted what (Yjs records no deleter): ranges of Yjs items a user's update removed, noted as it arrived
        // (versions/deletions.ts), for the attribution of deletions in diffs.
        await db.schema
          .createTable('deletions')
          .ifNotExists()
          .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
          .addColumn('client', t.integer, (c) => c.notNull())
          .addColumn('clock', t.integer, (c) => c.notNull())
          .addColumn('len', t.integer, (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('seq', t.integer, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('deletions_doc')
          .ifNotExists()
          .on('deletions')
          .columns(['doc_id', 'client', 'clock'])
          .execute();
      },
    },
    '0007_search_speed': {
      async up(db: Kysely<unknown>) {
        await SEARCH_SPEED[engine](db);
      },
    },
    '0008_search_epoch': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable('projection_cursors')
          .addColumn('search_epoch', t.integer, (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0009_version_read_copy': {
      async up(db: Kysely<unknown>) {
        // A version's read copy (server/src/versions/read-copy.ts): what reading it takes, so that reading never
        // builds its full state. Versions recorded before have none (null) until they are first read. One column
        // per statement: SQLite adds one at a time.
        await db.schema.alterTable('versions').addColumn('read_article', t.binary).execute();
        await db.schema.alterTable('versions').addColumn('read_threads', 'text').execute();
      },
    },
    '0010_webhook_after_seq': {
      async up(db: Kysely<unknown>) {
        // The document's last log entry when the hook was made: it is sent the events of later entries only (a
        // projection under way when it was made does not send it what was stored before). Null for older hooks.
        await db.schema.alterTable('webhooks').addColumn('after_seq', t.integer).execute();
      },
    },
    '0011_snapshot_lead': {
      async up(db: Kysely<unknown>) {
        // A large snapshot's lead (storage/slice.ts leadOf), sent to joining clients ahead of it. Snapshots stored
        // before have none until the next compaction.
        await db.schema.alterTable('snapshots').addColumn('lead', t.binary).execute();
      },
    },
  };
}

/**
 * Brings the database up to the newest migration. `schema`: where the Migrator keeps its own tables (PostgreSQL:
 * the schema the storage works in; it would otherwise take another schema's for its own).
 */
export async function migrate(db: Kysely<unknown>, engine: EngineKind, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations(engine)) },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (!error && !failed) return;
    const reason = error instanceof Error ? error.message : String(error ?? 'failed');
    // The Migrator looks for its tables by listing every table of the database (Kysely's introspection); a schema
    // another tenant drops meanwhile fails that listing. Nothing was migrated then: look again.
    const otherSchemaGone = /schema "([^"]+)" does not exist/.exec(reason);
    if (!failed && otherSchemaGone && otherSchemaGone[1] !== schema && attempt < 5) continue;
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}
