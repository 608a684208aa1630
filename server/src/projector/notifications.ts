/**
 * Notifications, webhooks and e-mail, derived from the stored log (docs/API.md). For each projected batch it finds
 * what happened to the threads (changes.ts), decides who is told, and writes — in the projection transaction, so
 * exactly once per stored change, on one instance, across crashes — the notification rows, one webhook delivery per
 * subscribed hook (the outbox notify/webhooks.ts sends from) and the mail to send (notify/mail.ts). Once the
 * transaction has committed, the new notifications go to their users' live streams (notify/bus.ts).
 *
 * Who is told (never the actor, never someone who cannot read the document, at most once per change):
 * - `mention`: each user the comment mentions (for an edit: those it did not mention before);
 * - `reply`: the thread's earlier participants (its creator and the authors of the comments before this one),
 *   unless told of this comment by a mention;
 * - `resolved` / `reopened`: the thread's participants;
 * - `new-thread`: the document's followers (its creator unless they unfollowed, and whoever follows), unless told
 *   of it by a mention.
 */
import * as Y from 'yjs';
import { randomUUID } from 'node:crypto';
import {
  readThreadCached,
  sharedPrefix,
  THREADS,
  withMentionNames,
  type Comment,
  type Thread,
} from '@marginalia/shared';
import type { Insertable, Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { StoredDocuments } from './stored-documents.js';
import { readersAmong } from '../mentions.js';
import { followersOf, newNotificationId, notificationItem, type NotificationKind } from '../notify/store.js';
import type { Delivery, NotificationBus } from '../notify/bus.js';
import { webhookPayload, type WebhookEvent } from '../notify/webhooks.js';
import { BatchStructs, changesOf, documentNow, type DocumentChange } from './changes.js';
import type { ProjectedBatch, ProjectionConsumer } from './projector.js';

const EXCERPT = 200;

export interface NotificationsConsumer extends ProjectionConsumer {
  committed(batch: ProjectedBatch): void;
}

export interface NotificationsDeps {
  db: Kysely<Database>;
  /** Documents as stored, for those not loaded here. */
  stored: StoredDocuments;
  /** The document's loaded copy here, or null. */
  loadedDoc(docId: string): Promise<Y.Doc | null>;
  bus: NotificationBus;
  /** Told after a batch that queued webhook deliveries or mail committed. */
  onQueued?(what: { webhooks: boolean; mail: boolean }): void;
  /** Whether mail is configured (SMTP_URL): only then is mail queued. */
  mail: boolean;
  now?: () => number;
}

/** A change with what the document says about it, read while the document is at hand. */
interface Seen {
  change: DocumentChange;
  thread: Thread;
  comment: Comment | null;
  /** The thread's creator and the authors of the comments before this one (all of them for status changes). */
  participants: string[];
}

const excerptOf = (text: string): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT - 1)}…` : flat;
};

const KIND_OF: Partial<Record<DocumentChange['kind'], NotificationKind>> = {
  'thread.resolved': 'resolved',
  'thread.reopened': 'reopened',
};

export function notificationsConsumer(deps: NotificationsDeps): NotificationsConsumer {
  const now = deps.now ?? Date.now;
  const pending = new WeakMap<ProjectedBatch, { deliveries: Delivery[]; webhooks: boolean; mail: boolean }>();
  return {
    name: 'notifications',

    async prepare(batch) {
      const structs = new BatchStructs(batch);
      const seen = await readChanges(deps, batch.docId, structs);
      if (seen.length === 0) return async () => {};
      const doc = await deps.db
        .selectFrom('documents')
        .select(['id', 'title', 'guest_role', 'created_by'])
        .where('id', '=', batch.docId)
        .executeTakeFirst();
      if (!doc) return async () => {};
      const record = { id: doc.id, guestRole: doc.guest_role as never };
      const at = now();

      // Everyone who might be told, and what is known of them.
      const followers = seen.some((s) => s.change.kind === 'thread.created')
        ? await followersOf(deps.db, doc.id, doc.created_by)
        : [];
      const candidates = new Set<string>(followers);
      for (const s of seen) {
        for (const p of s.participants) candidates.add(p);
        for (const m of s.comment?.mentions ?? []) candidates.add(m);
        if (s.change.actor) candidates.add(s.change.actor);
      }
      const readers = await readersAmong(deps.db, record, [...candidates]);
      const people = await peopleOf(deps.db, [...candidates]);
      const editedIds = seen.filter((s) => s.change.kind === 'comment.edited').map((s) => s.change.commentId!);
      const toldOfMention = await mentionedBefore(deps.db, doc.id, editedIds);

      const rows: Database['notifications'][] = [];
      const wanted = (user: string, actor: string | null) => user !== actor && readers.has(user);
      for (const s of seen) {
        const { change, comment, thread } = s;
        const actorName =
          (change.actor && people.get(change.actor)?.name) ??
          (comment && change.actor === comment.authorId ? comment.authorName : null) ??
          'Someone';
        const told = new Set<string>();
        const tell = (user: string, kind: NotificationKind, excerpt: string) => {
          if (told.has(user) || !wanted(user, change.actor)) return;
          told.add(user);
          rows.push({
            id: newNotificationId(),
            user_id: user,
            kind,
            doc_id: doc.id,
            thread_id: change.threadId,
            comment_id: change.commentId,
            actor_id: change.actor,
            actor_name: actorName,
            excerpt,
            created_at: at,
            read_at: null,
          });
        };
        // Mentions as the comment shows them (`@Name`), not as typed.
        const mentioned = new Map<string, string>();
        for (const id of comment?.mentions ?? []) {
          const p = people.get(id);
          if (p) mentioned.set(p.username, p.name);
        }
        const body = excerptOf(withMentionNames(comment?.body ?? '', mentioned));
        switch (change.kind) {
          case 'thread.created':
          case 'comment.created':
          case 'comment.edited': {
            if (!comment || comment.deleted) break;
            const before = toldOfMention.get(comment.id) ?? new Set();
            for (const m of comment.mentions) if (!before.has(m)) tell(m, 'mention', body);
            if (change.kind === 'comment.created') for (const p of s.participants) tell(p, 'reply', body);
            if (change.kind === 'thread.created') for (const f of followers) tell(f, 'new-thread', body);
            break;
          }
          case 'thread.resolved':
          case 'thread.reopened':
            for (const p of s.participants) tell(p, KIND_OF[change.kind]!, excerptOf(thread.quote.exact));
            break;
          case 'comment.deleted':
            break;
        }
      }

      const deliveries = await webhookDeliveries(deps.db, doc, seen, people, at);
      const settings = deps.mail ? await mailSettings(deps.db, [...new Set(rows.map((r) => r.user_id))]) : new Map();
      const mails: Insertable<Database['email_outbox']>[] = rows.flatMap((r) => {
        const mode = settings.get(r.user_id);
        return mode === 'instant' || mode === 'digest'
          ? [
              {
                id: randomUUID(),
                user_id: r.user_id,
                notification_id: r.id,
                mode,
                status: 'pending',
                attempts: 0,
                next_attempt_at: at,
                claimed_until: null,
                last_error: null,
                created_at: at,
                sent_at: null,
              },
            ]
          : [];
      });
      pending.set(batch, {
        deliveries: rows.map((r) => ({ userId: r.user_id, item: notificationItem(r, doc.title) })),
        webhooks: deliveries.length > 0,
        mail: mails.length > 0,
      });
      return async (trx) => {
        for (const chunk of chunks(rows)) await trx.insertInto('notifications').values(chunk).execute();
        for (const chunk of chunks(deliveries)) await trx.insertInto('webhook_deliveries').values(chunk).execute();
        for (const chunk of chunks(mails)) await trx.insertInto('email_outbox').values(chunk).execute();
      };
    },

    committed(batch) {
      const done = pending.get(batch);
      pending.delete(batch);
      if (!done) return;
      if (done.deliveries.length) deps.bus.publish(done.deliveries);
      if (done.webhooks || done.mail) deps.onQueued?.({ webhooks: done.webhooks, mail: done.mail });
    },
  };
}

/** The batch's changes with the thread and comment each concerns, read from the document as it is now. */
async function readChanges(deps: NotificationsDeps, docId: string, structs: BatchStructs): Promise<Seen[]> {
  if (structs.batch.entries.length === 0) return [];
  const doc = await documentNow(structs, await deps.loadedDoc(docId), () => deps.stored.get(docId));
  const threads = doc.getMap<unknown>(THREADS);
  return changesOf(structs, doc).flatMap((change) => {
    const value = threads.get(change.threadId);
    const map = value instanceof Y.Map ? (value as Y.Map<unknown>) : null;
    const thread = map ? readThreadCached(doc, map) : null;
    if (!map || !thread) return [];
    const where = positionsOf(map, thread);
    const index = change.commentId ? (where.index.get(change.commentId) ?? -1) : -1;
    const comment = index >= 0 ? thread.comments[index]! : null;
    const status = change.kind === 'thread.resolved' || change.kind === 'thread.reopened';
    const before = status ? thread.comments.length : Math.max(0, index);
    const participants = [thread.createdBy];
    for (const [author, first] of where.firstBy)
      if (first < before && author !== thread.createdBy) participants.push(author);
    // A comment readers skip (malformed) is no news.
    if (change.commentId && !comment && change.kind !== 'thread.created') return [];
    return [{ change, thread, comment, participants }];
  });
}

/** Where in a thread record's comments each comment id is first found, and where each author first commented. */
interface Positions {
  comments: readonly Comment[];
  index: Map<string, number>;
  firstBy: Map<string, number>;
}

/**
 * Per thread map, the positions in its last record read here: a record whose comments are the last one's plus
 * new ones at the end (a busy thread's new replies) adds theirs instead of going through the whole thread again.
 */
const positions = new WeakMap<Y.Map<unknown>, Positions>();

function positionsOf(map: Y.Map<unknown>, thread: Thread): Positions {
  const known = positions.get(map);
  if (known?.comments === thread.comments) return known;
  const kept = known ? sharedPrefix(known.comments, thread.comments) : 0;
  const extended = known !== undefined && kept > 0 && kept === known.comments.length;
  const index = extended ? known.index : new Map<string, number>();
  const firstBy = extended ? known.firstBy : new Map<string, number>();
  for (let i = extended ? kept : 0; i < thread.comments.length; i++) {
    const c = thread.comments[i]!;
    if (!index.has(c.id)) index.set(c.id, i);
    if (!firstBy.has(c.authorId)) firstBy.set(c.authorId, i);
  }
  const made = { comments: thread.comments, index, firstBy };
  positions.set(map, made);
  return made;
}

/** Each user's display name and username, by id. */
type People = Map<string, { name: string; username: string }>;

async function peopleOf(db: Kysely<Database>, ids: string[]): Promise<People> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('users').select(['id', 'name', 'username']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, { name: r.name, username: r.username }]));
}

/** For each comment, the users already told of it by a mention. */
async function mentionedBefore(db: Kysely<Database>, docId: string, commentIds: string[]) {
  const out = new Map<string, Set<string>>();
  if (commentIds.length === 0) return out;
  const rows = await db
    .selectFrom('notifications')
    .select(['comment_id', 'user_id'])
    .where('doc_id', '=', docId)
    .where('kind', '=', 'mention')
    .where('comment_id', 'in', commentIds)
    .execute();
  for (const r of rows) out.set(r.comment_id!, (out.get(r.comment_id!) ?? new Set()).add(r.user_id));
  return out;
}

async function mailSettings(db: Kysely<Database>, users: string[]): Promise<Map<string, string>> {
  if (users.length === 0) return new Map();
  const rows = await db
    .selectFrom('user_settings')
    .select(['user_id', 'email'])
    .where('user_id', 'in', users)
    .execute();
  return new Map(rows.map((r) => [r.user_id, r.email]));
}

/** One delivery per change and hook of the document subscribed to its event type. */
async function webhookDeliveries(
  db: Kysely<Database>,
  doc: { id: string; title: string },
  seen: Seen[],
  people: People,
  at: number,
): Promise<Insertable<Database['webhook_deliveries']>[]> {
  const hooks = await db
    .selectFrom('webhooks')
    .select(['id', 'events', 'after_seq'])
    .where('doc_id', '=', doc.id)
    .execute();
  if (hooks.length === 0) return [];
  const out: Insertable<Database['webhook_deliveries']>[] = [];
  for (const s of seen) {
    const event = s.change.kind as WebhookEvent;
    const actorName = (s.change.actor && people.get(s.change.actor)?.name) ?? s.comment?.authorName ?? null;
    for (const hook of hooks) {
      // A hook is sent what was stored after it was made, also when a projection was under way then.
      if (hook.after_seq !== null && s.change.seq <= Number(hook.after_seq)) continue;
      const events = typeof hook.events === 'string' ? (JSON.parse(hook.events) as string[]) : hook.events;
      if (!events.includes(event)) continue;
      const id = `msg_${randomUUID()}`;
      out.push({
        id,
        hook_id: hook.id,
        event,
        payload: JSON.stringify(webhookPayload(event, at, doc, s, actorName)),
        status: 'pending',
        attempts: 0,
        next_attempt_at: at,
        claimed_until: null,
        response_status: null,
        last_error: null,
        created_at: at,
        delivered_at: null,
      });
    }
  }
  return out;
}

function chunks<T>(rows: T[], size = 100): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}
