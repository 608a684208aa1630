/**
 * Mentions: `@username` in a comment's body names a user who may read the document (a member, an admin, or —
 * on a document open to guests — any account). REST fills a comment's `mentions` from them; names of nobody
 * with access stay plain text.
 */
import type { Kysely } from 'kysely';
import { mentionTokens } from '@marginalia/shared';
import type { Database } from './storage/schema.js';
import type { DocumentRecord } from './storage/types.js';

export interface MentionedUser {
  id: string;
  username: string;
  name: string;
}

export { mentionTokens };

/** The accounts among `userIds` that may read the document (guests' ids are no accounts: they are left out). */
export async function readersAmong(
  db: Kysely<Database>,
  doc: Pick<DocumentRecord, 'id' | 'guestRole'>,
  userIds: readonly string[],
): Promise<Set<string>> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('users as u')
    .leftJoin('memberships as m', (j) => j.onRef('m.user_id', '=', 'u.id').on('m.doc_id', '=', doc.id))
    .select(['u.id', 'u.is_admin', 'm.role'])
    .where('u.id', 'in', ids)
    .execute();
  const open = doc.guestRole !== null;
  return new Set(rows.filter((r) => open || Boolean(r.is_admin) || r.role !== null).map((r) => r.id));
}

/** The users a body mentions who may read the document, in the order they are first named. */
export async function resolveMentions(
  db: Kysely<Database>,
  doc: Pick<DocumentRecord, 'id' | 'guestRole'>,
  body: string,
): Promise<MentionedUser[]> {
  const names = mentionTokens(body);
  if (names.length === 0) return [];
  const users = await db
    .selectFrom('users')
    .select(['id', 'username', 'name'])
    .where('username', 'in', names)
    .execute();
  const readers = await readersAmong(
    db,
    doc,
    users.map((u) => u.id),
  );
  const byName = new Map(users.filter((u) => readers.has(u.id)).map((u) => [u.username, u]));
  return names.flatMap((n) => {
    const u = byName.get(n);
    return u ? [{ id: u.id, username: u.username, name: u.name }] : [];
  });
}
