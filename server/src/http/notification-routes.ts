/**
 * Notifications over REST and Server-Sent Events, following documents, the user's settings, the people a comment
 * may mention, and a document's webhooks (docs/API.md).
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { sql } from 'kysely';
import type { Principal } from '../auth/tokens.js';
import type { NotificationBus } from '../notify/bus.js';
import {
  EMAIL_SETTINGS,
  decodeCursor,
  isFollowing,
  listNotifications,
  markRead,
  setFollowing,
  setUserSettings,
  userSettings,
} from '../notify/store.js';
import {
  WEBHOOK_EVENTS,
  WebhookTargetError,
  checkTarget,
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
} from '../notify/webhooks.js';
import { readersAmong } from '../mentions.js';
import { HttpError, badRequest, notFound, parseBody } from './errors.js';
import { documentAccess, principalOf, type AppContext } from './context.js';
import { route } from './api-spec.js';
import * as A from './api-answers.js';

/** What the notification routes need besides the app's context. */
export interface NotifyServices {
  bus: NotificationBus;
  /** Wakes the webhook sender (after hooks change). */
  kickWebhooks(): void;
  /** How often an open stream is sent a comment line, so proxies keep it open (ms). */
  keepAliveMs?: number;
}

const ReadBody = z.union([
  z.object({ ids: z.array(z.string().min(1).max(100)).max(1000) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);
const FollowBody = z.object({ following: z.boolean() });
const SettingsBody = z
  .object({
    email: z.enum(EMAIL_SETTINGS as ['off', 'instant', 'digest']).optional(),
    emailAddress: z.email('an e-mail address').max(320).nullable().optional(),
  })
  .refine((b) => b.email !== undefined || b.emailAddress !== undefined, 'give email or emailAddress');
const WebhookBody = z.object({
  url: z.string().min(1).max(2000),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length),
});
const ListQuery = z.object({
  unread: z.enum(['true', '1', 'false', '0']).optional(),
  limit: z.string().optional().describe('1–200, default 50'),
  cursor: z.string().optional().describe('the nextCursor of the previous page'),
});
const MentionableQuery = z.object({
  q: z.string().optional().describe('a prefix of the username or of a word of the name'),
  limit: z.string().optional().describe('1–200, default 20'),
});
const T = 'notifications';
const W = 'webhooks';

/** A signed-in account (guests have no inbox). */
function account(res: Response): Principal {
  const p = principalOf(res);
  if (p.guest) throw new HttpError(403, 'guests have no notifications; sign in with an account');
  return p;
}

export function notificationRoutes(ctx: AppContext, services: NotifyServices): Router {
  const r = Router();
  const db = ctx.storage.db;

  route(
    r,
    'get',
    '/notifications',
    {
      tag: T,
      summary: "The caller's notifications, newest first",
      access: 'account',
      query: ListQuery,
      responses: { 200: { description: 'a page', schema: A.NotificationPage } },
    },
    async (req: Request, res) => {
      const p = account(res);
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200)
        throw badRequest('limit is a whole number from 1 to 200');
      const cursor = typeof req.query.cursor === 'string' && req.query.cursor ? decodeCursor(req.query.cursor) : null;
      if (req.query.cursor && !cursor) throw badRequest('cursor is not one this server gave');
      const unread = req.query.unread === 'true' || req.query.unread === '1';
      res.json(await listNotifications(db, p.id, { unread, limit, after: cursor }));
    },
  );

  route(
    r,
    'post',
    '/notifications/read',
    {
      tag: T,
      summary: 'Mark notifications read',
      access: 'account',
      body: ReadBody,
      responses: { 200: { description: 'the count still unread', schema: A.UnreadCount } },
    },
    async (req, res) => {
      const p = account(res);
      const body = parseBody(ReadBody, req.body);
      res.json({ unread: await markRead(db, p.id, 'all' in body ? { all: true } : { ids: body.ids }) });
    },
  );

  route(
    r,
    'get',
    '/notifications/stream',
    {
      tag: T,
      summary: 'New notifications as Server-Sent Events (event: notification, data: the item as JSON)',
      access: 'account',
      responses: { 200: { description: 'an event stream', type: 'text/event-stream', schema: z.string() } },
    },
    (req, res) => {
      const p = account(res);
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.write(': connected\n\n');
      const stop = services.bus.subscribe(p.id, (item) => {
        res.write(`id: ${item.id}\nevent: notification\ndata: ${JSON.stringify(item)}\n\n`);
      });
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), services.keepAliveMs ?? 25_000);
      keepAlive.unref();
      const close = () => {
        clearInterval(keepAlive);
        stop();
      };
      req.on('close', close);
      res.on('error', close);
    },
  );

  route(
    r,
    'get',
    '/documents/:id/follow',
    {
      tag: T,
      summary: 'Whether the caller follows the document',
      access: 'viewer',
      responses: { 200: { description: 'following', schema: A.Following } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      const p = account(res);
      res.json({ following: await isFollowing(db, record.id, p.id, record.createdBy) });
    },
  );

  route(
    r,
    'put',
    '/documents/:id/follow',
    {
      tag: T,
      summary: 'Follow or unfollow the document',
      access: 'viewer',
      body: FollowBody,
      responses: { 200: { description: 'following', schema: A.Following } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      const p = account(res);
      const { following } = parseBody(FollowBody, req.body);
      await setFollowing(db, record.id, p.id, following);
      res.json({ following });
    },
  );

  route(
    r,
    'get',
    '/me/settings',
    {
      tag: T,
      summary: "The caller's notification settings",
      access: 'account',
      responses: { 200: { description: 'settings', schema: A.Settings } },
    },
    async (_req, res) => {
      res.json(await userSettings(db, account(res).id));
    },
  );

  route(
    r,
    'put',
    '/me/settings',
    {
      tag: T,
      summary: "Change the caller's notification settings",
      access: 'account',
      body: SettingsBody,
      responses: { 200: { description: 'settings', schema: A.Settings } },
    },
    async (req, res) => {
      const p = account(res);
      const body = parseBody(SettingsBody, req.body);
      res.json(
        await setUserSettings(db, p.id, {
          ...(body.email !== undefined ? { email: body.email } : {}),
          ...(body.emailAddress !== undefined ? { emailAddress: body.emailAddress } : {}),
        }),
      );
    },
  );

  /** People a comment on the document may mention, matching `q` (a prefix of the username or of a name). */
  route(
    r,
    'get',
    '/documents/:id/mentionable',
    {
      tag: T,
      summary: 'People a comment on the document may mention',
      access: 'viewer',
      query: MentionableQuery,
      responses: { 200: { description: 'people', schema: z.array(A.Mentioned) } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      const q = typeof req.query.q === 'string' ? req.query.q.trim().toLowerCase().slice(0, 64) : '';
      const limit = Math.min(Math.max(Number(req.query.limit) || 20, 1), 200);
      let users = db.selectFrom('users').select(['id', 'username', 'name']).orderBy('username').limit(200);
      if (record.guestRole === null)
        users = users.where((eb) =>
          eb.or([
            sql<boolean>`is_admin`,
            eb.exists(
              eb
                .selectFrom('memberships')
                .select('user_id')
                .whereRef('memberships.user_id', '=', 'users.id')
                .where('memberships.doc_id', '=', record.id),
            ),
          ]),
        );
      const rows = await users.execute();
      const readers = await readersAmong(
        db,
        record,
        rows.map((u) => u.id),
      );
      const matches = (u: { username: string; name: string }) =>
        !q ||
        u.username.startsWith(q) ||
        u.name
          .toLowerCase()
          .split(/\s+/)
          .some((w) => w.startsWith(q));
      res.json(rows.filter((u) => readers.has(u.id) && matches(u)).slice(0, limit));
    },
  );

  /**
   * For the document's owners only: accounts that cannot read it (not members, not administrators, not disabled;
   * none while it is open to guests, when every account may read it), so that a comment mentioning one can say so
   * and offer to share the document. Nobody else learns who has an account.
   */
  route(
    r,
    'get',
    '/documents/:id/shareable',
    {
      tag: T,
      summary: 'Accounts that cannot read the document (owners: to share it with someone a comment mentions)',
      access: 'owner',
      query: MentionableQuery,
      responses: { 200: { description: 'people', schema: z.array(A.Mentioned) } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id, 'owner');
      const q = typeof req.query.q === 'string' ? req.query.q.trim().toLowerCase().slice(0, 64) : '';
      const limit = Math.min(Math.max(Number(req.query.limit) || 20, 1), 200);
      if (record.guestRole !== null) {
        res.json([]);
        return;
      }
      const like = q.replace(/[\\%_]/g, (c) => `\\${c}`);
      let users = db
        .selectFrom('users')
        .select(['id', 'username', 'name'])
        .where(sql<boolean>`NOT users.disabled AND NOT users.is_admin`)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('memberships')
                .select('user_id')
                .whereRef('memberships.user_id', '=', 'users.id')
                .where('memberships.doc_id', '=', record.id),
            ),
          ),
        );
      if (q)
        users = users.where(
          sql<boolean>`(lower(username) LIKE ${like + '%'} ESCAPE '\\' OR lower(name) LIKE ${like + '%'} ESCAPE '\\' OR lower(name) LIKE ${'% ' + like + '%'} ESCAPE '\\')`,
        );
      res.json(await users.orderBy('username').limit(limit).execute());
    },
  );

  // Webhooks: the document's owners.
  route(
    r,
    'post',
    '/documents/:id/webhooks',
    {
      tag: W,
      summary: "Subscribe a URL to the document's events",
      access: 'owner',
      body: WebhookBody,
      responses: { 201: { description: 'the hook, with its secret (shown only here)', schema: A.NewWebhook } },
      errors: { 422: 'a URL that is not http(s), carries credentials, does not resolve, or is private' },
    },
    async (req, res) => {
      const { record, principal } = await documentAccess(ctx, res, req.params.id, 'owner');
      const body = parseBody(WebhookBody, req.body);
      try {
        await checkTarget(body.url, ctx.config.notify.webhookAllowPrivate);
      } catch (e) {
        if (e instanceof WebhookTargetError) throw new HttpError(422, e.message);
        throw e;
      }
      const afterSeq = await ctx.storage.log.lastSeq(record.id);
      const hook = await createWebhook(db, record.id, principal.id, body.url, [...new Set(body.events)], afterSeq);
      await ctx.storage.audit({
        docId: record.id,
        actorId: principal.id,
        action: 'webhook.created',
        detail: { id: hook.id, url: hook.url, events: hook.events },
      });
      res.status(201).json(hook);
    },
  );

  route(
    r,
    'get',
    '/documents/:id/webhooks',
    {
      tag: W,
      summary: "The document's webhooks",
      access: 'owner',
      responses: { 200: { description: 'hooks', schema: z.array(A.Webhook) } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id, 'owner');
      res.json(await listWebhooks(db, record.id));
    },
  );

  route(
    r,
    'delete',
    '/documents/:id/webhooks/:hookId',
    {
      tag: W,
      summary: 'Delete a webhook and its pending deliveries',
      access: 'owner',
      responses: { 204: { description: 'deleted' } },
      errors: { 404: 'no such document or webhook' },
    },
    async (req, res) => {
      const { record, principal } = await documentAccess(ctx, res, req.params.id, 'owner');
      if (!(await deleteWebhook(db, record.id, req.params.hookId))) throw notFound('no such webhook');
      await ctx.storage.audit({
        docId: record.id,
        actorId: principal.id,
        action: 'webhook.deleted',
        detail: { id: req.params.hookId },
      });
      res.status(204).end();
    },
  );

  route(
    r,
    'get',
    '/documents/:id/webhooks/:hookId/deliveries',
    {
      tag: W,
      summary: 'The last 100 deliveries of a webhook, newest first',
      access: 'owner',
      responses: { 200: { description: 'deliveries', schema: z.array(A.Delivery) } },
      errors: { 404: 'no such document or webhook' },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id, 'owner');
      const deliveries = await listDeliveries(db, record.id, req.params.hookId);
      if (!deliveries) throw notFound('no such webhook');
      res.json(deliveries);
    },
  );

  return r;
}
