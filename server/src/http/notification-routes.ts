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

/** A signed-in account (guests have no inbox). */
function account(res: Response): Principal {
  const p = principalOf(res);
  if (p.guest) throw new HttpError(403, 'guests have no notifications; sign in with an account');
  return p;
}

export function notificationRoutes(ctx: AppContext, services: NotifyServices): Router {
  const r = Router();
  const db = ctx.storage.db;

  r.get('/notifications', async (req: Request, res) => {
    const p = account(res);
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw badRequest('limit is a whole number from 1 to 200');
    const cursor = typeof req.query.cursor === 'string' && req.query.cursor ? decodeCursor(req.query.cursor) : null;
    if (req.query.cursor && !cursor) throw badRequest('cursor is not one this server gave');
    const unread = req.query.unread === 'true' || req.query.unread === '1';
    res.json(await listNotifications(db, p.id, { unread, limit, after: cursor }));
  });

  r.post('/notifications/read', async (req, res) => {
    const p = account(res);
    const body = parseBody(ReadBody, req.body);
    res.json({ unread: await markRead(db, p.id, 'all' in body ? { all: true } : { ids: body.ids }) });
  });

  r.get('/notifications/stream', (req, res) => {
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
  });

  r.get('/documents/:id/follow', async (req, res) => {
    const { record } = await documentAccess(ctx, res, req.params.id);
    const p = account(res);
    res.json({ following: await isFollowing(db, record.id, p.id, record.createdBy) });
  });

  r.put('/documents/:id/follow', async (req, res) => {
    const { record } = await documentAccess(ctx, res, req.params.id);
    const p = account(res);
    const { following } = parseBody(FollowBody, req.body);
    await setFollowing(db, record.id, p.id, following);
    res.json({ following });
  });

  r.get('/me/settings', async (_req, res) => {
    res.json(await userSettings(db, account(res).id));
  });

  r.put('/me/settings', async (req, res) => {
    const p = account(res);
    const body = parseBody(SettingsBody, req.body);
    res.json(
      await setUserSettings(db, p.id, {
        ...(body.email !== undefined ? { email: body.email } : {}),
        ...(body.emailAddress !== undefined ? { emailAddress: body.emailAddress } : {}),
      }),
    );
  });

  /** People a comment on the document may mention, matching `q` (a prefix of the username or of a name). */
  r.get('/documents/:id/mentionable', async (req, res) => {
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
  });

  // Webhooks: the document's owners.
  r.post('/documents/:id/webhooks', async (req, res) => {
    const { record, principal } = await documentAccess(ctx, res, req.params.id, 'owner');
    const body = parseBody(WebhookBody, req.body);
    try {
      await checkTarget(body.url, ctx.config.notify.webhookAllowPrivate);
    } catch (e) {
      if (e instanceof WebhookTargetError) throw new HttpError(422, e.message);
      throw e;
    }
    const hook = await createWebhook(db, record.id, principal.id, body.url, [...new Set(body.events)]);
    await ctx.storage.audit({
      docId: record.id,
      actorId: principal.id,
      action: 'webhook.created',
      detail: { id: hook.id, url: hook.url, events: hook.events },
    });
    res.status(201).json(hook);
  });

  r.get('/documents/:id/webhooks', async (req, res) => {
    const { record } = await documentAccess(ctx, res, req.params.id, 'owner');
    res.json(await listWebhooks(db, record.id));
  });

  r.delete('/documents/:id/webhooks/:hookId', async (req, res) => {
    const { record, principal } = await documentAccess(ctx, res, req.params.id, 'owner');
    if (!(await deleteWebhook(db, record.id, req.params.hookId))) throw notFound('no such webhook');
    await ctx.storage.audit({
      docId: record.id,
      actorId: principal.id,
      action: 'webhook.deleted',
      detail: { id: req.params.hookId },
    });
    res.status(204).end();
  });

  r.get('/documents/:id/webhooks/:hookId/deliveries', async (req, res) => {
    const { record } = await documentAccess(ctx, res, req.params.id, 'owner');
    const deliveries = await listDeliveries(db, record.id, req.params.hookId);
    if (!deliveries) throw notFound('no such webhook');
    res.json(deliveries);
  });

  return r;
}
