/**
 * Who may change what in a document (ARCHITECTURE.md §5), decided per item before an update is applied.
 * Pure: a decision from the caller, the document as it is, and what the update would change.
 *
 * - viewer: nothing.
 * - commenter: only inside `threads`, and there only
 *     new threads they create (createdBy = themselves, open, well-formed anchor and quote);
 *     status / resolvedBy / resolvedAt of any thread (resolve, reopen), and its tags, from the vocabulary;
 *     new comments with their own authorId and authorName; body / editedAt / deleted of their own comments.
 * - editor: the same in `threads`, and anything in `root`, `meta` and `vocabulary`.
 * - owner: everything.
 * An update is accepted or refused whole.
 */
import * as Y from 'yjs';
import { ROLE_RANK, THREADS, ROOT, META, VOCABULARY, threadsMap, vocabularyMap, type Role } from '@marginalia/shared';
import { inspectUpdate, type ItemChange, type TypeRef, type UpdateChanges } from './inspect.js';

export interface UpdateContext {
  role: Role;
  userId: string;
  userName: string;
}

export type PolicyDecision =
  | { ok: true; empty: boolean; writers: number[] }
  /** `retry`: not a refusal of the user, but of this server's state (it lacks what the update builds on). */
  | { ok: false; rule: string; retry?: boolean };

const THREAD_FIELDS = new Set([
  'id',
  'anchor',
  'quote',
  'createdBy',
  'createdAt',
  'status',
  'resolvedBy',
  'resolvedAt',
  'tags',
  'comments',
]);
const STATUS_FIELDS = new Set(['status', 'resolvedBy', 'resolvedAt']);
const COMMENT_FIELDS = new Set(['id', 'authorId', 'authorName', 'body', 'createdAt', 'editedAt', 'deleted']);
const OWN_COMMENT_EDITS = new Set(['body', 'editedAt', 'deleted']);
const EDITOR_ROOTS = new Set([ROOT, META, VOCABULARY]);

export function checkUpdate(ctx: UpdateContext, doc: Y.Doc, update: Uint8Array): PolicyDecision {
  const owner = ctx.role === 'owner';
  // Owners may change anything: decode only to validate the update.
  const inspected = inspectUpdate(doc, update, { locate: !owner });
  const { changes, missingDependencies } = inspected;
  if (changes.length === 0 && !missingDependencies) return { ok: true, empty: true, writers: [] };
  if (ctx.role === 'viewer') return deny('viewers may not change the document');
  // Owners too: Yjs would keep such content pending, stored but not applied (and a pending delete set can
  // make a later apply throw, so the stored log no longer loads).
  if (missingDependencies)
    return { ok: false, rule: 'the update builds on content this server does not have yet', retry: true };
  if (owner) return { ok: true, empty: false, writers: inspected.writers };
  const checker = new ThreadRules(ctx, doc, inspected);
  // Outermost changes first, so a refusal names what the user did (deleting a thread deletes its comments too).
  const ordered = [...changes].sort((a, b) => (a.at?.steps.length ?? -1) - (b.at?.steps.length ?? -1));
  for (const c of ordered) {
    if (!c.at) return deny('the update touches content that cannot be located');
    // Y.Map reads the last value of an entry: an entry with several could show one value to this check and
    // another to readers. Yjs itself never writes more than one.
    if (
      c.kind === 'insert' &&
      c.at.key !== null &&
      c.item.length !== 1 &&
      !(c.item.content instanceof Y.ContentDeleted)
    ) {
      return deny('a map entry holds exactly one value');
    }
    if (c.at.root === THREADS) {
      const rule = checker.check(c);
      if (rule) return deny(rule);
    } else if (!(ROLE_RANK[ctx.role] >= ROLE_RANK.editor && EDITOR_ROOTS.has(c.at.root))) {
      return deny(
        ROLE_RANK[ctx.role] >= ROLE_RANK.editor
          ? `unknown shared type "${c.at.root}"`
          : `commenters may change only threads (touched ${c.at.root})`,
      );
    }
  }
  return { ok: true, empty: false, writers: inspected.writers };
}

const deny = (rule: string): PolicyDecision => ({ ok: false, rule });

const isCreated = (ref: TypeRef): ref is { created: Y.Item } => 'created' in ref;
const isString = (v: unknown): v is string => typeof v === 'string';

class ThreadRules {
  private readonly vocabulary: Y.Map<unknown>;
  constructor(
    private readonly ctx: UpdateContext,
    private readonly doc: Y.Doc,
    private readonly inspected: UpdateChanges,
  ) {
    this.vocabulary = vocabularyMap(doc) as Y.Map<unknown>;
  }

  /** Returns the broken rule, or null when the change is allowed. */
  check(c: ItemChange): string | null {
    const { steps, key } = c.at!;
    const [thread, field, comment] = steps;
    // threads.set(threadId, …) or threads.delete(threadId)
    if (!thread) {
      if (c.kind === 'delete') return 'only owners may delete threads';
      if (key && threadsMap(this.doc).has(key)) return 'a thread may not be replaced';
      if (!(c.item.content instanceof Y.ContentType)) return 'a thread must be a map';
      return null;
    }
    const threadRef = thread.ref;
    // a field of a thread
    if (!field) {
      if (!key || !THREAD_FIELDS.has(key)) return `unknown thread field "${key}"`;
      if (isCreated(threadRef)) return this.checkEntry(c, (v) => this.newThreadField(thread.key, key, v));
      if (STATUS_FIELDS.has(key)) return this.checkEntry(c, (v) => this.statusField(key, v));
      return `commenters and editors may not change a thread's ${key}`;
    }
    if (field.key === 'tags' && steps.length === 2) {
      if (c.kind === 'delete') return null;
      for (const tag of c.item.content.getContent()) {
        if (!isString(tag) || !this.vocabulary.has(tag)) return `tag "${String(tag)}" is not in the vocabulary`;
      }
      return null;
    }
    if (field.key !== 'comments') return `unknown thread field "${field.key}"`;
    // an element of the comments array: a new comment map, or a hard delete
    if (!comment) {
      if (c.kind === 'delete') return 'only owners may remove comments (delete marks them deleted instead)';
      if (!(c.item.content instanceof Y.ContentType)) return 'a comment must be a map';
      return null;
    }
    if (steps.length > 3) return 'comments hold no nested types';
    if (!key || !COMMENT_FIELDS.has(key)) return `unknown comment field "${key}"`;
    if (isCreated(comment.ref)) return this.checkEntry(c, (v) => this.newCommentField(key, v));
    const author = this.inspected.valueOf(comment.ref, 'authorId');
    if (author !== this.ctx.userId) return 'only its author may change a comment';
    if (!OWN_COMMENT_EDITS.has(key)) return `a comment's ${key} may not change`;
    return null;
  }

  /**
   * Checks the value a map entry the update inserts sets (deletions of such entries pass). Every entry the update
   * makes for a key is checked, not only the one that looks newest: concurrent entries (several client ids in one
   * update) are ordered by Yjs, not by their place in the update. Entries already overwritten inside the update
   * (deleted content) show nothing and pass.
   */
  private checkEntry(c: ItemChange, rule: (v: unknown) => string | null): string | null {
    if (c.kind !== 'insert' || c.item.content instanceof Y.ContentDeleted) return null;
    return rule(c.item.content.getContent()[c.item.length - 1]);
  }

  private newThreadField(threadId: string | null, key: string, v: unknown): string | null {
    switch (key) {
      case 'id':
        return v === threadId ? null : 'a thread id must match its key';
      case 'createdBy':
        return v === this.ctx.userId ? null : "a new thread must carry its creator's own user id";
      case 'createdAt':
        return typeof v === 'number' && Number.isFinite(v) ? null : 'createdAt must be a number';
      case 'status':
        return v === 'open' ? null : 'a new thread starts open';
      case 'resolvedBy':
      case 'resolvedAt':
        return v === null ? null : 'a new thread is not resolved';
      case 'anchor': {
        const a = v as { start?: unknown; end?: unknown } | null;
        return a && isString(a.start) && isString(a.end)
          ? null
          : 'an anchor is { start, end } (encoded relative positions)';
      }
      case 'quote': {
        const q = v as { exact?: unknown; prefix?: unknown; suffix?: unknown } | null;
        return q && isString(q.exact) && q.exact !== '' && isString(q.prefix) && isString(q.suffix)
          ? null
          : 'a quote is { exact, prefix, suffix }';
      }
      case 'tags':
      case 'comments':
        return v instanceof Y.Array ? null : `a thread's ${key} must be an array`;
      default:
        return `unknown thread field "${key}"`;
    }
  }

  private statusField(key: string, v: unknown): string | null {
    if (key === 'status') return v === 'open' || v === 'resolved' ? null : 'status is open or resolved';
    if (key === 'resolvedBy')
      return v === null || v === this.ctx.userId ? null : 'resolvedBy must be the resolving user';
    return v === null || (typeof v === 'number' && Number.isFinite(v)) ? null : 'resolvedAt must be a time or null';
  }

  private newCommentField(key: string, v: unknown): string | null {
    switch (key) {
      case 'authorId':
        return v === this.ctx.userId ? null : "a new comment must carry its author's own user id";
      case 'authorName':
        return v === this.ctx.userName ? null : "a new comment must carry its author's own name";
      case 'id':
      case 'body':
        return isString(v) ? null : `a comment's ${key} must be a string`;
      case 'createdAt':
        return typeof v === 'number' && Number.isFinite(v) ? null : 'createdAt must be a number';
      case 'editedAt':
        return v === null || typeof v === 'number' ? null : 'editedAt must be a time or null';
      case 'deleted':
        return v === false ? null : 'a new comment is not deleted';
      default:
        return `unknown comment field "${key}"`;
    }
  }
}
