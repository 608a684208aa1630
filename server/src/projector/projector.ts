/**
 * The log projector: derives work from what was STORED, whoever wrote it (a browser, a stock Yjs client, REST, the
 * CLI, an import, another instance). It reads each document's log in sequence order from a durable cursor and
 * hands each batch of entries, with the author of each, to the registered consumers. Their database effects
 * commit in the same transaction as the cursor's advance, so each entry's effects exist exactly once, also when
 * the process is killed at any moment (the transaction either committed both or neither).
 *
 * One cursor per document, shared by all consumers (`projection_cursors`): a batch's effects are one transaction
 * for every consumer, compaction needs one number per document to know what it may delete, and a consumer added
 * later starts from the present (the past may be folded into a snapshot already). The price: a consumer that
 * fails holds back the others for that document; the step is retried (after `retryMs`) and the failure logged.
 *
 * One step for a document:
 * 1. reads the cursor and up to `batchSize` entries after it (outside any transaction), no further than the
 *    document's copy loaded here has applied when it holds some of them (`loadedThrough`);
 * 2. lets each consumer prepare (reads, CPU) outside the transaction, one at a time, with the event loop let
 *    through before the heavy ones: on SQLite a transaction holds the one connection, and with it every document's
 *    writes;
 * 3. in one transaction: on PostgreSQL takes the document's advisory lock (`pg_try_advisory_xact_lock`; if another
 *    instance holds it, that instance is projecting the document and this one stops), checks the cursor is still
 *    where step 1 read it (else someone projected meanwhile: start over), runs every consumer's effects, advances
 *    the cursor, and deletes the entries compaction kept only for the projector (see below).
 *
 * Compaction and the projector: compaction folds entries into the snapshot but deletes only those at or below the
 * document's cursor (sqlite-log.ts, postgres-log.ts); the projector deletes the rest once it has projected them.
 * `loadState` and `updatesAfter` never return entries the snapshot covers, so such kept entries change nothing
 * for readers of the document.
 *
 * It runs when woken after a stored batch (`wake`, at most once per `delayMs` per document, so a busy document
 * costs one transaction per interval, not one per update), and catches up on every document with unprojected
 * entries at start and every `catchUpMs`: documents written while no instance ran, or by the CLI, or whose
 * projection failed. One document at a time per instance, one batch at a time: a document with more than a batch
 * to project goes to the back of the queue after each, so the documents waiting take turns.
 */
import * as Y from 'yjs';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { DocumentLog, EngineKind } from '../storage/types.js';
import { log } from '../log.js';

/** One stored log entry, with who wrote it. */
export interface ProjectedEntry {
  seq: number;
  update: Uint8Array;
  /**
   * The owners of the Yjs client ids the update writes structs under (from the client-id claims; server-side
   * writes are owned by the server's writer id). Empty for an update that only deletes: a deletion names the
   * deleted items, not who deleted them.
   */
  authors: string[];
}

export interface ProjectedBatch {
  docId: string;
  /** The cursor the batch projects from: its effects commit only while the document's cursor is still this. */
  after: number;
  /** In sequence order, consecutive. */
  entries: ProjectedEntry[];
}

/** A consumer's database effects for a batch, run in the projection transaction. */
export type Effects = (trx: Transaction<Database>) => Promise<void>;

export interface ProjectionConsumer {
  readonly name: string;
  /**
   * Prepares a batch's effects: reading and computing happen here, outside the transaction (it may read the
   * document log or the database). The returned effects run inside it and should only write: they must not call
   * the document log (on SQLite the log waits for the transaction to end). Throwing (here or in the effects)
   * fails the whole step: nothing is committed, and the batch is projected again later.
   */
  prepare(batch: ProjectedBatch): Promise<Effects>;
  /**
   * Called once the batch's effects have committed (not when the step failed or another instance projected it):
   * where a consumer tells the world outside the database (live streams, senders).
   */
  committed?(batch: ProjectedBatch): void;
  /**
   * Its preparation costs milliseconds of CPU (the search rows): the event loop is let through before it. The others
   * prepare in the step's first slice, so that what they read of the document's settings (who follows it, its
   * webhooks) is read as close to the batch's storing as the projection delay allows: with no delay, before any
   * request that came after the change is served.
   */
  readonly heavy?: boolean;
}

export interface ProjectorOptions {
  db: Kysely<Database>;
  engine: EngineKind;
  consumers: ProjectionConsumer[];
  /** Least time between two projections of one document when woken (default 1000 ms). */
  delayMs?: number;
  /** How often every document is checked for unprojected entries (default 30 s). */
  catchUpMs?: number;
  /** Entries per step (default 1000). */
  batchSize?: number;
  /** Wait before retrying a document whose step failed (default 5 s). */
  retryMs?: number;
  /**
   * The last log entry the document's copy loaded here has applied (null: not loaded here). A step projects no
   * further than that when it can (the rest at the next wake, `delayMs` later): an entry is committed to the log a
   * moment before the loaded copy applies it, and consumers read the document now from the loaded copy only if it
   * holds the whole batch — else they build it from storage, which costs as much again as applying the entries.
   */
  loadedThrough?: (docId: string) => Promise<number | null>;
}

/** Lets the event loop run what is waiting (I/O, timers) before going on. */
const letThrough = () => new Promise<void>((resolve) => setImmediate(resolve));

/** How soon a document another instance was projecting is looked at again (at the least). */
const ELSEWHERE_RETRY_MS = 100;

export class Projector {
  private readonly db: Kysely<Database>;
  private readonly delayMs: number;
  private readonly batchSize: number;
  private readonly retryMs: number;
  /** Documents woken and waiting for their turn, with the timer that gives it. */
  private readonly due = new Map<string, NodeJS.Timeout | null>();
  /** Documents whose turn came, in order. */
  private readonly queue: string[] = [];
  private running: Promise<void> | null = null;
  private readonly catchUpTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: ProjectorOptions) {
    this.db = opts.db;
    this.delayMs = opts.delayMs ?? 1000;
    this.batchSize = opts.batchSize ?? 1000;
    this.retryMs = opts.retryMs ?? 5000;
    this.catchUpTimer = setInterval(() => void this.catchUp(), opts.catchUpMs ?? 30_000);
    this.catchUpTimer.unref();
  }

  /** A batch of the document was stored: project it within `delayMs`. */
  wake(docId: string, delayMs = this.delayMs): void {
    if (this.closed || this.due.has(docId)) return;
    if (delayMs <= 0) {
      this.due.set(docId, null);
      this.enqueue(docId);
      return;
    }
    const timer = setTimeout(() => this.enqueue(docId), delayMs);
    timer.unref();
    this.due.set(docId, timer);
  }

  /** Projects the document now (not when its wake comes due); resolves once done, or failed (then logged). */
  async projectNow(docId: string): Promise<void> {
    const timer = this.due.get(docId);
    if (timer) clearTimeout(timer);
    this.due.delete(docId);
    this.wake(docId, 0);
    await this.idle();
  }

  /**
   * The log, with compaction preceded by a projection of the document: compaction deletes only projected
   * entries, so without it the log would shrink only at the compaction after the projection came due.
   */
  projectingBeforeCompaction(log: DocumentLog): DocumentLog {
    return {
      ...log,
      compact: async (docId, fold) => {
        await this.projectNow(docId);
        return log.compact(docId, fold);
      },
    };
  }

  /** Queues every document with entries after its cursor. Resolves once they are all projected (or failed). */
  async catchUp(): Promise<void> {
    if (this.closed) return;
    let ids: string[];
    try {
      ids = (
        await this.db
          .selectFrom('documents as d')
          .leftJoin('projection_cursors as c', 'c.doc_id', 'd.id')
          .select('d.id')
          .where(({ exists, selectFrom }) =>
            exists(
              selectFrom('updates as u')
                .select('u.seq')
                .whereRef('u.doc_id', '=', 'd.id')
                .where('u.seq', '>', sql<number>`coalesce(c.seq, 0)`),
            ),
          )
          .execute()
      ).map((r) => r.id);
    } catch (e) {
      log.error('projection catch-up failed', { error: (e as Error).message });
      return;
    }
    for (const id of ids) this.wake(id, 0);
    await this.idle();
  }

  /** Resolves once no document is being projected or waiting its turn (timers not yet due aside). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops waking and catching up, and waits for the step under way. What is left is projected at the next start. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.catchUpTimer);
    for (const timer of this.due.values()) if (timer) clearTimeout(timer);
    this.due.clear();
    this.queue.length = 0;
    await this.idle();
  }

  private enqueue(docId: string): void {
    if (this.closed) return;
    this.queue.push(docId);
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    for (let docId = this.queue.shift(); docId !== undefined; docId = this.queue.shift()) {
      // Wakes from now on are for entries stored after this projection starts reading.
      this.due.delete(docId);
      try {
        const outcome = await this.step(docId);
        // The instance projecting it may have read the log before this instance's latest entries were stored:
        // look again a little later, rather than leave them to the catch-up.
        if (outcome === 'elsewhere') this.wake(docId, Math.max(this.delayMs, ELSEWHERE_RETRY_MS));
        if (outcome === 'more') this.again(docId);
      } catch (e) {
        log.error('projection failed; retried later', { doc: docId, error: (e as Error).message });
        this.wake(docId, this.retryMs);
      }
    }
  }

  /**
   * A document with more entries to project after this batch: its next batch comes after the documents already
   * waiting, so that a document written faster than it is projected does not hold back every other document's
   * (their index and counts) for as long as it is busy.
   */
  private again(docId: string): void {
    const timer = this.due.get(docId);
    if (timer === null) return; // queued already
    if (timer) clearTimeout(timer);
    this.due.set(docId, null);
    this.queue.push(docId);
  }

  /** One batch: 'more' if there may be more after it, 'done' if none is left, 'elsewhere' if another instance has it. */
  async step(docId: string): Promise<'more' | 'done' | 'elsewhere'> {
    const cursor = await this.cursorOf(this.db, docId);
    let rows = await this.db
      .selectFrom('updates')
      .select(['seq', 'data'])
      .where('doc_id', '=', docId)
      .where('seq', '>', cursor)
      .orderBy('seq')
      .limit(this.batchSize)
      .execute();
    if (rows.length === 0) return 'done';
    const held = rows.length && this.opts.loadedThrough ? await this.opts.loadedThrough(docId) : null;
    const full = rows.length === this.batchSize;
    let trimmed = false;
    if (held !== null && held >= rows[0]!.seq && held < rows.at(-1)!.seq) {
      rows = rows.filter((r) => r.seq <= held);
      trimmed = true;
    }
    if (rows[0]!.seq !== cursor + 1) {
      // Only a writer that does not know the cursor (an older version of the server still running) deletes
      // entries before the projector has seen them.
      log.warn('projection skips entries deleted before they were projected', {
        doc: docId,
        from: cursor + 1,
        to: rows[0]!.seq - 1,
      });
    }
    const batch: ProjectedBatch = { docId, after: cursor, entries: await this.withAuthors(docId, rows) };
    // One consumer at a time, with the event loop let through before the heavy ones and before the transaction: a
    // step's parts are milliseconds each, and run back to back they would hold live delivery for their sum.
    const effects: Effects[] = [];
    for (const c of this.opts.consumers) {
      if (c.heavy) await letThrough();
      effects.push(await c.prepare(batch));
    }
    await letThrough();
    const last = rows.at(-1)!.seq;
    const outcome = await this.db.transaction().execute(async (trx) => {
      if (this.opts.engine === 'postgres') {
        const { rows: lock } = await sql<{ ok: boolean }>`
          SELECT pg_try_advisory_xact_lock(hashtext(${'marginalia.project:' + docId})) AS ok`.execute(trx);
        if (!lock[0]!.ok) return 'elsewhere' as const;
      }
      if ((await this.cursorOf(trx, docId)) !== cursor) return 'again' as const;
      for (const apply of effects) await apply(trx);
      await trx
        .insertInto('projection_cursors')
        .values({ doc_id: docId, seq: last })
        .onConflict((oc) => oc.column('doc_id').doUpdateSet({ seq: last }))
        .execute();
      // Entries compaction folded but kept for the projector.
      await trx
        .deleteFrom('updates')
        .where('doc_id', '=', docId)
        .where('seq', '<=', last)
        .where('seq', '<=', (eb) => eb.selectFrom('snapshots').select('upto_seq').where('doc_id', '=', docId))
        .execute();
      return 'projected' as const;
    });
    if (outcome === 'elsewhere') return 'elsewhere';
    if (outcome === 'again') return 'more';
    for (const c of this.opts.consumers) {
      try {
        c.committed?.(batch);
      } catch (e) {
        log.error('a consumer failed after its batch committed', { consumer: c.name, error: (e as Error).message });
      }
    }
    if (trimmed) {
      // The entries the loaded copy had not applied yet: at the next wake (their own storing woke it, unless that
      // happened before this step began).
      this.wake(docId);
      return 'done';
    }
    return full ? 'more' : 'done';
  }

  private async cursorOf(db: Kysely<Database>, docId: string): Promise<number> {
    const row = await db.selectFrom('projection_cursors').select('seq').where('doc_id', '=', docId).executeTakeFirst();
    return row?.seq ?? 0;
  }

  /** Each entry with the owners of the client ids it writes structs under. */
  private async withAuthors(docId: string, rows: { seq: number; data: Uint8Array }[]): Promise<ProjectedEntry[]> {
    const clientsOf = rows.map((r) => [...Y.parseUpdateMeta(r.data).from.keys()]);
    const all = [...new Set(clientsOf.flat())];
    const owners = new Map<number, string>();
    if (all.length) {
      const claims = await this.db
        .selectFrom('client_ids')
        .select(['client_id', 'user_id'])
        .where('doc_id', '=', docId)
        .where('client_id', 'in', all)
        .execute();
      for (const c of claims) owners.set(Number(c.client_id), c.user_id);
    }
    return rows.map((r, i) => ({
      seq: r.seq,
      update: r.data,
      authors: [...new Set(clientsOf[i]!.flatMap((c) => owners.get(c) ?? []))],
    }));
  }
}
