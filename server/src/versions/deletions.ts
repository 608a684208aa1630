/**
 * Who deleted what. Yjs records no author for a deletion, so the write path notes, as each update arrives, which
 * live items it removes and who sent it (collab/deleted-ranges.ts); this extension keeps those notes in the
 * `deletions` table, and the diff (diff.ts) reads them to attribute deleted text.
 *
 * The notes are written after the updates are stored, a little later and in batches (typing deletes often): a
 * crash in between loses the attribution of those deletions (they read as by no one), never a change.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { Extension, StoredEvent } from '../collab/hooks.js';
import { log } from '../log.js';

interface Row {
  doc_id: string;
  client: number;
  clock: number;
  len: number;
  user_id: string;
  seq: number;
}

const FLUSH_MS = 200;
const ROWS_PER_INSERT = 500;

async function insertRows(db: Kysely<Database>, rows: Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT)
    await db
      .insertInto('deletions')
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .execute();
}

export class DeletionRecorder implements Extension {
  private buffered: Row[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly db: Kysely<Database>) {}

  onStored({ documentId, seqs, writes }: StoredEvent): void {
    writes.forEach((w, i) => {
      if (!w.author) return;
      for (const r of w.deleted)
        this.buffered.push({
          doc_id: documentId,
          client: r.client,
          clock: r.clock,
          len: r.len,
          user_id: w.author,
          seq: seqs[i] ?? 0,
        });
    });
    if (this.buffered.length && !this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes what is noted so far; resolves once written (or failed: logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rows = this.buffered;
    this.buffered = [];
    if (rows.length)
      this.writing = this.writing.then(() =>
        insertRows(this.db, rows).catch((e: Error) =>
          // A document deleted meanwhile has no rows to keep.
          log.warn('deletion attribution not recorded', { rows: rows.length, error: e.message }),
        ),
      );
    return this.writing;
  }

  /** The notes of a document being unloaded are written first (storage may close right after). */
  async beforeUnload(): Promise<void> {
    await this.flush();
  }
}

/** Who deleted each Yjs item of the document, as far as noted: the first deleter of the range holding it. */
export async function deleters(
  db: Kysely<Database>,
  docId: string,
): Promise<(client: number, clock: number) => string | undefined> {
  const rows = await db
    .selectFrom('deletions')
    .select(['client', 'clock', 'len', 'user_id', 'seq'])
    .where('doc_id', '=', docId)
    .orderBy('seq')
    .execute();
  const byClient = new Map<number, { clock: number; end: number; user: string }[]>();
  for (const r of rows) {
    const client = Number(r.client);
    const list = byClient.get(client) ?? [];
    list.push({ clock: Number(r.clock), end: Number(r.clock) + Number(r.len), user: r.user_id });
    byClient.set(client, list);
  }
  return (client, clock) => byClient.get(client)?.find((r) => r.clock <= clock && clock < r.end)?.user;
}
