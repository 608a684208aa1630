/** Documents: list, create (import), read, delete, members, plain text. */
import { Router } from 'express';
import { z } from 'zod';
import { ROLES, articleText, type Role } from '@marginalia/shared';
import { createDocument } from '../documents.js';
import { HttpError, forbidden, notFound, parseBody } from './errors.js';
import { documentAccess, principalOf, type AppContext } from './context.js';
import type { DocumentRecord } from '../storage/types.js';
import { forgetVersions, readDocumentAt, versionParam } from '../versions/read.js';
import { markSeen, visitsOf, type Visit } from '../visits.js';
import { route } from './api-spec.js';
import * as A from './api-answers.js';

const RoleSchema = z.enum(ROLES as [Role, ...Role[]]);
const CreateBody = z.object({
  title: z.string().trim().min(1, 'a title is required').max(300),
  format: z.enum(['text', 'markdown', 'html']).default('text'),
  content: z.string().min(1, 'content is empty'),
  guestRole: RoleSchema.nullable().optional(),
  source: z.string().max(2000).optional(),
  author: z.string().max(300).optional(),
  publishedAt: z.string().max(100).optional(),
});
const MemberBody = z.object({ role: RoleSchema });
const DocumentPatch = z.object({ guestRole: RoleSchema.nullable() }).strict();
const AuditQuery = z.object({ limit: z.string().optional().describe('1–1000, default 200') });
const TextQuery = z.object({ version: z.string().optional().describe('a version id: the text as of that version') });
const T = 'documents';

const NEVER: Visit = { lastSeenAt: null, unreadComments: 0 };

const view = (d: DocumentRecord, role: Role, visit: Visit = NEVER) => ({
  id: d.id,
  title: d.title,
  role,
  guestRole: d.guestRole,
  createdBy: d.createdBy,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
  threadCount: d.threadCount,
  commentCount: d.commentCount,
  unreadComments: visit.unreadComments,
  lastSeenAt: visit.lastSeenAt,
});

export function documentRoutes(ctx: AppContext): Router {
  const r = Router();

  route(
    r,
    'get',
    '/documents',
    {
      tag: T,
      summary: 'The documents the caller may see, most recently active first',
      access: 'signed-in',
      responses: { 200: { description: 'the documents', schema: z.array(A.Document) } },
    },
    async (_req, res) => {
      const p = principalOf(res);
      const memberships = p.guest ? new Map<string, Role>() : await ctx.storage.membershipsOf(p.id);
      const visits = p.guest ? new Map<string, Visit>() : await visitsOf(ctx.storage.db, p.id);
      const docs = await ctx.storage.listDocuments();
      const out = [];
      for (const d of docs) {
        const role: Role | null = p.admin ? 'owner' : (memberships.get(d.id) ?? d.guestRole);
        if (role) out.push(view(d, role, visits.get(d.id)));
      }
      res.json(out);
    },
  );

  route(
    r,
    'post',
    '/documents',
    {
      tag: T,
      summary: 'Create (import) a document; the caller becomes owner',
      access: 'account',
      body: CreateBody,
      responses: { 201: { description: 'created', schema: A.Created } },
      errors: { 422: 'the content holds no text' },
    },
    async (req, res) => {
      const p = principalOf(res);
      if (p.guest) throw forbidden('guests cannot create documents; sign in with an account');
      const body = parseBody(CreateBody, req.body);
      let id: string;
      try {
        id = await createDocument(ctx.storage, {
          title: body.title,
          format: body.format,
          content: body.content,
          guestRole: body.guestRole ?? null,
          source: body.source,
          author: body.author,
          publishedAt: body.publishedAt,
          createdBy: p.id,
          ownerId: p.id,
        });
      } catch (e) {
        if ((e as { name?: string }).name === 'ImportError') throw new HttpError(422, (e as Error).message);
        throw e;
      }
      await ctx.storage.audit({
        docId: id,
        actorId: p.id,
        action: 'document.created',
        detail: { title: body.title, format: body.format },
      });
      res.status(201).json({ id });
    },
  );

  route(
    r,
    'get',
    '/documents/:id',
    {
      tag: T,
      summary: 'One document',
      access: 'viewer',
      responses: { 200: { description: 'the document', schema: A.Document } },
    },
    async (req, res) => {
      const { record, role, principal } = await documentAccess(ctx, res, req.params.id);
      const visit = principal.guest ? NEVER : (await visitsOf(ctx.storage.db, principal.id)).get(record.id);
      res.json(view(record, role, visit));
    },
  );

  // The reader has seen the document (the client calls it as the reader reaches the end or leaves).
  route(
    r,
    'post',
    '/documents/:id/seen',
    {
      tag: T,
      summary: 'The caller has viewed the document now',
      access: 'viewer',
      responses: { 200: { description: 'the time kept (null for guests)', schema: A.Seen } },
    },
    async (req, res) => {
      const { record, principal } = await documentAccess(ctx, res, req.params.id);
      if (principal.guest) return void res.json({ lastSeenAt: null });
      res.json({ lastSeenAt: await markSeen(ctx.storage.db, principal.id, record.id) });
    },
  );

  /** Opens the document to guests with a role, or closes it (null): every instance re-checks their sockets. */
  route(
    r,
    'patch',
    '/documents/:id',
    {
      tag: T,
      summary: 'Open the document to guests with a role, or close it (null)',
      access: 'owner',
      body: DocumentPatch,
      responses: { 200: { description: 'the document as GET answers it', schema: A.Document } },
    },
    async (req, res) => {
      const { record, role, principal } = await documentAccess(ctx, res, req.params.id, 'owner');
      const { guestRole } = parseBody(DocumentPatch, req.body);
      await ctx.storage.updateDocument(record.id, { guestRole });
      await ctx.storage.audit({
        docId: record.id,
        actorId: principal.id,
        action: 'document.guest-role',
        detail: { guestRole, previous: record.guestRole },
      });
      if (guestRole !== record.guestRole) await ctx.access.membersChanged(record.id, null);
      res.json(view({ ...record, guestRole }, role));
    },
  );

  route(
    r,
    'delete',
    '/documents/:id',
    {
      tag: T,
      summary: 'Delete the document; connected clients are closed with 4404',
      access: 'owner',
      responses: { 204: { description: 'deleted' } },
    },
    async (req, res) => {
      const { record, principal } = await documentAccess(ctx, res, req.params.id, 'owner');
      await ctx.registry.evict(record.id, 4404, 'document deleted');
      await ctx.storage.deleteDocument(record.id);
      forgetVersions(record.id);
      await ctx.storage.audit({
        docId: null,
        actorId: principal.id,
        action: 'document.deleted',
        detail: { id: record.id, title: record.title },
      });
      res.status(204).end();
    },
  );

  route(
    r,
    'get',
    '/documents/:id/text',
    {
      tag: T,
      summary: "The article's plain text",
      access: 'viewer',
      query: TextQuery,
      responses: { 200: { description: 'blocks joined by a blank line', type: 'text/plain', schema: z.string() } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      const version = versionParam(req.query.version);
      const text = await readDocumentAt(ctx, record.id, version, (doc) => articleText(doc));
      res.type('text/plain; charset=utf-8').send(text);
    },
  );

  route(
    r,
    'get',
    '/documents/:id/audit',
    {
      tag: T,
      summary: "The document's audit log, newest first",
      access: 'owner',
      query: AuditQuery,
      responses: { 200: { description: 'audit records', schema: z.array(A.AuditRecord) } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id, 'owner');
      const limit = Math.min(Math.max(Number(req.query.limit) || 200, 1), 1000);
      res.json(await ctx.storage.listAudit(record.id, limit));
    },
  );

  route(
    r,
    'get',
    '/documents/:id/members',
    {
      tag: T,
      summary: "The document's members",
      access: 'owner',
      responses: { 200: { description: 'members', schema: z.array(A.Member) } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id, 'owner');
      const members = await ctx.storage.listMembers(record.id);
      res.json(members.map((m) => ({ id: m.userId, username: m.username, name: m.name, role: m.role })));
    },
  );

  route(
    r,
    'put',
    '/documents/:id/members/:username',
    {
      tag: T,
      summary: "Set a member's role",
      access: 'owner',
      body: MemberBody,
      responses: { 200: { description: 'the member', schema: A.Member } },
      errors: { 404: 'no such document or user', 409: 'it would leave the document without an owner' },
    },
    async (req, res) => {
      const { record, principal } = await documentAccess(ctx, res, req.params.id, 'owner');
      const { role } = parseBody(MemberBody, req.body);
      const user = await ctx.storage.getUserByUsername(String(req.params.username).toLowerCase());
      if (!user) throw notFound(`no user "${req.params.username}"`);
      const previous = await ctx.storage.getMemberRole(record.id, user.id);
      if (previous === 'owner' && role !== 'owner') await ensureAnotherOwner(ctx, record.id, user.id);
      await ctx.storage.setMember(record.id, user.id, role);
      await ctx.storage.audit({
        docId: record.id,
        actorId: principal.id,
        action: 'member.set',
        detail: { username: user.username, role, previous },
      });
      // Every instance re-checks this member's open sockets (a changed role reconnects with the new one).
      if (previous !== role) await ctx.access.membersChanged(record.id, user.id);
      res.json({ id: user.id, username: user.username, name: user.name, role });
    },
  );

  route(
    r,
    'delete',
    '/documents/:id/members/:username',
    {
      tag: T,
      summary: 'Remove a member',
      access: 'owner',
      responses: { 204: { description: 'removed' } },
      errors: { 404: 'no such document, or not a member', 409: 'the last owner' },
    },
    async (req, res) => {
      const { record, principal } = await documentAccess(ctx, res, req.params.id, 'owner');
      const user = await ctx.storage.getUserByUsername(String(req.params.username).toLowerCase());
      if (!user) throw notFound(`no user "${req.params.username}"`);
      const previous = await ctx.storage.getMemberRole(record.id, user.id);
      if (!previous) throw notFound(`"${user.username}" is not a member`);
      if (previous === 'owner') await ensureAnotherOwner(ctx, record.id, user.id);
      await ctx.storage.removeMember(record.id, user.id);
      await ctx.storage.audit({
        docId: record.id,
        actorId: principal.id,
        action: 'member.removed',
        detail: { username: user.username, previous },
      });
      // Every instance closes this member's sockets (4403), or reconnects them with the guest role (4000).
      await ctx.access.membersChanged(record.id, user.id);
      res.status(204).end();
    },
  );

  return r;
}

async function ensureAnotherOwner(ctx: AppContext, docId: string, leavingUserId: string): Promise<void> {
  const owners = (await ctx.storage.listMembers(docId)).filter((m) => m.role === 'owner' && m.userId !== leavingUserId);
  if (owners.length === 0) throw new HttpError(409, 'a document needs at least one owner; add another owner first');
}
