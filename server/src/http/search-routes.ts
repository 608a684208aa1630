/**
 * Search across every document the caller may read: `GET /api/search` (docs/API.md). The caller's access is
 * applied in the query itself, so a member removed a moment ago finds nothing of that document at once.
 */
import { Router } from 'express';
import { z } from 'zod';
import { DOC_ID } from '../access.js';
import { QueryError, parseQuery } from '../search/query.js';
import { search } from '../search/store.js';
import { HttpError, badRequest } from './errors.js';
import { principalOf, type AppContext } from './context.js';
import { route } from './api-spec.js';
import * as A from './api-answers.js';

/** A list parameter: repeated (`tags=a&tags=b`) or comma-separated (`tags=a,b`). */
const list = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) =>
    (v === undefined ? [] : Array.isArray(v) ? v : [v])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine((v) => v.length <= 20, 'at most 20 values');

const SearchQuery = z.object({
  q: z.string().optional().default(''),
  tags: list,
  authors: list,
  status: z.enum(['open', 'resolved']).optional(),
  document: z.string().regex(DOC_ID, 'not a document id').optional(),
  kind: z.enum(['comment', 'article', 'title']).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional().default(20),
  cursor: z.string().max(200).optional(),
});

/** Cursors are opaque to callers: the offset of the next page, encoded. */
const encodeCursor = (offset: number): string => Buffer.from(JSON.stringify({ o: offset })).toString('base64url');

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined || cursor === '') return 0;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { o?: unknown };
    if (typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0 && v.o <= 100_000) return v.o;
  } catch {
    // answered below
  }
  throw badRequest('cursor is not one this endpoint returned');
}

export function searchRoutes(ctx: AppContext): Router {
  const r = Router();
  route(
    r,
    'get',
    '/search',
    {
      tag: 'search',
      summary: 'Search every document the caller may read',
      access: 'signed-in',
      query: SearchQuery,
      responses: { 200: { description: 'results, best first (newest first without q)', schema: A.SearchPage } },
    },
    async (req, res) => {
      const principal = principalOf(res);
      const parsed = SearchQuery.safeParse(req.query);
      if (!parsed.success) {
        const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
        throw new HttpError(400, `invalid search: ${detail}`);
      }
      const p = parsed.data;
      let terms;
      try {
        terms = parseQuery(p.q);
      } catch (e) {
        if (e instanceof QueryError) throw badRequest(e.message);
        throw e;
      }
      if (terms.length === 0 && p.q.trim() !== '') throw badRequest('q has no words to search for');
      if (terms.length === 0 && p.kind && p.kind !== 'comment') {
        throw badRequest(`q is required to search ${p.kind === 'article' ? 'article text' : 'titles'}`);
      }
      const offset = decodeCursor(p.cursor);
      const { items, more } = await search(ctx.storage.db, ctx.storage.kind, principal, {
        terms,
        tags: p.tags,
        authors: p.authors,
        status: p.status ?? null,
        document: p.document ?? null,
        kind: p.kind ?? null,
        limit: p.limit,
        offset,
      });
      res.json({ items, nextCursor: more ? encodeCursor(offset + items.length) : null });
    },
  );
  return r;
}
