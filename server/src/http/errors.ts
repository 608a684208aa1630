/** Errors a caller can act on: a status and a message, sent as JSON `{ error }`. */
import type { ErrorRequestHandler } from 'express';
import { z } from 'zod';
import { log } from '../log.js';
import { WriteError } from '../collab/live-document.js';
import { StorageError } from '../storage/types.js';

export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 503,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (m: string) => new HttpError(400, m);
export const unauthorized = (m = 'sign in first') => new HttpError(401, m);
export const forbidden = (m = 'not allowed') => new HttpError(403, m);
export const notFound = (m = 'not found') => new HttpError(404, m);

/** Parses a body with a zod schema; a mismatch is a 400 that names the fields. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const detail = r.error.issues
      .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
    throw new HttpError(400, `invalid request body: ${detail}`);
  }
  return r.data;
}

interface Mapped {
  status: number;
  message: string;
  headers?: Record<string, string>;
  /** Logged with this level and message (the error's own words go with it); unlogged when absent. */
  log?: { level: 'warn' | 'error'; msg: string };
}

/**
 * Every error a route can end with, and what the caller is told: the first rule that matches answers. Errors
 * not listed are defects: logged with their stack, answered 500 without detail.
 */
const ERROR_RULES: ((err: unknown) => Mapped | null)[] = [
  (err) => (err instanceof HttpError ? { status: err.status, message: err.message } : null),
  // The change was not stored (so it is nowhere): safe to send again. The storage's own words stay in the log.
  (err) =>
    err instanceof WriteError || (err instanceof StorageError && err.code === 'unavailable')
      ? {
          status: 503,
          message: 'the change could not be stored; nothing was changed, try again',
          headers: { 'Retry-After': '1' },
          log: { level: 'warn', msg: 'change not stored' },
        }
      : null,
  // Express's body parser.
  (err) => (bodyParserType(err) === 'entity.too.large' ? { status: 413, message: 'request body too large' } : null),
  (err) =>
    bodyParserType(err) === 'entity.parse.failed' ? { status: 400, message: 'request body is not valid JSON' } : null,
  // Other client errors raised by Express or its middleware carry their own status.
  (err) => {
    const e = err as { status?: unknown; message?: string };
    return typeof e.status === 'number' && e.status >= 400 && e.status < 500
      ? { status: e.status, message: e.message ?? 'bad request' }
      : null;
  },
];

const bodyParserType = (err: unknown): unknown => (err as { type?: unknown } | null)?.type;

/** What the caller of a route that failed with `err` is told. */
export function mapError(err: unknown): Mapped {
  for (const rule of ERROR_RULES) {
    const mapped = rule(err);
    if (mapped) return mapped;
  }
  return { status: 500, message: 'internal error', log: { level: 'error', msg: 'request failed' } };
}

export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  const mapped = mapError(err);
  if (mapped.log) {
    const e = err as Error | undefined;
    const stack = mapped.status === 500 ? { stack: e?.stack } : {};
    // The request's logger: the line carries its request id.
    const logger = (res.locals?.log as typeof log | undefined) ?? log;
    logger[mapped.log.level](mapped.log.msg, { error: e?.message, ...stack });
  }
  for (const [name, value] of Object.entries(mapped.headers ?? {})) res.set(name, value);
  res.status(mapped.status).json({ error: mapped.message });
};
