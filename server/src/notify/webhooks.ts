/**
 * Webhooks (docs/API.md): a document's owner subscribes a URL to event types; the notifications consumer writes
 * one delivery per event and hook into `webhook_deliveries` in the projection transaction (the outbox), and the
 * sender here posts them, signed per the Standard Webhooks specification, retrying with exponential backoff for
 * 24 hours. Deliveries are rows, so they survive restarts; a row is claimed before it is sent (PostgreSQL:
 * `FOR UPDATE SKIP LOCKED`; SQLite is one process), so two instances never send one delivery at once.
 *
 * SSRF: a URL whose host resolves to a private, loopback, link-local or otherwise internal address is refused
 * when the hook is created, and each attempt connects only to an address judged when its socket resolves the
 * host (so a name that resolves to a public address for the check and to an internal one for the connection —
 * DNS rebinding — reaches nothing), unless MARGINALIA_WEBHOOK_ALLOW_PRIVATE=1. Redirects are not followed.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { lookup as lookupWithCallback, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { sql, type Kysely } from 'kysely';
import type { Comment, Thread } from '@marginalia/shared';
import type { Database } from '../storage/schema.js';
import type { EngineKind } from '../storage/types.js';
import type { DocumentChange } from '../projector/changes.js';
import { log } from '../log.js';
import { OutboxLoop } from './outbox-loop.js';

export const WEBHOOK_EVENTS = [
  'thread.created',
  'comment.created',
  'comment.edited',
  'comment.deleted',
  'thread.resolved',
  'thread.reopened',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Retries stop this long after the event. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Longest wait between two attempts. */
const MAX_BACKOFF_MS = 60 * 60 * 1000;
/** How long a claimed delivery is left to its sender before another may take it (a sender that died). */
const CLAIM_MS = 60_000;
const SEND_TIMEOUT_MS = 10_000;

export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Standard Webhooks: `v1,` + base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" keyed with the secret's bytes. */
export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export function webhookPayload(
  event: WebhookEvent,
  at: number,
  doc: { id: string; title: string },
  seen: { change: DocumentChange; thread: Thread; comment: Comment | null },
  actorName: string | null,
) {
  const { change, thread, comment } = seen;
  return {
    type: event,
    timestamp: new Date(at).toISOString(),
    data: {
      documentId: doc.id,
      documentTitle: doc.title,
      threadId: change.threadId,
      ...(change.commentId ? { commentId: change.commentId } : {}),
      actor: { id: change.actor, name: actorName },
      status: thread.status,
      quote: thread.quote.exact,
      ...(comment && event !== 'comment.deleted' ? { body: comment.body, mentions: comment.mentions } : {}),
    },
  };
}

// ---- SSRF --------------------------------------------------------------------------------------------------

function v4Internal(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

/** Whether an address is private, loopback, link-local, unspecified, multicast or reserved. */
export function isInternalAddress(ip: string): boolean {
  if (isIP(ip) === 4) return v4Internal(ip);
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return v4Internal(mapped[1]!);
  return (
    lower === '::' ||
    lower === '::1' ||
    /^f[cd]/.test(lower) || // unique local fc00::/7
    /^fe[89ab]/.test(lower) || // link-local fe80::/10
    /^ff/.test(lower) // multicast
  );
}

export class WebhookTargetError extends Error {}

/** Refuses a URL that is not http(s) or whose host resolves to an internal address (unless allowed). */
export async function checkTarget(url: string, allowPrivate: boolean): Promise<URL> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookTargetError('the webhook url is not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new WebhookTargetError('the webhook url must be http or https');
  if (parsed.username || parsed.password) throw new WebhookTargetError('the webhook url may not carry credentials');
  if (allowPrivate) return parsed;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    throw new WebhookTargetError(`the webhook host ${host} does not resolve`);
  }
  const internal = addresses.find(isInternalAddress);
  if (internal)
    throw new WebhookTargetError(
      `the webhook url resolves to an internal address (${internal}); set MARGINALIA_WEBHOOK_ALLOW_PRIVATE=1 to allow it`,
    );
  return parsed;
}

/**
 * The socket's own host lookup, refusing internal addresses: the addresses judged are the ones connected to.
 * (Node asks for every address when it races IPv4 and IPv6, one otherwise.)
 */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  lookupWithCallback(hostname, { ...options, all: true, verbatim: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const internal = addresses.find((a) => isInternalAddress(a.address));
    if (internal || addresses.length === 0) {
      const refused = new WebhookTargetError(
        `the webhook url resolves to an internal address (${internal?.address ?? 'none'}); set MARGINALIA_WEBHOOK_ALLOW_PRIVATE=1 to allow it`,
      );
      return callback(refused, '', 0);
    }
    if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

/** One POST (no redirects followed); resolves with the answer's status once its body is read. */
export function postWebhook(
  url: URL,
  headers: Record<string, string>,
  body: string,
  opts: { allowPrivate: boolean; timeoutMs?: number },
): Promise<number> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    signal: AbortSignal.timeout(opts.timeoutMs ?? SEND_TIMEOUT_MS),
    ...(opts.allowPrivate ? {} : { lookup: publicOnlyLookup }),
  };
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res: IncomingMessage) => {
      res.on('error', reject);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.resume();
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---- the sender --------------------------------------------------------------------------------------------

export interface WebhookSenderOptions {
  db: Kysely<Database>;
  engine: EngineKind;
  allowPrivate: boolean;
  /** First retry after this long; each further one waits twice as long (at most an hour). */
  retryBaseMs: number;
  /** How often due deliveries are looked for when not woken. */
  pollMs: number;
  now?: () => number;
}

/** Posts due deliveries; woken after each projection that wrote some, and on a timer for retries. */
export class WebhookSender {
  private readonly loop: OutboxLoop;
  private readonly now: () => number;

  constructor(private readonly opts: WebhookSenderOptions) {
    this.now = opts.now ?? Date.now;
    this.loop = new OutboxLoop('webhook', opts.pollMs, () => this.sendDue());
  }

  /** Sends what is due now (or soon after the run under way). */
  kick(): void {
    this.loop.kick();
  }

  async close(): Promise<void> {
    await this.loop.close();
  }

  /** Claims up to 10 due deliveries and sends them; returns how many it claimed. */
  async sendDue(): Promise<number> {
    const claimed = await this.claim(10);
    await Promise.all(claimed.map((d) => this.attempt(d)));
    return claimed.length;
  }

  private async claim(limit: number) {
    const now = this.now();
    const { db, engine } = this.opts;
    return db.transaction().execute(async (trx) => {
      let due = trx
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .orderBy('next_attempt_at')
        .limit(limit);
      if (engine === 'postgres') due = due.forUpdate().skipLocked();
      const ids = (await due.execute()).map((r) => r.id);
      if (ids.length === 0) return [];
      return trx
        .updateTable('webhook_deliveries')
        .set({ claimed_until: now + CLAIM_MS })
        .where('id', 'in', ids)
        .returning(['id', 'hook_id', 'payload', 'attempts', 'created_at'])
        .execute();
    });
  }

  private async attempt(d: { id: string; hook_id: string; payload: string; attempts: number; created_at: number }) {
    const hook = await this.opts.db
      .selectFrom('webhooks')
      .select(['url', 'secret'])
      .where('id', '=', d.hook_id)
      .executeTakeFirst();
    if (!hook) return; // deleted with its deliveries
    let responseStatus: number | null = null;
    let error: string | null = null;
    try {
      // Scheme, credentials and literal addresses are checked here; a host name when the socket resolves it.
      const target = await checkTarget(hook.url, true);
      if (!this.opts.allowPrivate && isIP(target.hostname.replace(/^\[|\]$/g, ''))) await checkTarget(hook.url, false);
      const timestamp = Math.floor(this.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'Marginalia-Webhooks/1',
        'webhook-id': d.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': sign(hook.secret, d.id, timestamp, d.payload),
      };
      responseStatus = await postWebhook(target, headers, d.payload, { allowPrivate: this.opts.allowPrivate });
      if (responseStatus < 200 || responseStatus >= 300) error = `answered ${responseStatus}`;
    } catch (e) {
      error = (e as Error).message;
    }
    const now = this.now();
    const attempts = Number(d.attempts) + 1;
    if (error === null) {
      await this.opts.db
        .updateTable('webhook_deliveries')
        .set({
          status: 'delivered',
          attempts,
          response_status: responseStatus,
          last_error: null,
          delivered_at: now,
          claimed_until: null,
        })
        .where('id', '=', d.id)
        .execute();
      return;
    }
    const next = now + Math.min(MAX_BACKOFF_MS, this.opts.retryBaseMs * 2 ** (attempts - 1));
    const giveUp = next > Number(d.created_at) + RETRY_WINDOW_MS;
    log.info('webhook delivery failed', { delivery: d.id, attempts, error, retry: !giveUp });
    await this.opts.db
      .updateTable('webhook_deliveries')
      .set({
        status: giveUp ? 'failed' : 'pending',
        attempts,
        response_status: responseStatus,
        last_error: error.slice(0, 500),
        next_attempt_at: next,
        claimed_until: null,
      })
      .where('id', '=', d.id)
      .execute();
  }
}

// ---- the hooks themselves ----------------------------------------------------------------------------------

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  createdAt: number;
}

const eventsOf = (v: string | string[]): string[] => (typeof v === 'string' ? (JSON.parse(v) as string[]) : v);

export async function createWebhook(
  db: Kysely<Database>,
  docId: string,
  createdBy: string,
  url: string,
  events: string[],
  /** The document's last log entry now: the hook is sent the events of entries stored after it. */
  afterSeq: number,
): Promise<WebhookView & { secret: string }> {
  const hook = { id: randomUUID(), url, events, secret: newSecret(), createdAt: Date.now() };
  await db
    .insertInto('webhooks')
    .values({
      id: hook.id,
      doc_id: docId,
      url,
      events: JSON.stringify(events),
      secret: hook.secret,
      created_by: createdBy,
      created_at: hook.createdAt,
      after_seq: afterSeq,
    })
    .execute();
  return hook;
}

export async function listWebhooks(db: Kysely<Database>, docId: string): Promise<WebhookView[]> {
  const rows = await db
    .selectFrom('webhooks')
    .select(['id', 'url', 'events', 'created_at'])
    .where('doc_id', '=', docId)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ id: r.id, url: r.url, events: eventsOf(r.events), createdAt: Number(r.created_at) }));
}

export async function deleteWebhook(db: Kysely<Database>, docId: string, hookId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const hook = await trx
      .selectFrom('webhooks')
      .select('id')
      .where('id', '=', hookId)
      .where('doc_id', '=', docId)
      .executeTakeFirst();
    if (!hook) return false;
    await trx.deleteFrom('webhook_deliveries').where('hook_id', '=', hookId).execute();
    await trx.deleteFrom('webhooks').where('id', '=', hookId).execute();
    return true;
  });
}

export async function listDeliveries(db: Kysely<Database>, docId: string, hookId: string) {
  const hook = await db
    .selectFrom('webhooks')
    .select('id')
    .where('id', '=', hookId)
    .where('doc_id', '=', docId)
    .executeTakeFirst();
  if (!hook) return null;
  const rows = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('hook_id', '=', hookId)
    .orderBy('created_at', 'desc')
    .orderBy(sql`id`, 'desc')
    .limit(100)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    event: r.event,
    status: r.status,
    attempts: Number(r.attempts),
    responseStatus: r.response_status,
    lastError: r.last_error,
    createdAt: Number(r.created_at),
    nextAttemptAt: r.status === 'pending' ? Number(r.next_attempt_at) : null,
    deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
  }));
}
