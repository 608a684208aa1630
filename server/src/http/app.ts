/** The Express application: JSON API under /api, the built client at /, security headers. */
import express, { type Express } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { authenticate, type AppContext } from './context.js';
import { authRoutes } from './auth-routes.js';
import { documentRoutes } from './document-routes.js';
import { threadRoutes } from './thread-routes.js';
import { exportRoutes } from './export-routes.js';
import { versionRoutes } from './version-routes.js';
import { searchRoutes } from './search-routes.js';
import { HttpError, errorHandler } from './errors.js';
import { METRICS_SPEC, metricsHandler, readiness, requestContext } from './operations.js';
import { mount, route } from './api-spec.js';
import { apiDocsRoutes } from './api-docs.js';
import { clientPage } from './document-page.js';
import * as A from './api-answers.js';

export const VERSION = '0.1.0';

export interface AppOptions {
  /** Folder of the built client (client/dist); the API works without it. */
  clientDir: string | null;
  /** Extra routers mounted under /api (threads, exports…), in order. */
  extraRoutes?: ((ctx: AppContext) => express.Router)[];
}

export function createApp(ctx: AppContext, opts: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestContext());
  // On the main port unless it has its own (MARGINALIA_METRICS_PORT).
  route(
    app,
    'get',
    '/metrics',
    METRICS_SPEC,
    ctx.config.metricsPort === null
      ? metricsHandler(ctx.config)
      : (_req, res) => void res.status(404).type('text/plain').send('metrics are served on MARGINALIA_METRICS_PORT\n'),
  );
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });

  const api = express.Router();
  api.use(express.json({ limit: ctx.config.limits.maxBodyBytes }));
  api.use((req, _res, next) => {
    const unsafe = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    if (unsafe && !originAllowed(ctx, req.headers.origin, req.headers.host)) {
      return next(new HttpError(403, `origin ${req.headers.origin} is not allowed (ALLOWED_ORIGINS)`));
    }
    next();
  });
  route(
    api,
    'get',
    '/health',
    {
      tag: 'service',
      summary: 'Liveness: the process answers, with the state of storage and Redis',
      access: 'anyone',
      responses: { 200: { description: 'alive', schema: A.Health } },
      errors: { 503: 'the database does not answer (storageOk: false; the body is the same shape)' },
    },
    async (_req, res) => {
      const storageOk = await Promise.race([
        ctx.storage.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
      ]);
      const redis = ctx.replicator ? (ctx.replicator.healthy ? 'ok' : 'down') : 'off';
      const ok = storageOk && redis !== 'down';
      res.status(storageOk ? 200 : 503).json({
        ok,
        storage: ctx.storage.kind,
        storageOk,
        redis,
        signingKey: ctx.signingKeyFingerprint,
        documentsLoaded: ctx.registry.residentCount,
      });
    },
  );
  route(
    api,
    'get',
    '/health/ready',
    {
      tag: 'service',
      summary:
        'Readiness, for load balancers: 200 only when storage (and Redis) answer and the instance is not draining',
      access: 'anyone',
      responses: {
        200: { description: 'ready', schema: A.Ready },
        503: { description: 'not ready: what failed', schema: A.Ready },
      },
    },
    readiness(ctx),
  );
  route(
    api,
    'get',
    '/config',
    {
      tag: 'service',
      summary: 'What the sign-in page needs',
      access: 'anyone',
      responses: { 200: { description: 'configuration', schema: A.ClientConfig } },
    },
    (_req, res) => {
      res.json({ guests: true, version: VERSION, storage: ctx.storage.kind });
    },
  );
  api.use(apiDocsRoutes(app, VERSION));
  api.use(authenticate(ctx));
  api.use(authRoutes(ctx));
  api.use(documentRoutes(ctx));
  api.use(threadRoutes(ctx));
  api.use(exportRoutes(ctx));
  api.use(versionRoutes(ctx));
  api.use(searchRoutes(ctx));
  for (const routes of opts.extraRoutes ?? []) api.use(routes(ctx));
  api.use((req, _res, next) => next(new HttpError(404, `no such endpoint: ${req.method} ${req.path}`)));
  api.use(errorHandler);
  mount(app, '/api', api);

  if (opts.clientDir && existsSync(join(opts.clientDir, 'index.html'))) {
    const clientDir = opts.clientDir;
    app.use(
      express.static(clientDir, {
        index: false,
        setHeaders: (res, path) => {
          if (path.includes('/assets/')) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        },
      }),
    );
    route(app, 'get', '/{*path}', { hidden: "the web client's pages" }, clientPage(ctx, clientDir));
  } else {
    route(app, 'get', '/', { hidden: 'a note that the client is not built' }, (_req, res) => {
      res.type('text/plain').send('Marginalia API is running; the client bundle is not built (run `npm run build`).');
    });
  }
  app.use(errorHandler);
  return app;
}

/**
 * Browsers send Origin on cross-site requests and WebSocket upgrades: it must be the server's own origin or
 * one of ALLOWED_ORIGINS. Clients that send no Origin (scripts, the CLI) are not browsers and pass.
 */
export function originAllowed(ctx: AppContext, origin: string | undefined, host: string | undefined): boolean {
  if (!origin) return true;
  if (ctx.config.allowedOrigins?.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
