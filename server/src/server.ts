/**
 * Assembles a running server: storage, accounts, the sample document, the HTTP app and the WebSocket
 * endpoint. `close()` stops accepting, stores every queued write, closes sockets with 1001, closes storage.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { StorageError, type Storage } from './storage/types.js';
import { openSqliteStorage } from './storage/sqlite.js';
import { openPostgresStorage } from './storage/postgres.js';
import { Tokens, signingKey } from './auth/tokens.js';
import { AccessState } from './auth/access-state.js';
import { enforceAccess } from './access.js';
import { hashPassword, verifyPassword } from './auth/passwords.js';
import { DocumentRegistry } from './collab/registry.js';
import { Hooks, type Extension } from './collab/hooks.js';
import { Compaction } from './collab/compaction.js';
import { refusalAudit } from './collab/refusal-audit.js';
import { attachCollabEndpoint } from './collab/endpoint.js';
import { createApp, originAllowed } from './http/app.js';
import type { AppContext } from './http/context.js';
import { documentCounts } from './documents.js';
import { Projector } from './projector/projector.js';
import { activityConsumer } from './projector/activity.js';
import { versionsConsumer } from './projector/versions.js';
import { DeletionRecorder } from './versions/deletions.js';
import { searchConsumer } from './projector/search.js';
import { reindexDocument, unindexedDocuments } from './search/store.js';
import { RedisReplicator } from './scale/redis-replicator.js';
import { notificationsConsumer } from './projector/notifications.js';
import { StoredDocuments } from './projector/stored-documents.js';
import { localBus, redisBus } from './notify/bus.js';
import { WebhookSender } from './notify/webhooks.js';
import { MailSender } from './notify/mail.js';
import { notificationRoutes } from './http/notification-routes.js';
import { ensureSampleDocument } from './sample.js';
import { log } from './log.js';
import { metrics, metricsHooks, timedLog } from './metrics.js';
import { startMetricsServer } from './http/operations.js';
import { SharedLimits } from './shared-limits.js';
import type express from 'express';

export interface RunningServer {
  url: string;
  port: number;
  http: Server;
  context: AppContext;
  /** The Express application (tests walk its routes: http/api-spec.ts). */
  app: express.Express;
  /** Where GET /metrics answers (the main port, or MARGINALIA_METRICS_PORT). */
  metricsUrl: string;
  /** Stores every queued write, closes sockets with 1001 and storage. */
  close(): Promise<void>;
  /** Readiness answers 503 at once (load balancers stop sending), then after `ms` the server closes. */
  drain(ms: number): Promise<void>;
}

export interface ServerOptions {
  /** Storage to use instead of the one the configuration names (tests). */
  storage?: Storage;
  clientDir?: string | null;
  extraRoutes?: ((ctx: AppContext) => express.Router)[];
  /** Lifecycle extensions to run after the built-in ones (see collab/hooks.ts). */
  extensions?: Extension[];
}

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CLIENT_DIR = join(here, '..', '..', 'client', 'dist');

export async function openStorage(config: Config): Promise<Storage> {
  if (config.memoryOnly) return openSqliteStorage(':memory:');
  if (config.databaseUrl) {
    return openPostgresStorage({
      connectionString: config.databaseUrl,
      ...(config.pgSchema ? { schema: config.pgSchema } : {}),
    });
  }
  return openSqliteStorage(join(config.dataDir, 'marginalia.db'), {
    checkpointAfterBytes: config.sqliteCheckpointBytes,
  });
}

export async function startServer(config: Config, opts: ServerOptions = {}): Promise<RunningServer> {
  const storage = opts.storage ?? (await openStorage(config));
  const adminPasswordChanged = await ensureAdmin(storage, config);
  if (config.seedSample) await ensureSampleDocument(storage, config);

  const observed = metricsHooks();
  const key = await signingKey(config, storage);
  const limits = await SharedLimits.open(config);
  const tokens = new Tokens(key.key, config.tokenTtlSeconds);
  log.info('signing key', { fingerprint: key.fingerprint, source: key.source });
  if (storage.kind === 'postgres') await compareSigningKey(storage, key.fingerprint);
  const replicator = config.redisUrl
    ? await RedisReplicator.connect({
        url: config.redisUrl,
        prefix: config.redisPrefix,
        storage,
        catchUpIntervalMs: config.catchUpIntervalMs,
      })
    : null;
  // Notifications: live to streams on any instance (over Redis when scaled out); webhooks and mail from outboxes.
  const notify = config.notify;
  const bus = config.redisUrl ? await redisBus(config.redisUrl, config.redisPrefix) : localBus();
  const webhooks = new WebhookSender({
    db: storage.db,
    engine: storage.kind,
    allowPrivate: notify.webhookAllowPrivate,
    retryBaseMs: notify.webhookRetryBaseMs,
    pollMs: notify.outboxPollMs,
  });
  let publicUrl = notify.publicUrl ?? '';
  const mail = notify.smtpUrl
    ? new MailSender({
        db: storage.db,
        engine: storage.kind,
        smtpUrl: notify.smtpUrl,
        from: notify.mailFrom,
        publicUrl: () => publicUrl,
        pollMs: notify.outboxPollMs,
        digestIntervalMs: notify.digestIntervalMs,
        retryBaseMs: notify.webhookRetryBaseMs,
      })
    : null;
  const storedDocuments = new StoredDocuments(storage.log);
  /** A document's copy loaded here, or null (not loaded, or it failed to load: consumers read storage instead). */
  const loadedLive = async (id: string) => {
    const live = await registry.peek(id)?.catch(() => null);
    return live && !live.broken ? live : null;
  };
  const loadedDoc = async (id: string) => (await loadedLive(id))?.doc ?? null;
  // The log projector: woken after each stored batch, run before each compaction (which deletes only projected
  // entries), and catching up on its own. Its consumers: the library's activity (documents.updated_at and counts),
  // automatic versions, notifications (with webhook deliveries and mail) and the search index.
  const projector: Projector = new Projector({
    db: storage.db,
    engine: storage.kind,
    delayMs: config.projectionDelayMs,
    loadedThrough: async (id) => (await loadedLive(id))?.seqs.through ?? null,
    consumers: [
      activityConsumer({
        log: storage.log,
        loadedCounts: async (id) => {
          const doc = await loadedDoc(id);
          return doc ? documentCounts(doc) : null;
        },
        reuseMs: Math.min(1000, config.projectionDelayMs / 2),
        stored: storedDocuments,
      }),
      versionsConsumer({
        db: storage.db,
        log: storage.log,
        intervalMs: config.versionIntervalMs,
        keepMs: config.versionKeepDays * 86_400_000,
      }),
      notificationsConsumer({
        db: storage.db,
        stored: storedDocuments,
        loadedDoc,
        bus,
        mail: mail !== null,
        onQueued: (q) => {
          if (q.webhooks) webhooks.kick();
          if (q.mail) mail?.kick();
        },
      }),
      searchConsumer({
        log: storage.log,
        stored: storedDocuments,
        fromLoaded: async (id, rows) => {
          const live = await loadedLive(id);
          if (!live) return null;
          // Read first: rows computed in slices hold at least the state this entry had reached.
          const through = live.seqs.through;
          return { groups: await rows(live.doc), through };
        },
      }),
      observed.consumer,
    ],
  });
  /** What the write path stores to: the log, projected before each compaction. */
  const liveStorage: Storage = {
    ...storage,
    log: timedLog(projector.projectingBeforeCompaction(storage.log), storage.kind),
  };
  // Sign-outs, disabled accounts and membership changes, shared by every instance and enforced on this one's sockets.
  const accessState: AccessState = await AccessState.open({
    storage,
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    catchUpIntervalMs: config.catchUpIntervalMs,
    tokenTtlMs: config.tokenTtlSeconds * 1000,
    enforce: (event) => {
      if (!ctx.collab) return;
      ctx.collab.accessChanged();
      void enforceAccess(ctx.collab.connections, storage, accessState, event);
    },
  });
  // A new MARGINALIA_ADMIN_PASSWORD signs the administrator's earlier tokens out, as any password change does.
  if (adminPasswordChanged) await accessState.revokeUser(adminPasswordChanged);
  /** A signed-out (revoked) token opens no socket; browsers open sockets only from allowed origins. */
  const access: Extension = {
    onUpgrade: (req) => (originAllowed(ctx, req.headers.origin, req.headers.host) ? null : 'origin not allowed'),
    onAuthenticate: (principal) => accessState.refuses(principal),
  };
  const projection: Extension = { onStored: ({ documentId }) => projector.wake(documentId) };
  // The lifecycle extensions, in the order their hooks run: the metrics first (a load is timed from its start); after
  // each stored batch, the projector is woken, then scale-out publishes, then compaction.
  const hooks = new Hooks([
    observed.extension,
    access,
    projection,
    ...(replicator ? [replicator] : []),
    new Compaction(liveStorage, config.limits),
    refusalAudit(storage),
    new DeletionRecorder(storage.db),
    ...(opts.extensions ?? []),
  ]);
  const registry: DocumentRegistry = new DocumentRegistry(liveStorage, config.limits, hooks);
  void projector.catchUp();
  void indexUnindexed(storage);
  const ctx: AppContext = {
    config,
    storage,
    tokens,
    registry,
    access: accessState,
    signingKeyFingerprint: key.fingerprint,
    limits,
    collab: null,
    replicator,
    draining: false,
  };
  const app = createApp(ctx, {
    clientDir: opts.clientDir === undefined ? DEFAULT_CLIENT_DIR : opts.clientDir,
    extraRoutes: [
      (c) => notificationRoutes(c, { bus, kickWebhooks: () => webhooks.kick() }),
      ...(opts.extraRoutes ?? []),
    ],
  });
  const http = createServer(app);
  ctx.collab = attachCollabEndpoint(http, {
    config,
    storage,
    tokens,
    registry,
    hooks,
    refusals: accessState,
    connectionLimit: limits.connections,
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const metricsServer = config.metricsPort === null ? null : await startMetricsServer(config);
  metrics.draining.set(0);
  publicUrl ||= url;
  webhooks.kick();
  mail?.kick();

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      http.close();
      metricsServer?.server.close();
      metricsServer?.server.closeAllConnections();
      ctx.collab?.close();
      await registry.closeAll(1001, 'server shutting down');
      ctx.collab?.closeAll(1001, 'server shutting down');
      http.closeAllConnections();
      await replicator?.close();
      await accessState.close();
      limits.close();
      await projector.close();
      storedDocuments.close();
      await webhooks.close();
      await mail?.close();
      await bus.close();
      if (!opts.storage) await storage.close();
    })());
  const drain = async (ms: number) => {
    ctx.draining = true;
    metrics.draining.set(1);
    log.info('draining: readiness answers 503 until the server stops', { ms });
    if (ms > 0 && !closing) await new Promise((r) => setTimeout(r, ms));
    await close();
  };
  return { url, port, http, context: ctx, app, metricsUrl: metricsServer?.url ?? `${url}/metrics`, close, drain };
}

/**
 * Instances sharing a database must sign with one key: the fingerprint of the last instance to start is kept in
 * the settings, and an instance starting with another key says so (its tokens are refused by the others).
 */
async function compareSigningKey(storage: Storage, fingerprint: string): Promise<void> {
  const previous = await storage.getSetting(SIGNING_KEY_FINGERPRINT);
  if (previous !== null && previous !== fingerprint) {
    log.warn('this instance signs tokens with another key than the instance started before it', {
      fingerprint,
      previous,
      fix: 'set the same MARGINALIA_SECRET on every instance (or on none), then restart them',
    });
  }
  await storage.setSetting(SIGNING_KEY_FINGERPRINT, fingerprint);
}

const SIGNING_KEY_FINGERPRINT = 'token_signing_key_fingerprint';

/** Indexes the documents that have no search rows yet (made before the index existed). */
async function indexUnindexed(storage: Storage): Promise<void> {
  try {
    for (const id of await unindexedDocuments(storage.db)) await reindexDocument(storage, id);
  } catch (e) {
    log.error('indexing documents for search failed; run `marginalia reindex`', { error: (e as Error).message });
  }
}

/** Ensures the configured administrator; returns their id when an existing one's password was changed. */
async function ensureAdmin(storage: Storage, config: Config): Promise<string | null> {
  if (!config.adminUser || !config.adminPassword) return null;
  const username = config.adminUser.toLowerCase();
  const existing = await storage.getUserByUsername(username);
  if (existing && (await verifyPassword(config.adminPassword, existing.passwordHash))) return null;
  const passwordHash = await hashPassword(config.adminPassword);
  if (existing) {
    await storage.setPassword(existing.id, passwordHash);
    return existing.id;
  }
  try {
    await storage.createUser({
      id: randomUUID(),
      username,
      name: config.adminUser,
      passwordHash,
      isAdmin: true,
      createdAt: Date.now(),
    });
    log.info('admin account created', { username });
  } catch (e) {
    // another instance starting at the same moment created it
    if (!(e instanceof StorageError && e.code === 'conflict')) throw e;
  }
  return null;
}
