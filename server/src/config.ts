/** Start-up configuration, read once from the environment (the README lists every name). */
import { resolve } from 'node:path';

export interface Limits {
  /** Largest WebSocket frame accepted; larger closes the socket with 1009. */
  maxFrameBytes: number;
  /** Largest REST body; larger answers 413. */
  maxBodyBytes: number;
  /** A connection whose unsent data passes this is closed (1013) so that it resyncs instead of buffering. */
  maxBufferedBytes: number;
  /** How long a document stays loaded after its last connection leaves. */
  unloadGraceMs: number;
  /** Interval of WebSocket pings; a peer that misses one whole interval is dropped. */
  pingIntervalMs: number;
  /** The log is folded into a snapshot when it holds more entries or bytes than this. */
  compactAfterUpdates: number;
  compactAfterBytes: number;
  /** A document whose stored state is at least this large is built in slices, one per event-loop turn. */
  slicedLoadBytes: number;
  /** A document whose stored size passes this refuses further growth (close 4413). */
  maxDocumentBytes: number;
  /** Concurrent WebSocket connections from one IP address. */
  maxConnectionsPerIp: number;
  /** Per connection: messages and bytes per second (a token bucket holding two seconds' worth). */
  maxMessagesPerSecond: number;
  maxBytesPerSecond: number;
  /** Failed sign-ins allowed per username and per IP address in `loginWindowMs`. */
  maxLoginFailuresPerUser: number;
  maxLoginFailuresPerIp: number;
  loginWindowMs: number;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  /** PostgreSQL schema for Marginalia's tables (MARGINALIA_PG_SCHEMA); null: the connection's default. */
  pgSchema: string | null;
  /** SQLite: a WAL checkpoint (in the worker thread) starts after about this many bytes written. */
  sqliteCheckpointBytes: number;
  /** MARGINALIA_STORAGE=memory keeps nothing (benchmarks, trials); otherwise SQLite or PostgreSQL. */
  memoryOnly: boolean;
  redisUrl: string | null;
  /** Prefix of every Redis channel and key (REDIS_PREFIX), so deployments can share one Redis. */
  redisPrefix: string;
  /** How often loaded documents are compared with the shared log when scaled out (ms). */
  catchUpIntervalMs: number;
  /** Least time between two projections of one document's log after it stored something (ms). */
  projectionDelayMs: number;
  /** Least time between two automatic versions of a document while it is being changed (ms). */
  versionIntervalMs: number;
  /** Automatic versions older than this many days are deleted (named versions are kept). */
  versionKeepDays: number;
  adminUser: string | null;
  adminPassword: string | null;
  secret: string | null;
  allowedOrigins: string[] | null;
  tokenTtlSeconds: number;
  /** Create the sample document on first start. */
  seedSample: boolean;
  /** MARGINALIA_METRICS_PORT: serve /metrics there instead of on the main port (0: any free port). */
  metricsPort: number | null;
  /** MARGINALIA_METRICS_TOKEN: /metrics answers only with `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  /** MARGINALIA_DRAIN_MS: after SIGTERM, how long readiness answers 503 before the server stops. */
  drainMs: number;
  limits: Limits;
  /** Notifications: mail (SMTP_URL, smtp:// or smtps://; null: no mail), webhooks, and the outboxes' timing. */
  notify: NotifyConfig;
}

export class ConfigError extends Error {}

export interface NotifyConfig {
  smtpUrl: string | null;
  mailFrom: string;
  /** Where mails link to (MARGINALIA_PUBLIC_URL); by default the server's own address. */
  publicUrl: string | null;
  /** MARGINALIA_WEBHOOK_ALLOW_PRIVATE=1: webhooks may target private, loopback and link-local addresses. */
  webhookAllowPrivate: boolean;
  /** First webhook retry after this long, doubling after each failure (at most an hour apart, for 24 h). */
  webhookRetryBaseMs: number;
  /** How often the webhook and mail outboxes are looked at when nothing wakes them. */
  outboxPollMs: number;
  /** Least time between two digest mails to one user. */
  digestIntervalMs: number;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min} (got "${raw}")`);
  return n;
}

const nonEmpty = (v: string | undefined): string | null => (v && v.trim() ? v.trim() : null);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const adminUser = nonEmpty(env.MARGINALIA_ADMIN_USER);
  const adminPassword = nonEmpty(env.MARGINALIA_ADMIN_PASSWORD);
  if ((adminUser === null) !== (adminPassword === null)) {
    throw new ConfigError('MARGINALIA_ADMIN_USER and MARGINALIA_ADMIN_PASSWORD must be set together');
  }
  const origins = nonEmpty(env.ALLOWED_ORIGINS);
  if (nonEmpty(env.REDIS_URL) && !nonEmpty(env.DATABASE_URL) && env.MARGINALIA_STORAGE !== 'memory') {
    throw new ConfigError(
      'REDIS_URL (several instances) needs DATABASE_URL: the instances must share one PostgreSQL log',
    );
  }
  return {
    port: int(env, 'PORT', 4000),
    host: nonEmpty(env.HOST) ?? '127.0.0.1',
    dataDir: resolve(nonEmpty(env.DATA_DIR) ?? './data'),
    databaseUrl: nonEmpty(env.DATABASE_URL),
    pgSchema: nonEmpty(env.MARGINALIA_PG_SCHEMA),
    memoryOnly: env.MARGINALIA_STORAGE === 'memory',
    sqliteCheckpointBytes: int(env, 'MARGINALIA_SQLITE_CHECKPOINT_BYTES', 4 * 1024 * 1024, 4096),
    redisUrl: nonEmpty(env.REDIS_URL),
    redisPrefix: nonEmpty(env.REDIS_PREFIX) ?? 'marginalia:',
    catchUpIntervalMs: int(env, 'MARGINALIA_CATCHUP_INTERVAL_MS', 2000, 50),
    projectionDelayMs: int(env, 'MARGINALIA_PROJECTION_DELAY_MS', 250, 0),
    versionIntervalMs: int(env, 'MARGINALIA_VERSION_INTERVAL_MS', 600_000, 0),
    versionKeepDays: int(env, 'MARGINALIA_VERSION_KEEP_DAYS', 90, 1),
    adminUser,
    adminPassword,
    secret: nonEmpty(env.MARGINALIA_SECRET),
    allowedOrigins: origins
      ? origins
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean)
      : null,
    tokenTtlSeconds: int(env, 'MARGINALIA_TOKEN_TTL', 12 * 3600, 10),
    seedSample: env.MARGINALIA_SAMPLE !== '0',
    metricsPort: nonEmpty(env.MARGINALIA_METRICS_PORT) === null ? null : int(env, 'MARGINALIA_METRICS_PORT', 0),
    metricsToken: nonEmpty(env.MARGINALIA_METRICS_TOKEN),
    drainMs: int(env, 'MARGINALIA_DRAIN_MS', 5000),
    notify: {
      smtpUrl: nonEmpty(env.SMTP_URL),
      mailFrom: nonEmpty(env.MARGINALIA_MAIL_FROM) ?? 'Marginalia <marginalia@localhost>',
      publicUrl: nonEmpty(env.MARGINALIA_PUBLIC_URL)?.replace(/\/+$/, '') ?? null,
      webhookAllowPrivate: env.MARGINALIA_WEBHOOK_ALLOW_PRIVATE === '1',
      webhookRetryBaseMs: int(env, 'MARGINALIA_WEBHOOK_RETRY_BASE_MS', 5000, 10),
      outboxPollMs: int(env, 'MARGINALIA_OUTBOX_POLL_MS', 5000, 10),
      digestIntervalMs: int(env, 'MARGINALIA_DIGEST_INTERVAL_MS', 3600_000, 100),
    },
    limits: {
      maxFrameBytes: int(env, 'MARGINALIA_MAX_FRAME_BYTES', 2 * 1024 * 1024, 1024),
      maxBodyBytes: int(env, 'MARGINALIA_MAX_BODY_BYTES', 2 * 1024 * 1024, 1024),
      maxBufferedBytes: int(env, 'MARGINALIA_MAX_BUFFERED_BYTES', 16 * 1024 * 1024, 1024),
      unloadGraceMs: int(env, 'MARGINALIA_UNLOAD_GRACE_MS', 30_000),
      pingIntervalMs: int(env, 'MARGINALIA_PING_INTERVAL_MS', 15_000, 100),
      compactAfterUpdates: int(env, 'MARGINALIA_COMPACT_AFTER_UPDATES', 500, 1),
      compactAfterBytes: int(env, 'MARGINALIA_COMPACT_AFTER_BYTES', 1024 * 1024, 1),
      slicedLoadBytes: int(env, 'MARGINALIA_SLICED_LOAD_BYTES', 1024 * 1024, 1),
      maxDocumentBytes: int(env, 'MARGINALIA_MAX_DOCUMENT_BYTES', 64 * 1024 * 1024, 1024),
      maxConnectionsPerIp: int(env, 'MARGINALIA_MAX_CONNECTIONS_PER_IP', 5000, 1),
      maxMessagesPerSecond: int(env, 'MARGINALIA_MAX_MESSAGES_PER_SECOND', 300, 1),
      maxBytesPerSecond: int(env, 'MARGINALIA_MAX_BYTES_PER_SECOND', 8 * 1024 * 1024, 1024),
      maxLoginFailuresPerUser: int(env, 'MARGINALIA_MAX_LOGIN_FAILURES_PER_USER', 10, 1),
      maxLoginFailuresPerIp: int(env, 'MARGINALIA_MAX_LOGIN_FAILURES_PER_IP', 50, 1),
      loginWindowMs: int(env, 'MARGINALIA_LOGIN_WINDOW_MS', 15 * 60_000, 1000),
    },
  };
}
