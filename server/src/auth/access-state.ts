/**
 * Access that is taken away holds on every instance: signed-out tokens (revocations: one token at sign-out, or
 * all of a user's tokens issued before a password change or the account's disabling), disabled accounts and
 * membership changes. The database is the truth (the `revocations` table, `users.disabled`, `memberships`);
 * Redis pub/sub (one channel, `<REDIS_PREFIX>access`, on its own connections) tells the other instances at once.
 *
 * Pub/sub can lose messages (Redis down, a reconnect), so every instance also reads new revocations and the
 * disabled accounts from the database on the catch-up timer (MARGINALIA_CATCHUP_INTERVAL_MS), and while Redis is
 * unreachable it re-checks every open socket's access on that timer as well: a lost message delays enforcement by
 * at most one interval, it never lets access survive (fail closed). A WebSocket update is in any case admitted
 * only against the role read from the database at that moment (collab/connection.ts).
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Storage } from '../storage/types.js';
import type { Principal } from './tokens.js';
import { log } from '../log.js';

/** What changed; each instance enforces it on its own sockets (server.ts). */
export type AccessEvent =
  /** A token was signed out: refused until it expires. */
  | { kind: 'revoked'; jti: string; userId: string; expiresAt: number }
  /** All of a user's tokens issued before `before` (ms) were signed out (password changed, account disabled). */
  | { kind: 'revoked-user'; userId: string; before: number; expiresAt: number }
  /** An account was disabled or enabled. */
  | { kind: 'user'; userId: string; disabled: boolean }
  /** A membership on a document changed (userId null: its guest access, which concerns everyone on it). */
  | { kind: 'members'; docId: string; userId: string | null }
  /** Messages may have been lost (Redis was down): re-check every open socket. */
  | { kind: 'recheck' };

const Message = z.object({
  from: z.string(),
  event: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('revoked'), jti: z.string(), userId: z.string(), expiresAt: z.number() }),
    z.object({
      kind: z.literal('revoked-user'),
      userId: z.string(),
      before: z.number(),
      expiresAt: z.number(),
    }),
    z.object({ kind: z.literal('user'), userId: z.string(), disabled: z.boolean() }),
    z.object({ kind: z.literal('members'), docId: z.string(), userId: z.string().nullable() }),
    z.object({ kind: z.literal('recheck') }),
  ]),
});

export interface AccessStateOptions {
  storage: Storage;
  /** Redis (scale-out), or null for one instance. */
  redisUrl: string | null;
  redisPrefix: string;
  /** How often the database is read for what pub/sub may have missed (ms). */
  catchUpIntervalMs: number;
  /** How long tokens live (ms): a sign-out of all of a user's tokens is kept this long (then all have expired). */
  tokenTtlMs: number;
  /** Applies an event to this instance's open sockets. */
  enforce: (event: AccessEvent) => void;
}

/** How far back each poll reads revocations, beyond the previous poll: instances' clocks may differ a little. */
const CLOCK_SKEW_MS = 10_000;

/**
 * A sign-out of all of a user's tokens is a `revocations` row too: its `jti` is this prefix, the user id and the
 * moment (`revoked_at`); tokens of the user issued before that moment are refused until `expires_at`.
 */
const ALL_TOKENS = 'user:';

export class AccessState {
  private readonly instanceId = randomBytes(8).toString('hex');
  /** Revoked token ids -> expiry (ms). */
  private readonly revoked = new Map<string, number>();
  /** User id -> their tokens issued before `before` (ms) are refused, until `expiresAt` (ms). */
  private readonly revokedBefore = new Map<string, { before: number; expiresAt: number }>();
  private disabled = new Set<string>();
  private readonly pub: Redis | null;
  private readonly sub: Redis | null;
  private readonly poller: NodeJS.Timeout;
  private readonly pruner: NodeJS.Timeout;
  private lastPoll = 0;
  private polling = false;
  /** Redis was unreachable since the last re-check of open sockets. */
  private missedMessages = false;

  private constructor(private readonly opts: AccessStateOptions) {
    if (opts.redisUrl) {
      const common = {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        retryStrategy: (n: number) => Math.min(100 * 2 ** n, 2000),
      };
      this.pub = new Redis(opts.redisUrl, { ...common, enableOfflineQueue: false });
      this.sub = new Redis(opts.redisUrl, { ...common, enableOfflineQueue: true });
      for (const client of [this.pub, this.sub]) {
        client.on('error', (e: Error) => log.debug('redis error (access)', { error: e.message }));
        client.on('close', () => (this.missedMessages = true));
      }
      this.sub.on('message', (_channel: string, raw: string) => this.onMessage(raw));
      this.sub.on('ready', () => {
        // Subscriptions are restored by ioredis; what was published meanwhile is read from the database.
        if (this.missedMessages) void this.poll();
      });
    } else {
      this.pub = this.sub = null;
    }
    this.poller = setInterval(() => void this.poll(), opts.catchUpIntervalMs);
    this.poller.unref();
    this.pruner = setInterval(() => void this.prune(), 60_000);
    this.pruner.unref();
  }

  /** Loads the revocations and disabled accounts, then listens for changes. */
  static async open(opts: AccessStateOptions): Promise<AccessState> {
    const state = new AccessState(opts);
    await state.load();
    if (state.sub && state.pub) {
      try {
        let timer: NodeJS.Timeout | undefined;
        const connected = (async () => {
          await Promise.all([state.pub!.connect(), state.sub!.connect()]);
          await state.sub!.subscribe(state.channel);
        })();
        // A Redis that accepts but does not answer must not hold up the start (it keeps retrying behind).
        const tooLong = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
        });
        connected.catch(() => {});
        await Promise.race([connected, tooLong]).finally(() => clearTimeout(timer));
        state.missedMessages = false;
      } catch (e) {
        state.missedMessages = true;
        log.warn('redis unavailable at start; access changes are read from the database on the catch-up timer', {
          error: (e as Error).message,
        });
      }
    }
    return state;
  }

  private get channel(): string {
    return `${this.opts.redisPrefix}access`;
  }

  /** Why this token is refused now ('token revoked', 'account disabled'), or null. */
  refuses(principal: Principal & { jti: string; iat?: number }): string | null {
    if (this.revoked.has(principal.jti)) return 'token revoked; sign in again';
    const all = this.revokedBefore.get(principal.id);
    if (all && (principal.iat ?? 0) < all.before) return 'signed out everywhere; sign in again';
    if (this.disabled.has(principal.id)) return 'this account is disabled';
    return null;
  }

  /** Signs a token out everywhere: stored first (restarts and lost messages), then announced. */
  async revoke(jti: string, userId: string, expiresAt: number): Promise<void> {
    await this.opts.storage.db
      .insertInto('revocations')
      .values({ jti, user_id: userId, expires_at: expiresAt, revoked_at: Date.now() })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
    await this.announce({ kind: 'revoked', jti, userId, expiresAt });
  }

  /**
   * Signs out all of a user's tokens issued until now, everywhere (a password change, a disabled account): stored
   * first, then announced. Tokens issued afterwards (a new sign-in) pass.
   */
  async revokeUser(userId: string): Promise<void> {
    const before = Date.now();
    const expiresAt = before + this.opts.tokenTtlMs;
    await this.opts.storage.db
      .insertInto('revocations')
      .values({ jti: `${ALL_TOKENS}${userId}:${before}`, user_id: userId, expires_at: expiresAt, revoked_at: before })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
    await this.announce({ kind: 'revoked-user', userId, before, expiresAt });
  }

  /**
   * Disables or enables an account everywhere (the caller has stored it). Disabling also signs out every token
   * it has: enabled again, the account signs in anew. Resolves once published.
   */
  async userChanged(userId: string, disabled: boolean): Promise<void> {
    if (disabled) await this.revokeUser(userId);
    await this.announce({ kind: 'user', userId, disabled });
  }

  /** A membership (or the guest access, userId null) of a document changed (the caller has stored it). */
  membersChanged(docId: string, userId: string | null): Promise<void> {
    return this.announce({ kind: 'members', docId, userId });
  }

  /** Applies the event here at once, and publishes it for the other instances (resolves once sent, or failed). */
  private async announce(event: AccessEvent): Promise<void> {
    this.apply(event);
    if (!this.pub) return;
    try {
      await this.pub.publish(this.channel, JSON.stringify({ from: this.instanceId, event }));
    } catch (e) {
      // The others read it from the database on their catch-up timer.
      log.debug('access publish failed', { error: (e as Error).message });
    }
  }

  private onMessage(raw: string): void {
    let parsed;
    try {
      parsed = Message.parse(JSON.parse(raw));
    } catch {
      log.warn('malformed access message ignored');
      return;
    }
    if (parsed.from !== this.instanceId) this.apply(parsed.event);
  }

  private apply(event: AccessEvent): void {
    if (event.kind === 'revoked') this.revoked.set(event.jti, event.expiresAt);
    if (event.kind === 'revoked-user') {
      const known = this.revokedBefore.get(event.userId);
      if (!known || known.before < event.before)
        this.revokedBefore.set(event.userId, { before: event.before, expiresAt: event.expiresAt });
    }
    if (event.kind === 'user') {
      if (event.disabled) this.disabled.add(event.userId);
      else this.disabled.delete(event.userId);
    }
    try {
      this.opts.enforce(event);
    } catch (e) {
      log.error('access enforcement failed', { kind: event.kind, error: (e as Error).message });
    }
  }

  private async load(): Promise<void> {
    const now = Date.now();
    const rows = await this.opts.storage.db
      .selectFrom('revocations')
      .select(['jti', 'user_id', 'expires_at', 'revoked_at'])
      .where('expires_at', '>', now)
      .execute();
    for (const r of rows) {
      if (!r.jti.startsWith(ALL_TOKENS)) this.revoked.set(r.jti, r.expires_at);
      else {
        const known = this.revokedBefore.get(r.user_id);
        if (!known || known.before < r.revoked_at)
          this.revokedBefore.set(r.user_id, { before: r.revoked_at, expiresAt: r.expires_at });
      }
    }
    this.disabled = new Set(await this.opts.storage.disabledUserIds());
    this.lastPoll = now;
  }

  /** Reads what pub/sub may have missed, and enforces what is new. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const started = Date.now();
    try {
      const rows = await this.opts.storage.db
        .selectFrom('revocations')
        .select(['jti', 'user_id', 'expires_at', 'revoked_at'])
        .where('revoked_at', '>=', this.lastPoll - CLOCK_SKEW_MS)
        .execute();
      for (const r of rows) {
        if (r.expires_at <= started) continue;
        if (r.jti.startsWith(ALL_TOKENS)) {
          if ((this.revokedBefore.get(r.user_id)?.before ?? -1) < r.revoked_at)
            this.apply({ kind: 'revoked-user', userId: r.user_id, before: r.revoked_at, expiresAt: r.expires_at });
        } else if (!this.revoked.has(r.jti))
          this.apply({ kind: 'revoked', jti: r.jti, userId: r.user_id, expiresAt: r.expires_at });
      }
      const disabled = new Set(await this.opts.storage.disabledUserIds());
      for (const id of disabled) if (!this.disabled.has(id)) this.apply({ kind: 'user', userId: id, disabled: true });
      for (const id of this.disabled) if (!disabled.has(id)) this.apply({ kind: 'user', userId: id, disabled: false });
      this.lastPoll = started;
      // Membership changes are not kept as events: while messages may be lost, every open socket is re-checked.
      const redisDown = this.sub !== null && !this.healthy;
      if (this.missedMessages || redisDown) {
        this.missedMessages = redisDown;
        this.apply({ kind: 'recheck' });
      }
    } catch (e) {
      log.warn('access catch-up failed; tried again at the next check', { error: (e as Error).message });
    } finally {
      this.polling = false;
    }
  }

  /** Forgets revocations of tokens that have expired anyway (they are refused for that); run every minute. */
  async prune(): Promise<void> {
    const now = Date.now();
    for (const [jti, exp] of this.revoked) if (exp < now) this.revoked.delete(jti);
    for (const [id, all] of this.revokedBefore) if (all.expiresAt < now) this.revokedBefore.delete(id);
    try {
      await this.opts.storage.db.deleteFrom('revocations').where('expires_at', '<', now).execute();
    } catch (e) {
      log.debug('revocation pruning failed', { error: (e as Error).message });
    }
  }

  get healthy(): boolean {
    return this.pub === null || (this.pub.status === 'ready' && this.sub?.status === 'ready');
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    clearInterval(this.pruner);
    this.pub?.disconnect();
    this.sub?.disconnect();
  }
}
