/** Reading and marking a user's notifications, following documents and per-user settings (docs/API.md). */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database, NotificationsTable } from '../storage/schema.js';

import type { NotificationItem, NotificationKind } from '@marginalia/shared';
export { NOTIFICATION_KINDS, type NotificationKind, type NotificationItem } from '@marginalia/shared';

export type EmailSetting = 'off' | 'instant' | 'digest';
export const EMAIL_SETTINGS: readonly EmailSetting[] = ['off', 'instant', 'digest'];

export function notificationItem(row: Selectable<NotificationsTable>, documentTitle: string): NotificationItem {
  return {
    id: row.id,
    kind: row.kind as NotificationKind,
    documentId: row.doc_id,
    documentTitle,
    threadId: row.thread_id,
    commentId: row.comment_id,
    actor: { id: row.actor_id, name: row.actor_name },
    excerpt: row.excerpt,
    createdAt: Number(row.created_at),
    readAt: row.read_at === null ? null : Number(row.read_at),
  };
}

/** An opaque position in a user's list, newest first: the last item's time and id. */
const encodeCursor = (createdAt: number, id: string) => Buffer.from(`${createdAt}:${id}`).toString('base64url');
export function decodeCursor(cursor: string): { createdAt: number; id: string } | null {
  const m = /^(\d+):(.+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m ? { createdAt: Number(m[1]), id: m[2]! } : null;
}

export async function listNotifications(
  db: Kysely<Database>,
  userId: string,
  opts: { unread: boolean; limit: number; after: { createdAt: number; id: string } | null },
): Promise<{ items: NotificationItem[]; unread: number; nextCursor: string | null }> {
  let q = db
    .selectFrom('notifications as n')
    .innerJoin('documents as d', 'd.id', 'n.doc_id')
    .selectAll('n')
    .select('d.title')
    .where('n.user_id', '=', userId);
  if (opts.unread) q = q.where('n.read_at', 'is', null);
  const after = opts.after;
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('n.created_at', '<', after.createdAt),
        eb.and([eb('n.created_at', '=', after.createdAt), eb('n.id', '<', after.id)]),
      ]),
    );
  const rows = await q
    .orderBy('n.created_at', 'desc')
    .orderBy('n.id', 'desc')
    .limit(opts.limit + 1)
    .execute();
  const page = rows.slice(0, opts.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => notificationItem(r, r.title)),
    unread: await unreadCount(db, userId),
    nextCursor: rows.length > opts.limit && last ? encodeCursor(Number(last.created_at), last.id) : null,
  };
}

export async function unreadCount(db: Kysely<Database>, userId: string): Promise<number> {
  const r = await db
    .selectFrom('notifications as n')
    .innerJoin('documents as d', 'd.id', 'n.doc_id')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('n.user_id', '=', userId)
    .where('n.read_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Marks the user's notifications read (the given ones, or all); returns how many stay unread. */
export async function markRead(
  db: Kysely<Database>,
  userId: string,
  which: { ids: string[] } | { all: true },
): Promise<number> {
  let q = db
    .updateTable('notifications')
    .set({ read_at: Date.now() })
    .where('user_id', '=', userId)
    .where('read_at', 'is', null);
  if ('ids' in which) {
    if (which.ids.length === 0) return unreadCount(db, userId);
    q = q.where('id', 'in', which.ids);
  }
  await q.execute();
  return unreadCount(db, userId);
}

export async function setFollowing(
  db: Kysely<Database>,
  docId: string,
  userId: string,
  following: boolean,
): Promise<void> {
  const value = following ? 1 : 0;
  await db
    .insertInto('follows')
    .values({ doc_id: docId, user_id: userId, following: value })
    .onConflict((oc) => oc.columns(['doc_id', 'user_id']).doUpdateSet({ following: value }))
    .execute();
}

/** Whether the user follows the document: as chosen, else whether they created it. */
export async function isFollowing(
  db: Kysely<Database>,
  docId: string,
  userId: string,
  createdBy: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('follows')
    .select('following')
    .where('doc_id', '=', docId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? Boolean(row.following) : createdBy === userId;
}

/** The document's followers: those who chose to, and its creator unless they chose not to. */
export async function followersOf(db: Kysely<Database>, docId: string, createdBy: string): Promise<string[]> {
  const rows = await db.selectFrom('follows').select(['user_id', 'following']).where('doc_id', '=', docId).execute();
  const out = new Set(rows.filter((r) => Boolean(r.following)).map((r) => r.user_id));
  if (!rows.some((r) => r.user_id === createdBy)) out.add(createdBy);
  return [...out];
}

export interface UserSettings {
  email: EmailSetting;
  emailAddress: string | null;
}

export async function userSettings(db: Kysely<Database>, userId: string): Promise<UserSettings> {
  const row = await db
    .selectFrom('user_settings')
    .select(['email', 'address'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return { email: (row?.email as EmailSetting | undefined) ?? 'off', emailAddress: row?.address ?? null };
}

/** Changes the given settings (the others stay). */
export async function setUserSettings(
  db: Kysely<Database>,
  userId: string,
  changes: Partial<UserSettings>,
): Promise<UserSettings> {
  const current = await userSettings(db, userId);
  const next = { ...current, ...changes };
  await db
    .insertInto('user_settings')
    .values({ user_id: userId, email: next.email, address: next.emailAddress, digest_sent_at: null })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ email: next.email, address: next.emailAddress }))
    .execute();
  return next;
}

export const newNotificationId = (): string => randomUUID();
