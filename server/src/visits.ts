/**
 * What is new to a reader: when each user last viewed each document (`document_views`, set by
 * POST /api/documents/:id/seen) and how many comments by others the document gained since (counted from the
 * search index, which holds every live comment with its author and time). Guests have no visits kept.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './storage/schema.js';

export interface Visit {
  lastSeenAt: number | null;
  unreadComments: number;
}

/** Per document the user has comments by others in: the unread count and the last visit (documents absent: 0, never). */
export async function visitsOf(db: Kysely<Database>, userId: string): Promise<Map<string, Visit>> {
  const [counts, views] = await Promise.all([
    db
      .selectFrom('search_rows as r')
      .leftJoin('document_views as v', (j) => j.onRef('v.doc_id', '=', 'r.doc_id').on('v.user_id', '=', userId))
      .select(['r.doc_id', sql<number>`count(*)`.as('n')])
      .where('r.kind', '=', 'comment')
      .where((eb) => eb.or([eb('r.author_id', 'is', null), eb('r.author_id', '<>', userId)]))
      .where((eb) => eb.or([eb('v.seen_at', 'is', null), eb('r.created_at', '>', eb.ref('v.seen_at'))]))
      .groupBy('r.doc_id')
      .execute(),
    db.selectFrom('document_views').select(['doc_id', 'seen_at']).where('user_id', '=', userId).execute(),
  ]);
  const out = new Map<string, Visit>();
  for (const v of views) out.set(v.doc_id, { lastSeenAt: Number(v.seen_at), unreadComments: 0 });
  for (const c of counts) {
    const visit = out.get(c.doc_id) ?? { lastSeenAt: null, unreadComments: 0 };
    visit.unreadComments = Number(c.n);
    out.set(c.doc_id, visit);
  }
  return out;
}

/**
 * Records that the user has viewed the document now. The time kept is never before the newest comment already
 * indexed, so a comment stamped ahead by its writer's clock does not stay new after it was seen.
 */
export async function markSeen(db: Kysely<Database>, userId: string, docId: string): Promise<number> {
  const newest = await db
    .selectFrom('search_rows')
    .select((eb) => eb.fn.max('created_at').as('at'))
    .where('doc_id', '=', docId)
    .where('kind', '=', 'comment')
    .executeTakeFirst();
  const at = Math.max(Date.now(), Number(newest?.at ?? 0));
  await db
    .insertInto('document_views')
    .values({ user_id: userId, doc_id: docId, seen_at: at })
    .onConflict((oc) => oc.columns(['user_id', 'doc_id']).doUpdateSet({ seen_at: at }))
    .execute();
  return at;
}
