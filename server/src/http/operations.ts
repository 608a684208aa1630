/**
 * What operators and their tools talk to: the request id and access log of every HTTP request, the REST
 * metrics, `GET /metrics` (Prometheus text, optionally behind a bearer token, on the main port or its own), and
 * the readiness answer that load balancers poll.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Config } from '../config.js';
import { log, type Log } from '../log.js';
import { metrics, registry } from '../metrics.js';
import type { AppContext } from './context.js';
import { route, type RouteSpec } from './api-spec.js';
import { z } from 'zod';

/** `GET /metrics` in the API description (the route is registered on the main app and on the metrics port). */
export const METRICS_SPEC: RouteSpec = {
  tag: 'service',
  summary: 'Prometheus metrics (404 here when MARGINALIA_METRICS_PORT is set: then only on that port)',
  access: 'metrics-token',
  responses: { 200: { description: 'Prometheus text format', type: 'text/plain; version=0.0.4', schema: z.string() } },
  errors: { 404: 'served on MARGINALIA_METRICS_PORT instead' },
};

/** An incoming X-Request-Id is kept when it is short and plain (it goes into logs and headers as is). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Paths polled by machines: logged at debug, not info. */
const QUIET_PATHS = new Set(['/metrics', '/api/health', '/api/health/ready']);

/** The logger of the request being answered (its lines carry the request id), or the process's. */
export function requestLog(res: Response): Log {
  return (res.locals.log as Log | undefined) ?? log;
}

/** The route template a request matched (`/api/documents/:id`), never the raw URL: bounded metric labels. */
function routeOf(req: Request, status: number): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return req.baseUrl + path;
  return status === 404 ? 'unmatched' : 'static';
}

/**
 * Gives each request an id (the caller's X-Request-Id when sane, else a new one), returns it in the answer,
 * binds it to the request's logger (`requestLog(res)`), and when the answer is sent logs one access line and
 * counts the request by route template and status.
 */
export function requestContext(): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const incoming = req.headers['x-request-id'];
    const reqId = typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', reqId);
    const reqLog = log.child({ reqId });
    res.locals.log = reqLog;
    res.on('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      const route = routeOf(req, res.statusCode);
      metrics.httpRequests.inc({ method: req.method, route, status: res.statusCode });
      metrics.httpSeconds.observe({ method: req.method, route }, seconds);
      const path = req.originalUrl.split('?', 1)[0]!;
      // Polls and the app's own files are not worth a line each at info.
      const level = res.statusCode >= 500 ? 'warn' : QUIET_PATHS.has(path) || route === 'static' ? 'debug' : 'info';
      // The path without its query (which may hold search terms); never headers (they hold tokens and cookies).
      reqLog[level]('request', {
        method: req.method,
        path,
        route,
        status: res.statusCode,
        ms: Math.round(seconds * 10_000) / 10,
        ip: req.ip,
      });
    });
    next();
  };
}

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** `GET /metrics`: the registry in Prometheus text format; 401 without the bearer token when one is configured. */
export function metricsHandler(config: Pick<Config, 'metricsToken'>): RequestHandler {
  return async (req, res) => {
    if (config.metricsToken) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m || !sameSecret(m[1]!, config.metricsToken)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        res.status(401).type('text/plain').send('metrics need the bearer token (MARGINALIA_METRICS_TOKEN)\n');
        return;
      }
    }
    res.setHeader('Cache-Control', 'no-store');
    res.type(registry.contentType).send(await registry.metrics());
  };
}

/** Whether `p` settles successfully within `ms`. */
function answersWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  const settled = p.then(
    () => true,
    () => false,
  );
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}

/** How long storage has to answer a readiness check. */
const READY_TIMEOUT_MS = 2000;

/**
 * `GET /api/health/ready`: 200 when storage answers, Redis (when configured) is connected, and the instance is not
 * draining; 503 otherwise, with what failed. Load balancers take an instance out of rotation on 503.
 */
export function readiness(ctx: AppContext): RequestHandler {
  return async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const redis = ctx.replicator ? (ctx.replicator.healthy ? 'ok' : 'down') : 'off';
    if (ctx.draining) {
      res.status(503).json({ ready: false, draining: true, storage: 'unchecked', redis });
      return;
    }
    const storageOk = await answersWithin(ctx.storage.ping(), READY_TIMEOUT_MS);
    const ready = storageOk && redis !== 'down' && !ctx.draining;
    res.status(ready ? 200 : 503).json({ ready, draining: ctx.draining, storage: storageOk ? 'ok' : 'down', redis });
  };
}

/** The metrics on their own port (MARGINALIA_METRICS_PORT): only `GET /metrics` answers there. */
export async function startMetricsServer(
  config: Pick<Config, 'host' | 'metricsPort' | 'metricsToken'>,
): Promise<{ server: Server; url: string }> {
  const app = express();
  app.disable('x-powered-by');
  route(app, 'get', '/metrics', METRICS_SPEC, metricsHandler(config));
  app.use((_req, res) => void res.status(404).type('text/plain').send('only GET /metrics answers on this port\n'));
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort ?? 0, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { server, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics` };
}
