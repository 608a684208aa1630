/**
 * Exports and annotation imports over REST (docs/API.md): GET …/export?format=md|html|w3c|csv|docx|json with the
 * status/tags/authors filters, served as a download; POST …/import?format=w3c|json re-finds each annotation's
 * passage and writes the threads through the live document's durable path, so connected clients see them at once.
 * The formats themselves live in `shared` (one code path for REST, the CLI and the client).
 */
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import * as Y from 'yjs';
import {
  EXPORT_FORMATS,
  IMPORT_FORMATS,
  ImportFormatError,
  ModelError,
  ROLE_RANK,
  applyImport,
  exportDocument,
  exportFilename,
  planJsonImport,
  planW3cImport,
  readThreadMap,
  threadsMap,
  type ExportFormat,
  type ImportPlan,
  type ImportResult,
} from '@marginalia/shared';
import { HttpError } from './errors.js';
import { documentAccess, type AppContext } from './context.js';
import { readDocumentAt, versionParam } from '../versions/read.js';
import { route } from './api-spec.js';
import * as A from './api-answers.js';

/** A query value as a list: `tags=a,b` and `tags=a&tags=b` mean the same. */
const List = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) =>
    v === undefined
      ? []
      : (Array.isArray(v) ? v : [v])
          .flatMap((s) => s.split(','))
          .map((s) => s.trim())
          .filter(Boolean),
  );

const ExportQuery = z.object({
  format: z.enum(Object.keys(EXPORT_FORMATS) as [ExportFormat, ...ExportFormat[]], {
    error: `format must be one of ${Object.keys(EXPORT_FORMATS).join(', ')}`,
  }),
  status: z.enum(['open', 'resolved', 'all'], { error: 'status must be open, resolved or all' }).optional(),
  tags: List,
  authors: List,
  version: z.unknown().optional().describe('a version id: the export as of that version'),
});

/** The body is read by the import planners (shared/src/export/import.ts), which answer 422 for what they refuse. */
const ImportBody = z
  .union([z.record(z.string(), z.unknown()), z.array(z.unknown())])
  .describe('W3C: an AnnotationCollection, AnnotationPage, Annotation or array of them; json: a Marginalia dump');

const ImportQuery = z.object({
  format: z.enum(IMPORT_FORMATS, { error: `format must be one of ${IMPORT_FORMATS.join(', ')}` }),
});

export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const r = schema.safeParse(query ?? {});
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

/** The origin clients reach this server at, for the ids of W3C annotations. */
function baseUrlOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

/** `attachment` with an ASCII file name and the exact title for clients that read RFC 6266's filename*. */
function contentDisposition(title: string, format: ExportFormat): string {
  const ascii = exportFilename(title, format);
  const exact = `${title.trim() || 'marginalia-export'}.${EXPORT_FORMATS[format].extension}`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(exact).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** Names of everyone the document's comments mention, for exports to show `@Name`. */
async function mentionedPeople(ctx: AppContext, docId: string) {
  const ids = await ctx.registry.with(docId, (live) => {
    const found = new Set<string>();
    threadsMap(live.doc).forEach((map) => {
      for (const c of (map instanceof Y.Map ? readThreadMap(map) : null)?.comments ?? [])
        for (const id of c.mentions) found.add(id);
    });
    return [...found];
  });
  const people = new Map<string, { username: string; name: string }>();
  if (ids.length === 0) return people;
  const rows = await ctx.storage.db
    .selectFrom('users')
    .select(['id', 'username', 'name'])
    .where('id', 'in', ids)
    .execute();
  for (const r of rows) people.set(r.id, { username: r.username, name: r.name });
  return people;
}

export function exportRoutes(ctx: AppContext): Router {
  const r = Router();

  route(
    r,
    'get',
    '/documents/:id/export',
    {
      tag: 'exports',
      summary: 'Export the document with its threads, as a download',
      access: 'viewer',
      query: ExportQuery,
      responses: {
        200: {
          description:
            'the file (Content-Disposition: attachment); its content type follows the format: text/markdown, text/html, application/ld+json, text/csv, application/vnd.openxmlformats-officedocument.wordprocessingml.document or application/json',
          type: 'application/octet-stream',
        },
      },
      errors: { 404: 'no such document or version' },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      const query = parseQuery(ExportQuery, req.query);
      const format = query.format;
      // The export reads the document synchronously before its first await, so it sees one consistent state.
      const version = versionParam(query.version);
      const people = await mentionedPeople(ctx, record.id);
      const body = await readDocumentAt(ctx, record.id, version, (doc, threads) =>
        exportDocument(doc, format, {
          threads: threads(),
          docId: record.id,
          baseUrl: baseUrlOf(req),
          people,
          ...(query.status ? { status: query.status } : {}),
          tags: query.tags,
          authors: query.authors,
        }),
      );
      res.setHeader('Content-Type', EXPORT_FORMATS[format].contentType);
      res.setHeader('Content-Disposition', contentDisposition(record.title, format));
      res.setHeader('Cache-Control', 'no-store');
      // Should a browser show the file instead of saving it, nothing in it may run.
      res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
      res.send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    },
  );

  route(
    r,
    'post',
    '/documents/:id/import',
    {
      tag: 'exports',
      summary: 'Import annotations (W3C Web Annotations or a Marginalia dump)',
      access: 'commenter',
      query: ImportQuery,
      body: ImportBody,
      bodyTypes: ['application/json', 'application/ld+json'],
      responses: { 200: { description: 'the import report', schema: A.ImportResult } },
      errors: { 422: 'JSON that is not such a collection or dump' },
    },
    // The API parses application/json; W3C collections are often sent as application/ld+json.
    express.json({ type: ['application/ld+json', 'application/*+json'], limit: ctx.config.limits.maxBodyBytes }),
    async (req, res) => {
      const { record, principal, role } = await documentAccess(ctx, res, req.params.id, 'commenter');
      const { format } = parseQuery(ImportQuery, req.query);
      if (req.body === undefined || req.body === null || typeof req.body !== 'object') {
        throw new HttpError(
          422,
          'send the annotations as the JSON request body (Content-Type: application/json or application/ld+json)',
        );
      }
      const now = Date.now();
      let plan: ImportPlan;
      try {
        plan = format === 'w3c' ? planW3cImport(req.body, now) : planJsonImport(req.body, now);
      } catch (e) {
        if (e instanceof ImportFormatError) throw new HttpError(422, e.message);
        throw e;
      }
      const result = await ctx.registry.with(record.id, async (live) => {
        let out!: ImportResult;
        try {
          await live.change((doc) => {
            out = applyImport(doc, plan, {
              importerId: principal.id,
              mayDefineTags: ROLE_RANK[role] >= ROLE_RANK.editor,
              now,
            });
          }, `import:${principal.id}`);
        } catch (e) {
          if (e instanceof ModelError) throw new HttpError(422, e.message);
          throw e;
        }
        return out;
      });
      await ctx.storage.audit({
        docId: record.id,
        actorId: principal.id,
        action: 'annotations.imported',
        detail: {
          format,
          imported: result.imported,
          orphaned: result.orphaned.length,
          skipped: result.skipped,
          rejected: result.rejected.length,
        },
      });
      res.json(result);
    },
  );

  return r;
}
