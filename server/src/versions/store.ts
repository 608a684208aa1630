/**
 * The versions of documents (table `versions`, migration 0006): each row keeps the document's full state as one
 * Yjs update, so compaction of the log never touches a version, and reading one never needs the log; and beside it
 * (migration 0009) its read copy (read-copy.ts), what reading it takes, so reading never builds the full state. Automatic
 * versions are recorded by the projector (projector/versions.ts) and before every revision or restore; named ones
 * by users. Retention removes automatic versions only.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { ReadCopy } from './read-copy.js';

export interface VersionInfo {
  id: string;
  docId: string;
  name: string | null;
  createdAt: number;
  createdBy: string | null;
  automatic: boolean;
  uptoSeq: number;
}

export interface NewVersion {
  docId: string;
  name: string | null;
  createdBy: string | null;
  automatic: boolean;
  uptoSeq: number;
  state: Uint8Array;
  /** The read copy of that state (read-copy.ts); absent or null leaves it to be made on first read. */
  readCopy?: ReadCopy | null;
  /** Default: now. */
  createdAt?: number;
}

type Db = Kysely<Database> | Transaction<Database>;

const INFO_COLUMNS = ['id', 'doc_id', 'name', 'created_at', 'created_by', 'automatic', 'upto_seq'] as const;

const toInfo = (r: {
  id: string;
  doc_id: string;
  name: string | null;
  created_at: number;
  created_by: string | null;
  automatic: number | boolean;
  upto_seq: number;
}): VersionInfo => ({
  id: r.id,
  docId: r.doc_id,
  name: r.name,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
  automatic: r.automatic === true || r.automatic === 1,
  uptoSeq: Number(r.upto_seq),
});

/** Writes a version; resolves with its id. */
export async function insertVersion(db: Db, v: NewVersion): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('versions')
    .values({
      id,
      doc_id: v.docId,
      name: v.name,
      created_at: v.createdAt ?? Date.now(),
      created_by: v.createdBy,
      automatic: v.automatic ? 1 : 0,
      upto_seq: v.uptoSeq,
      state: v.state,
      read_article: v.readCopy?.article ?? null,
      read_threads: v.readCopy?.threads ?? null,
    })
    .execute();
  return id;
}

/** A document's versions, newest first (without their states). */
export async function listVersions(db: Db, docId: string): Promise<VersionInfo[]> {
  const rows = await db
    .selectFrom('versions')
    .select(INFO_COLUMNS)
    .where('doc_id', '=', docId)
    .orderBy('created_at', 'desc')
    .orderBy('upto_seq', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toInfo);
}

/** One version of a document, with its state; null if the document has no such version. */
export async function getVersion(
  db: Db,
  docId: string,
  id: string,
): Promise<(VersionInfo & { state: Uint8Array }) | null> {
  const r = await db
    .selectFrom('versions')
    .select([...INFO_COLUMNS, 'state'])
    .where('doc_id', '=', docId)
    .where('id', '=', id)
    .executeTakeFirst();
  return r ? { ...toInfo(r), state: r.state } : null;
}

/** One version's read copy; `copy` null: the version is known but has none yet. Null if there is no such version. */
export async function getReadCopy(
  db: Db,
  docId: string,
  id: string,
): Promise<{ info: VersionInfo; copy: ReadCopy | null } | null> {
  const r = await db
    .selectFrom('versions')
    .select([...INFO_COLUMNS, 'read_article', 'read_threads'])
    .where('doc_id', '=', docId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!r) return null;
  const copy =
    r.read_article !== null && r.read_threads !== null ? { article: r.read_article, threads: r.read_threads } : null;
  return { info: toInfo(r), copy };
}

/** Stores the read copy of a version recorded without one (the version's state is never changed). */
export async function setReadCopy(db: Db, docId: string, id: string, copy: ReadCopy): Promise<void> {
  await db
    .updateTable('versions')
    .set({ read_article: copy.article, read_threads: copy.threads })
    .where('doc_id', '=', docId)
    .where('id', '=', id)
    .execute();
}

/** When the document's newest automatic version was recorded, or null. */
export async function lastAutomaticAt(db: Db, docId: string): Promise<number | null> {
  const r = await db
    .selectFrom('versions')
    .select((eb) => eb.fn.max('created_at').as('at'))
    .where('doc_id', '=', docId)
    .where('automatic', '=', 1)
    .executeTakeFirst();
  return r?.at === null || r?.at === undefined ? null : Number(r.at);
}

/** Deletes the document's automatic versions recorded before `before` (named ones are kept forever). */
export async function pruneAutomatic(db: Db, docId: string, before: number): Promise<number> {
  const r = await db
    .deleteFrom('versions')
    .where('doc_id', '=', docId)
    .where('automatic', '=', 1)
    .where('created_at', '<', before)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
