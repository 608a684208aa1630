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

export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  if (err instanceof HttpError) {
    res.status(err.status).json({ error: err.message });
    return;
  }
  if (err instanceof WriteError || (err instanceof StorageError && err.code === 'unavailable')) {
    // The change was not stored (so it is nowhere): safe to send again. The storage's own words stay in the log.
    log.warn('change not stored', { error: err.message });
    res
      .status(503)
      .set('Retry-After', '1')
      .json({ error: 'the change could not be stored; nothing was changed, try again' });
    return;
  }
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.too.large') {
    res.status(413).json({ error: 'request body too large' });
    return;
  }
  if (e.type === 'entity.parse.failed') {
    res.status(400).json({ error: 'request body is not valid JSON' });
    return;
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    res.status(e.status).json({ error: e.message ?? 'bad request' });
    return;
  }
  log.error('request failed', { error: e.message, stack: (err as Error).stack });
  res.status(500).json({ error: 'internal error' });
};
