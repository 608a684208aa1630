/**
 * Threads over REST (docs/API.md): read with resolved anchors, create by offsets or by quote, reply, edit and
 * delete comments, resolve/reopen, tags; the document's tag vocabulary. Every write goes into the live Y.Doc
 * through `shared`'s mutators and the same durable path as WebSocket updates, so connected clients see it at once.
 */
import { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import * as Y from 'yjs';
import {
  ModelError,
  AnchorError,
  TEXT_LIMITS,
  THREAD_STATUSES,
  isNonBlank,
  addComment,
  createThread,
  deleteComment,
  editComment,
  readResolvedThreads,
  readThread,
  readVocabulary,
  reattachThread,
  removeTag,
  ROLE_RANK,
  setTag,
  setThreadStatus,
  setThreadTags,
  type ResolvedThread,
  type Role,
} from '@marginalia/shared';
import type { Principal } from '../auth/tokens.js';
import { HttpError, forbidden, parseBody } from './errors.js';
import { documentAccess, type AppContext } from './context.js';
import { readResolvedThreadsAt, versionParam } from '../versions/read.js';
import { resolveMentions, type MentionedUser } from '../mentions.js';
import { route } from './api-spec.js';
import * as A from './api-answers.js';

// The limits and checks of the rule table (shared/src/rules.ts), as zod schemas for request bodies. New threads and
// comments take no other field (400 "Unrecognized key"): their id, author and times are the server's to set.
const L = TEXT_LIMITS;
const Body = z.string().max(L.body, `at most ${L.body} characters`).refine(isNonBlank, 'the comment is empty');
const Tags = z.array(z.string().trim().min(1).max(L.restTag)).max(L.tagsPerThread);
const CreateThread = z.union([
  z.strictObject({ start: z.number().int().min(0), end: z.number().int().min(0), body: Body, tags: Tags.optional() }),
  z.strictObject({
    exact: z.string().min(1).max(L.quote),
    prefix: z.string().max(L.quoteContext).optional(),
    suffix: z.string().max(L.quoteContext).optional(),
    body: Body,
    tags: Tags.optional(),
  }),
]);
const NewComment = z.strictObject({ body: Body });
/** The passage a thread is re-attached to: article offsets, or a verbatim quote (as when creating one). */
const Passage = z.union([
  z.object({ start: z.number().int().min(0), end: z.number().int().min(0) }),
  z.object({
    exact: z.string().min(1).max(L.quote),
    prefix: z.string().max(L.quoteContext).optional(),
    suffix: z.string().max(L.quoteContext).optional(),
  }),
]);
const PatchThread = z
  .object({ status: z.enum(THREAD_STATUSES).optional(), tags: Tags.optional(), passage: Passage.optional() })
  .refine(
    (b) => b.status !== undefined || b.tags !== undefined || b.passage !== undefined,
    'give status, tags or passage',
  );
const VersionQuery = z.object({ version: z.string().optional().describe('a version id: as of that version') });
const T = 'threads';
const TagBody = z.object({
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #aabbcc'),
  description: z.string().max(L.tagDescription).optional(),
});

export function threadView(t: ResolvedThread) {
  return {
    id: t.id,
    status: t.status,
    tags: t.tags,
    quote: t.quote,
    start: t.start,
    end: t.end,
    anchorState: t.anchorState,
    createdBy: t.createdBy,
    createdAt: t.createdAt,
    resolvedBy: t.resolvedBy,
    resolvedAt: t.resolvedAt,
    comments: t.comments,
  };
}

/** Maps the model's refusals to statuses: not-found 404, invalid 422, conflict 409. */
function modelError(e: unknown): never {
  if (e instanceof AnchorError) throw new HttpError(422, e.message);
  if (e instanceof ModelError)
    throw new HttpError(e.code === 'not-found' ? 404 : e.code === 'conflict' ? 409 : 422, e.message);
  throw e;
}

function requireKnownTags(doc: Y.Doc, tags: readonly string[] | undefined): void {
  if (!tags?.length) return;
  const vocabulary = readVocabulary(doc);
  const unknown = tags.filter((t) => !(t in vocabulary));
  if (unknown.length)
    throw new HttpError(422, `unknown tag(s): ${unknown.join(', ')} (an editor adds tags to the vocabulary first)`);
}

export function threadRoutes(ctx: AppContext): Router {
  const r = Router();

  /** Runs a change on the live document as the caller, with the model's errors mapped to statuses. */
  async function write<T>(
    res: Response,
    id: string | undefined,
    min: Role,
    fn: (doc: Y.Doc, p: Principal, role: Role) => T,
  ): Promise<T> {
    const { record, principal, role } = await documentAccess(ctx, res, id, min);
    return ctx.registry.with(record.id, async (live) => {
      let result!: T;
      try {
        await live.change(
          (doc) => {
            result = fn(doc, principal, role);
          },
          `rest:${principal.id}`,
          { onBehalfOf: principal.id },
        );
      } catch (e) {
        modelError(e);
      }
      return result;
    });
  }

  route(
    r,
    'get',
    '/documents/:id/threads',
    {
      tag: T,
      summary: 'The threads with resolved anchors, in document order, orphans last',
      access: 'viewer',
      query: VersionQuery,
      responses: { 200: { description: 'threads', schema: z.array(A.Thread) } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      const version = versionParam(req.query.version);
      const threads = await readResolvedThreadsAt(ctx, record.id, version);
      res.json(threads.map(threadView));
    },
  );

  /** The users a body mentions who may read the document (at most TEXT_LIMITS.mentions). */
  const mentionsIn = async (res: Response, id: string | undefined, text: string): Promise<MentionedUser[]> => {
    const { record } = await documentAccess(ctx, res, id, 'commenter');
    return (await resolveMentions(ctx.storage.db, record, text)).slice(0, L.mentions);
  };
  const ids = (users: MentionedUser[]) => users.map((u) => u.id);

  route(
    r,
    'post',
    '/documents/:id/threads',
    {
      tag: T,
      summary: 'Create a thread on a passage, by offsets or by quote',
      access: 'commenter',
      body: CreateThread,
      responses: { 201: { description: 'created', schema: A.CreatedThread } },
      errors: { 422: 'the quote is not in the article (or is ambiguous), offsets out of range, or an unknown tag' },
    },
    async (req, res) => {
      const body = parseBody(CreateThread, req.body);
      const mentions = await mentionsIn(res, req.params.id, body.body);
      const created = await write(res, req.params.id, 'commenter', (doc, p) => {
        requireKnownTags(doc, body.tags);
        const target =
          'exact' in body
            ? { exact: body.exact, prefix: body.prefix, suffix: body.suffix }
            : { start: body.start, end: body.end };
        return createThread(doc, {
          ...target,
          createdBy: p.id,
          authorName: p.name,
          body: body.body,
          tags: body.tags,
          mentions: ids(mentions),
        });
      });
      res.status(201).json({ id: created.threadId, commentId: created.commentId, mentions });
    },
  );

  // The W3C export's annotation ids are these URLs: a browser (asking for HTML) is sent to the thread's permalink.
  const toPermalink: RequestHandler<{ id: string; threadId: string; commentId?: string }> = (req, res, next) => {
    if (req.accepts(['json', 'html']) !== 'html') return next();
    const { id, threadId, commentId } = req.params;
    const path = `/d/${encodeURIComponent(id)}/t/${encodeURIComponent(threadId)}`;
    res.redirect(303, commentId ? `${path}/c/${encodeURIComponent(commentId)}` : path);
  };
  const redirects = { 303: { description: "to the thread's permalink, when the request accepts text/html" } };

  route(
    r,
    'get',
    '/documents/:id/threads/:threadId/comments/:commentId',
    {
      tag: T,
      summary: "A W3C annotation id of a comment: redirects a browser to the comment's permalink",
      access: 'anyone',
      responses: redirects,
      errors: { 404: 'a request that does not accept text/html' },
    },
    toPermalink,
  );

  route(
    r,
    'get',
    '/documents/:id/threads/:threadId',
    {
      tag: T,
      summary: 'One thread (a browser asking for HTML is redirected to its permalink)',
      access: 'viewer',
      responses: { 200: { description: 'the thread', schema: A.Thread }, ...redirects },
    },
    toPermalink,
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      const thread = await ctx.registry.with(record.id, (live) =>
        readResolvedThreads(live.doc).find((t) => t.id === req.params.threadId),
      );
      if (!thread) throw new HttpError(404, 'no such thread');
      res.json(threadView(thread));
    },
  );

  route(
    r,
    'patch',
    '/documents/:id/threads/:threadId',
    {
      tag: T,
      summary: 'Resolve or reopen a thread, set its tags, or re-attach it to another passage',
      access: 'commenter',
      body: PatchThread,
      responses: { 200: { description: 'the thread, without anchor resolution', schema: A.PlainThread } },
      errors: {
        403: 're-attaching a thread one did not create, below editor',
        404: 'no such document or thread',
        422: 'an unknown tag; a passage not in the article, ambiguous, or out of range',
      },
    },
    async (req, res) => {
      const body = parseBody(PatchThread, req.body);
      const thread = await write(res, req.params.id, 'commenter', (doc, p, role) => {
        if (body.passage) {
          const createdBy = readThread(doc, req.params.threadId)?.createdBy;
          if (createdBy === undefined) throw new ModelError('not-found', `no thread ${req.params.threadId}`);
          if (ROLE_RANK[role] < ROLE_RANK.editor && createdBy !== p.id)
            throw forbidden('only editors and its creator may re-attach a thread');
          reattachThread(doc, req.params.threadId, body.passage);
        }
        if (body.tags) {
          requireKnownTags(doc, body.tags);
          setThreadTags(doc, req.params.threadId, body.tags);
        }
        if (body.status) setThreadStatus(doc, req.params.threadId, body.status, p.id);
        return readThread(doc, req.params.threadId);
      });
      res.json(thread);
    },
  );

  route(
    r,
    'post',
    '/documents/:id/threads/:threadId/comments',
    {
      tag: T,
      summary: 'Reply to a thread',
      access: 'commenter',
      body: NewComment,
      responses: { 201: { description: 'created', schema: A.CreatedComment } },
      errors: { 404: 'no such document or thread' },
    },
    async (req, res) => {
      const { body } = parseBody(NewComment, req.body);
      const mentions = await mentionsIn(res, req.params.id, body);
      const id = await write(res, req.params.id, 'commenter', (doc, p) =>
        addComment(doc, req.params.threadId, { authorId: p.id, authorName: p.name, body, mentions: ids(mentions) }),
      );
      res.status(201).json({ id, mentions });
    },
  );

  route(
    r,
    'patch',
    '/documents/:id/threads/:threadId/comments/:commentId',
    {
      tag: T,
      summary: 'Edit a comment (its author only)',
      access: 'commenter',
      body: NewComment,
      responses: { 200: { description: 'edited', schema: A.CreatedComment } },
      errors: { 403: "someone else's comment", 404: 'no such document, thread or comment' },
    },
    async (req, res) => {
      const { body } = parseBody(NewComment, req.body);
      const mentions = await mentionsIn(res, req.params.id, body);
      await write(res, req.params.id, 'commenter', (doc, p) => {
        requireAuthor(doc, req.params.threadId, req.params.commentId, p, false);
        editComment(doc, req.params.threadId, req.params.commentId, body, undefined, ids(mentions));
      });
      res.json({ id: req.params.commentId, mentions });
    },
  );

  route(
    r,
    'delete',
    '/documents/:id/threads/:threadId/comments/:commentId',
    {
      tag: T,
      summary: 'Delete a comment (soft delete; its author, or an owner)',
      access: 'commenter',
      responses: { 204: { description: 'deleted' } },
      errors: { 403: "someone else's comment", 404: 'no such document, thread or comment' },
    },
    async (req, res) => {
      await write(res, req.params.id, 'commenter', (doc, p, role) => {
        requireAuthor(doc, req.params.threadId, req.params.commentId, p, role === 'owner');
        deleteComment(doc, req.params.threadId, req.params.commentId);
      });
      res.status(204).end();
    },
  );

  route(
    r,
    'get',
    '/documents/:id/vocabulary',
    {
      tag: T,
      summary: "The document's tag vocabulary",
      access: 'viewer',
      responses: { 200: { description: 'tags by name', schema: A.Vocabulary } },
    },
    async (req, res) => {
      const { record } = await documentAccess(ctx, res, req.params.id);
      res.json(await ctx.registry.with(record.id, (live) => readVocabulary(live.doc)));
    },
  );

  route(
    r,
    'put',
    '/documents/:id/vocabulary/:tag',
    {
      tag: T,
      summary: 'Define or change a tag',
      access: 'editor',
      body: TagBody,
      responses: { 200: { description: 'the tag', schema: A.NamedTag } },
    },
    async (req, res) => {
      const body = parseBody(TagBody, req.body);
      await write(res, req.params.id, 'editor', (doc) => setTag(doc, req.params.tag, body));
      res.json({ name: req.params.tag, ...body });
    },
  );

  route(
    r,
    'delete',
    '/documents/:id/vocabulary/:tag',
    {
      tag: T,
      summary: 'Remove a tag from the vocabulary and every thread',
      access: 'editor',
      responses: { 204: { description: 'removed' } },
      errors: { 404: 'no such document or tag' },
    },
    async (req, res) => {
      await write(res, req.params.id, 'editor', (doc) => {
        if (!(req.params.tag in readVocabulary(doc))) throw new ModelError('not-found', `no tag ${req.params.tag}`);
        removeTag(doc, req.params.tag);
      });
      res.status(204).end();
    },
  );

  return r;
}

/** Only a comment's author edits it; deleting another's comment needs the owner role. */
function requireAuthor(doc: Y.Doc, threadId: string, commentId: string, p: Principal, ownerMayOverride: boolean): void {
  const thread = readThread(doc, threadId);
  if (!thread) throw new ModelError('not-found', `no thread ${threadId}`);
  const comment = thread.comments.find((c) => c.id === commentId);
  if (!comment) throw new ModelError('not-found', `no comment ${commentId} in thread ${threadId}`);
  if (comment.authorId !== p.id && !ownerMayOverride) throw forbidden('only its author may change this comment');
}
