/**
 * Notification mail (SMTP_URL, MARGINALIA_MAIL_FROM). The notifications consumer queues one `email_outbox` row per
 * notification of a user who wants mail, in the projection transaction; this sender mails them: `instant` rows one
 * mail each, `digest` rows gathered into one mail per user at most once per `digestIntervalMs` (an hour). Each mail
 * has a plain-text and an HTML part (user text escaped) and links to the thread's permalink `/d/:docId/t/:threadId`.
 * A row is claimed before it is sent (as webhook deliveries are), so two instances never mail it twice at once;
 * failed sends are retried with backoff for a day.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { EngineKind } from '../storage/types.js';
import { log } from '../log.js';
import { OutboxLoop } from './outbox-loop.js';
import { notificationItem, type NotificationItem } from './store.js';

const CLAIM_MS = 120_000;
const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface MailSenderOptions {
  db: Kysely<Database>;
  engine: EngineKind;
  smtpUrl: string;
  from: string;
  /** Base of the links in mails (no trailing slash). */
  publicUrl: () => string;
  pollMs: number;
  digestIntervalMs: number;
  retryBaseMs: number;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const permalink = (base: string, n: Pick<NotificationItem, 'documentId' | 'threadId'>): string =>
  `${base}/d/${encodeURIComponent(n.documentId)}/t/${encodeURIComponent(n.threadId)}`;

/** One line saying what happened. */
export function headline(n: NotificationItem): string {
  const who = n.actor.name;
  switch (n.kind) {
    case 'mention':
      return `${who} mentioned you in “${n.documentTitle}”`;
    case 'reply':
      return `${who} replied in “${n.documentTitle}”`;
    case 'resolved':
      return `${who} resolved a thread in “${n.documentTitle}”`;
    case 'reopened':
      return `${who} reopened a thread in “${n.documentTitle}”`;
    case 'new-thread':
      return `${who} started a thread in “${n.documentTitle}”`;
  }
}

/** The mail for some notifications: one, or a digest of several. */
export function composeMail(items: NotificationItem[], base: string): { subject: string; text: string; html: string } {
  const subject = items.length === 1 ? headline(items[0]!) : `${items.length} new notifications in Marginalia`;
  const text = items
    .map((n) => `${headline(n)}\n${n.excerpt ? `  “${n.excerpt}”\n` : ''}  ${permalink(base, n)}\n`)
    .join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">${items
    .map(
      (n) =>
        `<p><strong>${escapeHtml(headline(n))}</strong></p>` +
        (n.excerpt ? `<blockquote>${escapeHtml(n.excerpt)}</blockquote>` : '') +
        `<p><a href="${escapeHtml(permalink(base, n))}">Open the thread</a></p>`,
    )
    .join('<hr>')}</body></html>`;
  return { subject, text: `${text}\n— Marginalia (change what you receive in your settings)\n`, html };
}

interface Claimed {
  ids: string[];
  userId: string;
  address: string;
  attempts: number;
  createdAt: number;
  items: NotificationItem[];
}

export class MailSender {
  private readonly transport: Transporter;
  private readonly loop: OutboxLoop;

  constructor(private readonly opts: MailSenderOptions) {
    this.transport = nodemailer.createTransport(opts.smtpUrl);
    this.loop = new OutboxLoop('mail', opts.pollMs, () => this.sendDue());
  }

  kick(): void {
    this.loop.kick();
  }

  async close(): Promise<void> {
    await this.loop.close();
    this.transport.close();
  }

  /** Mails what is due; returns how many mails it tried. */
  async sendDue(): Promise<number> {
    const now = Date.now();
    const batches = await this.claim(now);
    for (const b of batches) await this.send(b);
    return batches.length;
  }

  /** Claims due rows: instant ones singly, a user's digest rows together once their interval has passed. */
  private async claim(now: number): Promise<Claimed[]> {
    const { db, engine, digestIntervalMs } = this.opts;
    const rows = await db.transaction().execute(async (trx) => {
      let due = trx
        .selectFrom('email_outbox as o')
        .innerJoin('user_settings as s', 's.user_id', 'o.user_id')
        .select(['o.id'])
        .where('o.status', '=', 'pending')
        .where('o.next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('o.claimed_until', 'is', null), eb('o.claimed_until', '<', now)]))
        .where((eb) =>
          eb.or([
            eb('o.mode', '=', 'instant'),
            eb('s.digest_sent_at', 'is', null),
            eb('s.digest_sent_at', '<=', now - digestIntervalMs),
          ]),
        )
        .orderBy('o.created_at')
        .limit(50);
      if (engine === 'postgres') due = due.forUpdate('o').skipLocked();
      const ids = (await due.execute()).map((r) => r.id);
      if (ids.length === 0) return [];
      const claimed = await trx
        .updateTable('email_outbox')
        .set({ claimed_until: now + CLAIM_MS })
        .where('id', 'in', ids)
        .returning(['id', 'user_id', 'notification_id', 'mode', 'attempts', 'created_at'])
        .execute();
      // A digest is sent now: the next one waits its interval.
      const digestUsers = [...new Set(claimed.filter((r) => r.mode === 'digest').map((r) => r.user_id))];
      if (digestUsers.length)
        await trx
          .updateTable('user_settings')
          .set({ digest_sent_at: now })
          .where('user_id', 'in', digestUsers)
          .execute();
      return claimed;
    });
    if (rows.length === 0) return [];
    const notes = await db
      .selectFrom('notifications as n')
      .innerJoin('documents as d', 'd.id', 'n.doc_id')
      .selectAll('n')
      .select('d.title')
      .where(
        'n.id',
        'in',
        rows.map((r) => r.notification_id),
      )
      .execute();
    const byId = new Map(notes.map((n) => [n.id, notificationItem(n, n.title)]));
    const settings = await db
      .selectFrom('user_settings')
      .select(['user_id', 'address', 'email'])
      .where('user_id', 'in', [...new Set(rows.map((r) => r.user_id))])
      .execute();
    const addressOf = new Map(settings.map((s) => [s.user_id, s.email === 'off' ? null : s.address]));
    const out: Claimed[] = [];
    const digests = new Map<string, Claimed>();
    const dropped: string[] = [];
    for (const r of rows) {
      const item = byId.get(r.notification_id);
      const address = addressOf.get(r.user_id);
      if (!item || !address) {
        dropped.push(r.id); // the notification's document is gone, or the user turned mail off
        continue;
      }
      const one = (): Claimed => ({
        ids: [],
        userId: r.user_id,
        address,
        attempts: Number(r.attempts),
        createdAt: Number(r.created_at),
        items: [],
      });
      const target =
        r.mode === 'digest' ? (digests.get(r.user_id) ?? digests.set(r.user_id, one()).get(r.user_id)!) : one();
      if (r.mode !== 'digest') out.push(target);
      target.ids.push(r.id);
      target.items.push(item);
      target.attempts = Math.max(target.attempts, Number(r.attempts));
    }
    if (dropped.length) await db.deleteFrom('email_outbox').where('id', 'in', dropped).execute();
    return [...out, ...digests.values()];
  }

  private async send(c: Claimed): Promise<void> {
    const mail = composeMail(
      c.items.sort((a, b) => a.createdAt - b.createdAt),
      this.opts.publicUrl(),
    );
    const { db } = this.opts;
    try {
      await this.transport.sendMail({ from: this.opts.from, to: c.address, ...mail });
      await db
        .updateTable('email_outbox')
        .set({ status: 'sent', sent_at: Date.now(), claimed_until: null, attempts: c.attempts + 1 })
        .where('id', 'in', c.ids)
        .execute();
    } catch (e) {
      const attempts = c.attempts + 1;
      const next = Date.now() + Math.min(3600_000, this.opts.retryBaseMs * 2 ** (attempts - 1));
      const giveUp = next > c.createdAt + RETRY_WINDOW_MS;
      log.warn('mail not sent', { user: c.userId, attempts, error: (e as Error).message, retry: !giveUp });
      await db
        .updateTable('email_outbox')
        .set({
          status: giveUp ? 'failed' : 'pending',
          attempts,
          next_attempt_at: next,
          claimed_until: null,
          last_error: (e as Error).message.slice(0, 500),
        })
        .where('id', 'in', c.ids)
        .execute();
    }
  }
}
