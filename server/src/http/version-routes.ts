/**
 * Versions over REST (docs/API.md): the list, named versions, the diff between two versions (or a version and the
 * current document), restoring a version's article as a new change, and new revisions of the article. Reading at a
 * version (`?version=` on text, threads and export) is in those routes, through versions/read.ts.
 */
import { Router } from 'express';
import { z } from 'zod';
import { SERVER_WRITER } from '../collab/live-document.js';
import { ImportError } from '../article/import.js';
import { HttpError, parseBody } from './errors.js';
import { documentAccess, type AppContext } from './context.js';
import { listVersions } from '../versions/store.js';
import { versionView } from '../versions/read.js';
import { cachedThreadRecords } from '../versions/read-copy.js';
import { diffDocuments, type DiffSide } from '../versions/diff.js';
import { deleters } from '../versions/deletions.js';
import { blockTexts, revisionBlocks } from '../versions/revise.js';
import { recordVersion, reviseLiveArticle } from '../versions/apply.js';
import { route } from './api-spec.js';
import * as A from './api-answers.js';

const NameBody = z.object({ name: z.string().trim().min(1, 'a name is required').max(200) });
const ArticleBody = z.object({
  format: z.enum(['text', 'markdown', 'html']).default('text'),
  content: z.string().min(1, 'content is empty'),
});
const VersionRef = z.string().min(1).max(100);
const DiffQuery = z.object({ from: VersionRef, to: VersionRef.default('current') });
const ArticleQuery = z.object({ dryRun: z.enum(['true', '1', 'false', '0']).optional() });
const T = 'versions';

/** `?dryRun=true` (or 1): compute and report, change nothing. */
const dryRunOf = (v: unknown): boolean => v === 'true' || v === '1';

/** The blocks of an article given in a format, or 422. */
async function parseArticle(format: 'text' | 'markdown' | 'html', content: string): Promise<string[]> {
  try {
    return await revisionBlocks(format, content);
  } catch (e) {
    if (e instanceof ImportError) throw new HttpError(422, e.message);
    throw e;
  }
}

export function versionRoutes(ctx: AppContext): Router {
  const r = Router();

  route(
    r,
    'get',
    '/documents/:id/versions',
    {
      tag: T,
      summary: "The document's versions, newest first",
      access: 'viewer',
      responses: { 200: { description: 'versions', schema: z.array(A.Version) } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      const versions = await listVersions(ctx.storage.db, record.id);
      const names = await userNames(
        ctx,
        versions.map((v) => v.createdBy),
      );
      res.json(
        versions.map((v) => ({
          id: v.id,
          name: v.name,
          createdAt: v.createdAt,
          createdBy: v.createdBy,
          createdByName: v.createdBy ? (names.get(v.createdBy) ?? null) : null,
          automatic: v.automatic,
        })),
      );
    },
  );

  route(
    r,
    'post',
    '/documents/:id/versions',
    {
      tag: T,
      summary: 'Name the document as it is now',
      access: 'editor',
      body: NameBody,
      responses: { 201: { description: 'the version', schema: A.Created } },
    },
    async (req, res) => {
      const { record, principal } = await documentAccess(ctx, res, req.params.id, 'editor');
      const { name } = parseBody(NameBody, req.body);
      const id = await recordVersion(ctx, record.id, { name, createdBy: principal.id, automatic: false });
      await ctx.storage.audit({
        docId: record.id,
        actorId: principal.id,
        action: 'version.named',
        detail: { id, name },
      });
      res.status(201).json({ id });
    },
  );

  route(
    r,
    'get',
    '/documents/:id/diff',
    {
      tag: T,
      summary: 'What changed between two versions (or a version and the current document)',
      access: 'viewer',
      query: DiffQuery,
      responses: { 200: { description: 'the diff', schema: A.Diff } },
      errors: { 404: 'no such document or version' },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      const q = DiffQuery.safeParse({ from: req.query.from, to: req.query.to ?? undefined });
      if (!q.success) throw new HttpError(400, 'give from=<version id> and to=<version id|current>');
      const from = await versionOrNull(ctx, record.id, q.data.from);
      const to = await versionOrNull(ctx, record.id, q.data.to);
      const owners = await clientOwners(ctx, record.id);
      const deleter = await deleters(ctx.storage.db, record.id);
      // The diff is computed synchronously: on the live document (for `current`) it sees one consistent state.
      // The live document's threads are read through its record cache.
      const diff =
        from && to
          ? diffDocuments(from, to, (c) => owners.get(c), deleter)
          : await ctx.registry.with(record.id, (live) => {
              const current = { doc: live.doc, threads: cachedThreadRecords(live.doc) };
              return diffDocuments(from ?? current, to ?? current, (c) => owners.get(c), deleter);
            });
      const ids = new Set<string>(diff.counts.keys());
      for (const t of diff.threads) if (t.by) ids.add(t.by);
      const names = await userNames(ctx, [...ids]);
      res.json({
        article: diff.article,
        threads: diff.threads,
        authors: [...ids].map((id) => ({
          id,
          name: names.get(id) ?? id,
          inserted: diff.counts.get(id)?.inserted ?? 0,
          deleted: diff.counts.get(id)?.deleted ?? 0,
        })),
      });
    },
  );

  route(
    r,
    'post',
    '/documents/:id/versions/:versionId/restore',
    {
      tag: T,
      summary: "Return the article to a version's text, as a new change",
      access: 'editor',
      responses: { 200: { description: 'the version recorded before, and where anchors resolve', schema: A.Revision } },
      errors: { 404: 'no such document or version' },
    },
    async (req, res) => {
      const { record, principal } = await documentAccess(ctx, res, req.params.id, 'editor');
      const target = blockTexts((await versionView(ctx, record.id, String(req.params.versionId))).doc);
      const out = await reviseLiveArticle(ctx, record.id, target, {
        userId: principal.id,
        dryRun: false,
        origin: `restore:${principal.id}`,
      });
      await ctx.storage.audit({
        docId: record.id,
        actorId: principal.id,
        action: 'version.restored',
        detail: { restored: req.params.versionId, before: out.version },
      });
      res.json({ version: out.version, anchors: out.anchors });
    },
  );

  route(
    r,
    'put',
    '/documents/:id/article',
    {
      tag: T,
      summary: 'A new revision of the article, applied as a minimal edit',
      access: 'editor',
      query: ArticleQuery,
      body: ArticleBody,
      responses: { 200: { description: 'the version recorded before, and where anchors resolve', schema: A.Revision } },
      errors: { 422: 'content without text' },
    },
    async (req, res) => {
      const { record, principal } = await documentAccess(ctx, res, req.params.id, 'editor');
      const body = parseBody(ArticleBody, req.body);
      const dryRun = dryRunOf(req.query.dryRun);
      const target = await parseArticle(body.format, body.content);
      const out = await reviseLiveArticle(ctx, record.id, target, {
        userId: principal.id,
        dryRun,
        origin: `revision:${principal.id}`,
      });
      if (!dryRun) {
        await ctx.storage.audit({
          docId: record.id,
          actorId: principal.id,
          action: 'article.revised',
          detail: { format: body.format, before: out.version, anchors: out.anchors },
        });
      }
      res.json({ version: out.version, anchors: out.anchors, ...(dryRun ? { dryRun: true } : {}) });
    },
  );

  return r;
}

/** A version (its read copy), or null for `current` (the live document). */
async function versionOrNull(ctx: AppContext, docId: string, ref: string): Promise<DiffSide | null> {
  return ref === 'current' ? null : versionView(ctx, docId, ref);
}

/** The owner of every Yjs client id claimed in the document. */
async function clientOwners(ctx: AppContext, docId: string): Promise<Map<number, string>> {
  const rows = await ctx.storage.db
    .selectFrom('client_ids')
    .select(['client_id', 'user_id'])
    .where('doc_id', '=', docId)
    .execute();
  return new Map(rows.map((r) => [Number(r.client_id), r.user_id]));
}

/** Display names of users (the server's own writes are named as such). */
async function userNames(ctx: AppContext, ids: (string | null)[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  const names = new Map<string, string>();
  if (wanted.includes(SERVER_WRITER)) names.set(SERVER_WRITER, 'Marginalia (server)');
  const users = wanted.filter((id) => id !== SERVER_WRITER);
  if (users.length) {
    const rows = await ctx.storage.db.selectFrom('users').select(['id', 'name']).where('id', 'in', users).execute();
    for (const u of rows) names.set(u.id, u.name);
  }
  return names;
}
