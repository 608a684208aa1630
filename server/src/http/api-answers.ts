/**
 * The shapes of the JSON answers (docs/API.md), as zod schemas for the OpenAPI document. They document; the routes
 * do not validate their answers at run time (tests/server/openapi.test.ts checks real answers against some).
 */
import { z } from 'zod';
import { ROLES, THREAD_STATUSES, type Role as RoleName } from '@marginalia/shared';

export const Role = z.enum(ROLES as [RoleName, ...RoleName[]]);
const Time = z.number().describe('epoch milliseconds');
const Id = z.string();

export const User = z.object({
  id: Id,
  username: z.string(),
  name: z.string(),
  guest: z.boolean(),
  admin: z.boolean(),
});
export const Session = z.object({ token: z.string().optional(), expiresAt: Time, user: User });
export const Me = z.object({ user: User, expiresAt: Time });
export const CreatedUser = z.object({ id: Id, username: z.string(), name: z.string() });
export const UserState = CreatedUser.extend({ disabled: z.boolean() });
export const Created = z.object({ id: Id });

export const Health = z.object({
  ok: z.boolean(),
  storage: z.enum(['sqlite', 'postgres']),
  storageOk: z.boolean(),
  redis: z.enum(['ok', 'down', 'off']),
  signingKey: z.string(),
  documentsLoaded: z.number().int(),
});
export const Ready = z.object({
  ready: z.boolean(),
  draining: z.boolean(),
  storage: z.enum(['ok', 'down', 'unchecked']),
  redis: z.enum(['ok', 'down', 'off']),
});
export const ClientConfig = z.object({
  guests: z.boolean(),
  version: z.string(),
  storage: z.enum(['sqlite', 'postgres']),
});

export const Document = z.object({
  id: Id,
  title: z.string(),
  role: Role,
  guestRole: Role.nullable(),
  createdBy: z.string(),
  createdAt: Time,
  updatedAt: Time,
  threadCount: z.number().int(),
  commentCount: z.number().int(),
  unreadComments: z.number().int(),
  lastSeenAt: Time.nullable(),
});
export const Seen = z.object({ lastSeenAt: Time.nullable() });
export const Member = z.object({ id: Id, username: z.string(), name: z.string(), role: Role });
export const AuditRecord = z.object({
  id: z.number().int(),
  docId: z.string().nullable(),
  actorId: z.string().nullable(),
  action: z.string(),
  detail: z.record(z.string(), z.unknown()),
  at: Time,
});

const Quote = z.object({ exact: z.string(), prefix: z.string(), suffix: z.string() });
export const Comment = z.object({
  id: Id,
  authorId: z.string(),
  authorName: z.string(),
  body: z.string(),
  createdAt: Time,
  editedAt: Time.nullable(),
  deleted: z.boolean(),
  mentions: z.array(z.string()),
});
const ThreadBase = {
  id: Id,
  status: z.enum(THREAD_STATUSES),
  tags: z.array(z.string()),
  quote: Quote,
  createdBy: z.string(),
  createdAt: Time,
  resolvedBy: z.string().nullable(),
  resolvedAt: Time.nullable(),
  comments: z.array(Comment),
};
export const Thread = z.object({
  ...ThreadBase,
  start: z.number().int().nullable(),
  end: z.number().int().nullable(),
  anchorState: z.enum(['exact', 'moved', 'orphan']),
});
/** A thread as stored (PATCH answers it without resolving its anchor). */
export const PlainThread = z.object({ ...ThreadBase, anchor: z.object({ start: z.string(), end: z.string() }) });
export const Mentioned = z.object({ id: Id, username: z.string(), name: z.string() });
export const CreatedThread = z.object({ id: Id, commentId: Id, mentions: z.array(Mentioned) });
export const CreatedComment = z.object({ id: Id, mentions: z.array(Mentioned) });
export const TagDefinition = z.object({ color: z.string(), description: z.string().optional() });
export const Vocabulary = z.record(z.string(), TagDefinition);
export const NamedTag = TagDefinition.extend({ name: z.string() });

export const Version = z.object({
  id: Id,
  name: z.string().nullable(),
  createdAt: Time,
  createdBy: z.string().nullable(),
  createdByName: z.string().nullable(),
  automatic: z.boolean(),
});
export const Diff = z.object({
  article: z.array(
    z.object({ op: z.enum(['insert', 'delete']), text: z.string(), at: z.number().int(), by: z.string().nullable() }),
  ),
  threads: z.array(
    z.object({
      op: z.enum(['created', 'resolved', 'reopened', 'deleted', 'commented']),
      threadId: z.string(),
      commentId: z.string().optional(),
      by: z.string().nullable(),
    }),
  ),
  authors: z.array(
    z.object({ id: z.string(), name: z.string(), inserted: z.number().int(), deleted: z.number().int() }),
  ),
});
const Anchors = z.object({ exact: z.number().int(), moved: z.number().int(), orphaned: z.number().int() });
export const Revision = z.object({
  version: z.string().nullable(),
  anchors: Anchors,
  dryRun: z.literal(true).optional(),
});

export const ImportResult = z.object({
  imported: z.number().int(),
  orphaned: z.array(z.object({ id: z.string(), exact: z.string(), reason: z.string() })),
  skipped: z.number().int(),
  comments: z.number().int(),
  rejected: z.array(z.object({ id: z.string(), reason: z.string() })),
  droppedTags: z.array(z.string()),
});

export const Notification = z.object({
  id: Id,
  kind: z.enum(['mention', 'reply', 'resolved', 'reopened', 'new-thread']),
  documentId: z.string(),
  documentTitle: z.string(),
  threadId: z.string(),
  commentId: z.string().nullable(),
  actor: z.object({ id: z.string().nullable(), name: z.string() }),
  excerpt: z.string(),
  createdAt: Time,
  readAt: Time.nullable(),
});
export const NotificationPage = z.object({
  items: z.array(Notification),
  unread: z.number().int(),
  nextCursor: z.string().nullable(),
});
export const UnreadCount = z.object({ unread: z.number().int() });
export const Following = z.object({ following: z.boolean() });
export const Settings = z.object({ email: z.enum(['off', 'instant', 'digest']), emailAddress: z.string().nullable() });
export const Webhook = z.object({ id: Id, url: z.string(), events: z.array(z.string()), createdAt: Time });
export const NewWebhook = Webhook.extend({ secret: z.string().describe('whsec_<base64 key>; shown only here') });
export const Delivery = z.object({
  id: Id,
  event: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  responseStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: Time,
  nextAttemptAt: Time.nullable(),
  deliveredAt: Time.nullable(),
});

export const SearchItem = z.object({
  kind: z.enum(['comment', 'article', 'title']),
  documentId: z.string(),
  documentTitle: z.string(),
  threadId: z.string().optional(),
  commentId: z.string().optional(),
  snippet: z.string(),
  highlights: z.array(z.tuple([z.number().int(), z.number().int()])),
  score: z.number(),
  createdAt: Time.optional(),
  author: z.object({ id: z.string(), name: z.string() }).optional(),
});
export const SearchPage = z.object({ items: z.array(SearchItem), nextCursor: z.string().nullable() });
