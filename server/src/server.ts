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
import { Tokens, loadSecret } from './auth/tokens.js';
import { hashPassword } from './auth/passwords.js';
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
import { searchConsumer } from './projector/search.js';
import { reindexDocument, unindexedDocuments } from './search/store.js';
import { RedisReplicator } from './scale/redis-replicator.js';
import { ensureSampleDocument } from './sample.js';
import { log } from './log.js';
import { FailureCounter } from './limits.js';
import type express from 'express';

export interface RunningServer {
  url: string;
  port: number;
  http: Server;
  context: AppContext;
  close(): Promise<void>;
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
  await ensureAdmin(storage, config);
  if (config.seedSample) await ensureSampleDocument(storage, config);

  const tokens = new Tokens(loadSecret(config.secret, config.dataDir), config.tokenTtlSeconds);
  const replicator = config.redisUrl
    ? await RedisReplicator.connect({
        url: config.redisUrl,
        prefix: config.redisPrefix,
        storage,
        catchUpIntervalMs: config.catchUpIntervalMs,
      })
    : null;
  // The log projector: woken after each stored batch, run before each compaction (which deletes only projected
  // entries), and catching up on its own. Its consumers: the library's activity (documents.updated_at and counts)
  // and the search index.
  const projector: Projector = new Projector({
    db: storage.db,
    engine: storage.kind,
    delayMs: config.projectionDelayMs,
    consumers: [
      activityConsumer({
        log: storage.log,
        loadedCounts: async (id) => {
          // A document that failed to load here is counted from storage instead.
          const live = await registry.peek(id)?.catch(() => null);
          return live && !live.broken ? documentCounts(live.doc) : null;
        },
        reuseMs: Math.min(1000, config.projectionDelayMs / 2),
      }),
      searchConsumer({
        log: storage.log,
        fromLoaded: async (id, rows) => {
          const live = await registry.peek(id)?.catch(() => null);
          return live && !live.broken ? { rows: rows(live.doc), through: live.seqs.through } : null;
        },
      }),
    ],
  });
  /** What the write path stores to: the log, projected before each compaction. */
  const liveStorage: Storage = { ...storage, log: projector.projectingBeforeCompaction(storage.log) };
  const revoked: AppContext['revoked'] = new Map();
  /** A signed-out (revoked) token opens no socket; browsers open sockets only from allowed origins. */
  const access: Extension = {
    onUpgrade: (req) => (originAllowed(ctx, req.headers.origin, req.headers.host) ? null : 'origin not allowed'),
    onAuthenticate: (principal) => (revoked.has(principal.jti) ? 'token revoked' : null),
  };
  const projection: Extension = { onStored: ({ documentId }) => projector.wake(documentId) };
  // The lifecycle extensions, in the order their hooks run: after each stored batch, the projector is woken, then
  // scale-out publishes, then compaction.
  const hooks = new Hooks([
    access,
    projection,
    ...(replicator ? [replicator] : []),
    new Compaction(liveStorage, config.limits),
    refusalAudit(storage),
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
    revoked,
    loginFailures: {
      byUser: new FailureCounter(config.limits.maxLoginFailuresPerUser, config.limits.loginWindowMs),
      byIp: new FailureCounter(config.limits.maxLoginFailuresPerIp, config.limits.loginWindowMs),
    },
    collab: null,
    replicator,
  };
  const app = createApp(ctx, {
    clientDir: opts.clientDir === undefined ? DEFAULT_CLIENT_DIR : opts.clientDir,
    extraRoutes: opts.extraRoutes,
  });
  const http = createServer(app);
  ctx.collab = attachCollabEndpoint(http, { config, storage, tokens, registry, hooks });
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [jti, exp] of ctx.revoked) if (exp < now) ctx.revoked.delete(jti);
  }, 60_000);
  sweep.unref();

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

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(sweep);
      http.close();
      ctx.collab?.close();
      await registry.closeAll(1001, 'server shutting down');
      ctx.collab?.closeAll(1001, 'server shutting down');
      http.closeAllConnections();
      await replicator?.close();
      await projector.close();
      if (!opts.storage) await storage.close();
    })());
  return { url, port, http, context: ctx, close };
}

/** Indexes the documents that have no search rows yet (made before the index existed). */
async function indexUnindexed(storage: Storage): Promise<void> {
  try {
    for (const id of await unindexedDocuments(storage.db)) await reindexDocument(storage, id);
  } catch (e) {
    log.error('indexing documents for search failed; run `marginalia reindex`', { error: (e as Error).message });
  }
}

async function ensureAdmin(storage: Storage, config: Config): Promise<void> {
  if (!config.adminUser || !config.adminPassword) return;
  const username = config.adminUser.toLowerCase();
  const existing = await storage.getUserByUsername(username);
  const passwordHash = await hashPassword(config.adminPassword);
  if (existing) {
    await storage.setPassword(existing.id, passwordHash);
    return;
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
}
