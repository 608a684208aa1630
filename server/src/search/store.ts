/**
 * The search index in the database: writing a document's rows (only what changed, by content hash), rebuilding
 * it from storage, and searching it with the caller's access applied at query time. Written once with Kysely; the
 * one engine-specific part is `MATCHES`, the full-text match and its score (the index itself: migrations.ts).
 */
import * as Y from 'yjs';
import { sharedPrefix } from '@marginalia/shared';
import { sql, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { EngineKind, Storage, DocumentLog } from '../storage/types.js';
import { storedPieces } from '../storage/stored-state.js';
import {
  documentSearchRowGroupsInSlices,
  flattenRows,
  readStoredTags,
  type SearchRow,
  type SearchRowGroups,
} from './rows.js';
import { fts5Query, highlightSpans, snippet, tsQuery, type QueryTerm, type Span } from './query.js';

/** Rows per statement when inserting or deleting many. */
const CHUNK = 200;

/**
 * Makes the document's stored rows equal `rows` (each key once): deletes rows no longer there, rewrites those whose
 * hash differs, inserts new ones. The stored rows are read in the same transaction, so running it twice, or after a
 * crash, leaves the same rows.
 */
export async function writeSearchRows(trx: Transaction<Database>, docId: string, rows: SearchRow[]): Promise<void> {
  const have = new Map(
    (await trx.selectFrom('search_rows').select(['key', 'hash']).where('doc_id', '=', docId).execute()).map((r) => [
      r.key,
      r.hash,
    ]),
  );
  const want = new Set(rows.map((r) => r.key));
  await writeRowChanges(trx, docId, {
    gone: [...have.keys()].filter((key) => !want.has(key)),
    rewritten: rows.filter((r) => have.has(r.key) && have.get(r.key) !== r.hash),
    added: rows.filter((r) => !have.has(r.key)),
  });
}

/** Deletes, rewrites and inserts the document's rows as listed (the two writers above and below compute the lists). */
async function writeRowChanges(
  trx: Transaction<Database>,
  docId: string,
  changes: { gone: string[]; rewritten: SearchRow[]; added: SearchRow[] },
): Promise<void> {
  for (let i = 0; i < changes.gone.length; i += CHUNK) {
    await trx
      .deleteFrom('search_rows')
      .where('doc_id', '=', docId)
      .where('key', 'in', changes.gone.slice(i, i + CHUNK))
      .execute();
  }
  for (const r of changes.rewritten) {
    await trx.updateTable('search_rows').set(r).where('doc_id', '=', docId).where('key', '=', r.key).execute();
  }
  for (let i = 0; i < changes.added.length; i += CHUNK) {
    await trx
      .insertInto('search_rows')
      .values(changes.added.slice(i, i + CHUNK).map((r) => ({ ...r, doc_id: docId })))
      .execute();
  }
}

/**
 * What a writer of a document's rows knows them to be after its write: the groups it wrote (SearchRowGroups) and
 * each stored row by key, with its group. Kept only while every key is in one group once (a malformed document
 * may repeat a comment id: then each write compares with every stored row).
 */
export interface WrittenRows {
  groups: SearchRowGroups;
  byKey: Map<string, { row: SearchRow; group: string }>;
}

/**
 * Makes the document's stored rows equal `groups`, as writeSearchRows does. With `before` (what the previous write
 * of this writer left, and the stored rows are still that in this transaction) only what changed since is
 * compared: groups that are the same array are skipped, and within a changed group the rows it shares with its
 * previous array by identity. `before` is consumed (changed in place); the result describes the rows as stored now,
 * or is undefined when keys repeat.
 */
export async function writeSearchRowGroups(
  trx: Transaction<Database>,
  docId: string,
  groups: SearchRowGroups,
  before?: WrittenRows,
): Promise<WrittenRows | undefined> {
  const changes = before && changedRows(groups, before);
  if (!before || !changes) {
    const rows = flattenRows(groups);
    await writeSearchRows(trx, docId, rows);
    const byKey: WrittenRows['byKey'] = new Map();
    let count = 0;
    for (const [group, list] of groups) {
      for (const row of list) byKey.set(row.key, { row, group });
      count += list.length;
    }
    return byKey.size === count ? { groups, byKey } : undefined;
  }
  await writeRowChanges(trx, docId, changes);
  for (const key of changes.gone) before.byKey.delete(key);
  for (const [key, now] of changes.current) before.byKey.set(key, now);
  before.groups = groups;
  return before;
}

/** What writing `groups` over `before` changes; null when a key would be in two groups (or twice in one). */
function changedRows(groups: SearchRowGroups, before: WrittenRows) {
  const gone: string[] = [];
  const rewritten: SearchRow[] = [];
  const added: SearchRow[] = [];
  /** Rows that are now the stored row of their key (rewritten, added, or equal by hash). */
  const current = new Map<string, { row: SearchRow; group: string }>();
  const compare = (group: string, was: readonly SearchRow[], now: readonly SearchRow[]): boolean => {
    const same = sharedPrefix(was, now);
    const wasKeys = new Set<string>();
    for (let i = same; i < was.length; i++) wasKeys.add(was[i]!.key);
    const keys = new Set<string>();
    for (let i = same; i < now.length; i++) {
      const row = now[i]!;
      if (keys.has(row.key) || current.has(row.key)) return false;
      keys.add(row.key);
      const stored = before.byKey.get(row.key);
      // Stored for another group, or for this one among the rows it kept (then it is in the group twice).
      if (stored && (stored.group !== group || !wasKeys.has(row.key))) return false;
      if (stored?.row === row) continue;
      current.set(row.key, { row, group });
      if (!stored) added.push(row);
      else if (stored.row.hash !== row.hash) rewritten.push(row);
    }
    for (const key of wasKeys) if (!keys.has(key)) gone.push(key);
    return true;
  };
  for (const [group, now] of groups) {
    const was = before.groups.get(group);
    if (was !== now && !compare(group, was ?? [], now)) return null;
  }
  for (const [group, was] of before.groups) if (!groups.has(group) && !compare(group, was, [])) return null;
  return { gone, rewritten, added, current };
}

/** How many times the document's rows were rebuilt outside the projector (see ProjectionCursorsTable). */
export async function searchEpoch(trx: Transaction<Database>, docId: string): Promise<number> {
  const row = await trx
    .selectFrom('projection_cursors')
    .select('search_epoch')
    .where('doc_id', '=', docId)
    .executeTakeFirst();
  return Number(row?.search_epoch ?? 0);
}

/** The document as stored (snapshot and log) and the last entry it holds, or null when it has no stored state. */
export async function storedDocument(log: DocumentLog, docId: string): Promise<{ doc: Y.Doc; through: number } | null> {
  const state = await log.loadState(docId);
  const pieces = storedPieces(state);
  if (pieces.length === 0) return null;
  const doc = new Y.Doc({ gc: true });
  for (const piece of pieces) Y.applyUpdate(doc, piece);
  return { doc, through: state.updates.at(-1)?.seq ?? state.snapshotSeq };
}

/** The rows of the document as stored, in groups, and the last entry they reflect (null: no stored state). */
export async function storedSearchRows(
  log: DocumentLog,
  docId: string,
): Promise<{ groups: SearchRowGroups; through: number } | null> {
  const stored = await storedDocument(log, docId);
  if (!stored) return null;
  try {
    return { groups: await documentSearchRowGroupsInSlices(stored.doc), through: stored.through };
  } finally {
    stored.doc.destroy();
  }
}

/**
 * Rebuilds the document's rows from storage (`marginalia reindex`, and documents not indexed yet). Serialised
 * with the log projector: it takes the document's projection lock (PostgreSQL) and commits only if no
 * projection committed since it read the document; else it reads again. False when the document does not exist.
 */
export async function reindexDocument(storage: Storage, docId: string): Promise<boolean> {
  for (;;) {
    const cursor = await projectionCursor(storage.db, docId);
    const stored = await storedSearchRows(storage.log, docId);
    if (!stored) return false;
    const done = await storage.db.transaction().execute(async (trx) => {
      if (storage.kind === 'postgres') {
        await sql`SELECT pg_advisory_xact_lock(hashtext(${'marginalia.project:' + docId}))`.execute(trx);
      }
      if ((await projectionCursor(trx, docId)) !== cursor) return false;
      const exists = await trx.selectFrom('documents').select('id').where('id', '=', docId).executeTakeFirst();
      if (exists) await writeSearchRows(trx, docId, flattenRows(stored.groups));
      // The search consumer's record of the rows it committed is void from now on.
      await trx
        .updateTable('projection_cursors')
        .set((eb) => ({ search_epoch: eb('search_epoch', '+', 1) }))
        .where('doc_id', '=', docId)
        .execute();
      if (exists && storage.kind === 'postgres') {
        // Rows whose vector is missing (the trigger keeps them, but a restore may have left them out) are
        // written again as they are, so that the trigger makes their vectors.
        await sql`UPDATE search_rows r SET kind = r.kind WHERE r.doc_id = ${docId}
                  AND NOT EXISTS (SELECT 1 FROM search_vectors v WHERE v.id = r.id)`.execute(trx);
      }
      return true;
    });
    if (done) return true;
  }
}

/** Documents with no title row: made before the index existed (or by a server that did not index). */
export async function unindexedDocuments(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('documents as d')
    .select('d.id')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('search_rows as r').select('r.id').whereRef('r.doc_id', '=', 'd.id').where('r.key', '=', 't'),
        ),
      ),
    )
    .execute();
  return rows.map((r) => r.id);
}

async function projectionCursor(db: Kysely<Database>, docId: string): Promise<number> {
  const r = await db.selectFrom('projection_cursors').select('seq').where('doc_id', '=', docId).executeTakeFirst();
  return r?.seq ?? 0;
}

// ---- searching ---------------------------------------------------------------------------------------------

/**
 * The full-text match of the terms: ids of matching rows with a score, higher is better, at least the best `top`
 * of those the search may return (in order of score, then id). `where(alias)`: the search's filters and the caller's
 * access, written against a table with the columns of `search_rows` they look at.
 * - SQLite: every match; the search query joins them to `search_rows` and applies the same conditions there.
 * - PostgreSQL: the match applies the conditions within `search_vectors` (which has those columns beside each
 *   row's vector), ranks only what is left, and hands over just the best `top`; so a search never reads
 *   `search_rows` for rows it does not return, and sorts scores alone, not the vectors they came from.
 */
const MATCHES: Record<
  EngineKind,
  (
    terms: readonly QueryTerm[],
    where: (alias: string) => RawBuilder<SqlBool>[],
    top: number,
  ) => RawBuilder<{ id: number; score: number }>
> = {
  sqlite: (terms) =>
    sql`(SELECT rowid AS id, -bm25(search_fts, 4.0, 2.0, 2.0, 1.0) AS score
         FROM search_fts WHERE search_fts MATCH ${fts5Query(terms)})`,
  postgres: (terms, where, top) =>
    sql`(SELECT v.id, ts_rank(v.tsv, query) AS score
         FROM search_vectors v, to_tsquery('marginalia_english', marginalia_unaccent(${tsQuery(terms)})) query
         WHERE ${sql.join([sql<SqlBool>`v.tsv @@ query`, ...where('v')], sql` AND `)}
         ORDER BY score DESC, v.id LIMIT ${top})`,
};

export type SearchKind = 'comment' | 'article' | 'title';

export interface SearchRequest {
  terms: QueryTerm[];
  tags: string[];
  authors: string[];
  status: 'open' | 'resolved' | null;
  document: string | null;
  kind: SearchKind | null;
  limit: number;
  offset: number;
}

/** Who is searching: admins read everything, members their documents and those open to guests, guests the latter. */
export interface Searcher {
  id: string;
  admin: boolean;
  guest: boolean;
}

export interface SearchItem {
  kind: SearchKind;
  documentId: string;
  documentTitle: string;
  threadId?: string;
  commentId?: string;
  snippet: string;
  highlights: Span[];
  score: number;
  createdAt?: number;
  author?: { id: string; name: string };
}

/**
 * The filters of a search, against the table `alias` (`search_rows`, or PostgreSQL's `search_vectors`).
 * `access`: the caller's access as well, as a set of documents (built once per search: for a match that checks many
 * rows; the search query itself checks the few rows it returns one by one).
 */
function conditions(alias: string, who: Searcher, req: SearchRequest, access: boolean): RawBuilder<SqlBool>[] {
  const col = (name: string) => sql.ref(`${alias}.${name}`);
  const where: RawBuilder<SqlBool>[] = [];
  if (access && !who.admin) {
    const open = sql`SELECT g.id FROM documents g WHERE g.guest_role IS NOT NULL`;
    where.push(
      who.guest
        ? sql`${col('doc_id')} IN (${open})`
        : sql`${col('doc_id')} IN (${open} UNION SELECT g.doc_id FROM memberships g WHERE g.user_id = ${who.id})`,
    );
  }
  if (req.document) where.push(sql`${col('doc_id')} = ${req.document}`);
  if (req.kind) where.push(sql`${col('kind')} = ${req.kind}`);
  else if (req.terms.length === 0) where.push(sql`${col('kind')} = ${'comment'}`);
  if (req.status) where.push(sql`${col('status')} = ${req.status}`);
  if (req.authors.length) where.push(sql`${col('author_id')} IN (${sql.join(req.authors)})`);
  if (req.tags.length) {
    // Any of the tags; `replace` finds a tag between line breaks exactly (case-sensitively) on both engines.
    const tags = req.tags.map((tag) => sql`replace(${col('tags')}, ${`\n${tag}\n`}, '') <> ${col('tags')}`);
    where.push(sql`(${sql.join(tags, sql` OR `)})`);
  }
  return where;
}

export async function search(
  db: Kysely<Database>,
  engine: EngineKind,
  who: Searcher,
  req: SearchRequest,
): Promise<{ items: SearchItem[]; more: boolean }> {
  const text = req.terms.length > 0;
  const page = req.limit + 1;
  let query = db
    .selectFrom('search_rows as r')
    .innerJoin('documents as d', 'd.id', 'r.doc_id')
    .select([
      'r.id',
      'r.doc_id',
      'r.kind',
      'r.thread_id',
      'r.comment_id',
      'r.author_id',
      'r.author_name',
      'r.tags',
      'r.created_at',
      'r.body',
      'r.quote',
      'd.title',
    ]);
  if (!who.admin) {
    query = query.where(({ eb, or, exists, selectFrom }) => {
      const open = eb('d.guest_role', 'is not', null);
      if (who.guest) return open;
      return or([
        open,
        exists(
          selectFrom('memberships as m')
            .select('m.user_id')
            .whereRef('m.doc_id', '=', 'r.doc_id')
            .where('m.user_id', '=', who.id),
        ),
      ]);
    });
  }
  for (const condition of conditions('r', who, req, false)) query = query.where(condition);
  const rows = text
    ? await query
        .innerJoin(
          MATCHES[engine](req.terms, (alias) => conditions(alias, who, req, true), req.offset + page).as('m'),
          'm.id',
          'r.id',
        )
        .select('m.score')
        .orderBy('m.score', 'desc')
        .orderBy('r.id')
        .limit(page)
        .offset(req.offset)
        .execute()
    : (
        await query.orderBy('r.created_at', 'desc').orderBy('r.id', 'desc').limit(page).offset(req.offset).execute()
      ).map((r) => ({ ...r, score: 0 }));
  const items = rows.slice(0, req.limit).map((r): SearchItem => {
    const shown = shownText(r, req.terms);
    const base = {
      kind: r.kind,
      documentId: r.doc_id,
      documentTitle: r.title,
      ...shown,
      score: Number(r.score),
    };
    if (r.kind !== 'comment') return base;
    return {
      ...base,
      threadId: r.thread_id!,
      commentId: r.comment_id!,
      createdAt: Number(r.created_at),
      author: { id: r.author_id ?? '', name: r.author_name ?? '' },
    };
  });
  return { items, more: rows.length > req.limit };
}

/** The snippet: the first of the row's texts the terms are found in (a comment: body, quote, tags, author). */
function shownText(
  r: { body: string; quote: string | null; tags: string | null; author_name: string | null },
  terms: readonly QueryTerm[],
): { snippet: string; highlights: Span[] } {
  const texts = [r.body, r.quote, readStoredTags(r.tags).join(', '), r.author_name].filter(
    (t): t is string => typeof t === 'string' && t !== '',
  );
  for (const t of terms.length ? texts : []) {
    const spans = highlightSpans(t, terms);
    if (spans.length) return snippet(t, spans);
  }
  return snippet(r.body, []);
}
