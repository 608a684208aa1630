/**
 * The rule table of the thread/comment schema: for every field of a thread and of a comment, its type (what
 * readers return), how it is read from a stored entry, what a new thread or comment must carry in it, and who
 * may change it afterwards. Everything else derives from here: the `Thread` and `Comment` types, the readers
 * (thread-read.ts), the maps the mutators write (threads.ts), the server's WebSocket write policy and the limits
 * its REST routes check. Adding a field to a comment is one entry in COMMENT_FIELDS (and its row in
 * docs/SCHEMA.md).
 *
 * Who may write (owners may change anything that exists, and viewers nothing):
 * - `creator`: whoever creates the thread or comment, in the same update, with the values `created` accepts
 *   (owners too: a new thread or comment arrives whole and valid, whoever sends it);
 * - `author`: the comment's author (its `authorId`);
 * - `commenter`: anyone who may comment (commenter, editor, owner);
 * - `editor`: editors and owners (the article, its metadata and vocabulary);
 * - `owner`: nobody else.
 */
import * as Y from 'yjs';
import { ModelError } from './errors.js';
import { isUuid } from './ids.js';
import { META, ROOT, THREADS, VOCABULARY, type AnchorPositions, type TextQuote, type ThreadStatus } from './schema.js';

export type Writer = 'creator' | 'author' | 'commenter' | 'editor' | 'owner';

/** Who may write each top-level shared type of the document (the `threads` map within THREAD_FIELDS' rules). */
export const DOCUMENT_WRITERS: Readonly<Record<string, Writer>> = {
  [ROOT]: 'editor',
  [META]: 'editor',
  [VOCABULARY]: 'editor',
  [THREADS]: 'commenter',
};

/** What a value check knows besides the value: who writes, and the document around the change. */
export interface RuleContext {
  userId: string;
  userName: string;
  /** The key the thread being written is stored under in `threads` (null when unknown). */
  threadKey: string | null;
  /** Whether the document's vocabulary holds this tag. */
  hasTag(tag: string): boolean;
}

/** A value check: null when the value is acceptable, else the rule it breaks (said to the client). */
export type Check = (value: unknown, ctx: RuleContext) => string | null;

export interface FieldRule<T> {
  /**
   * What readers make of a stored value: the value (a default for a missing or malformed one), or undefined when
   * the field is required and unusable, and the whole thread or comment is then skipped. `entry` reads the other
   * fields of the same map.
   */
  read(stored: unknown, entry: (key: string) => unknown): T | undefined;
  /** The value a new thread or comment must carry here (written by its creator, in the same update). */
  created: Check;
  /**
   * A new thread or comment may leave the field out (readers then use their default); every other field must
   * arrive with it, in the same update.
   */
  mayOmit?: boolean;
  /**
   * Who may change the field of an existing thread or comment: any commenter, its author, or owners only; or
   * `editor-or-creator`: editors, owners and whoever created it (the item's `creatorField`).
   */
  changedBy: 'commenter' | 'author' | 'editor-or-creator' | 'owner';
  /** The value such a change must have (none: any value). */
  changed?: Check;
  /** What the mutators write into a new map when they are given no value. */
  initial?: () => T;
  /** How the mutators store a value (plain JSON values by default; lists become Y.Arrays). */
  store?(value: T): unknown;
  /** For a field that holds a Y.Array: the rules of its elements. */
  list?: ListRule;
}

/** The elements of a Y.Array field, or of the `threads` map. */
export interface ListRule {
  /** A plain value, checked by `element`; or a Y.Map with rules of its own. */
  of: 'value' | ItemRules<FieldTable>;
  element?: Check;
  addedBy: Writer;
  removedBy: Writer;
  /** For a keyed list (the `threads` map): what an element's key must be. */
  key?: Check;
  /** Why a new item may not arrive with this list empty (a new thread holds its first comment). */
  emptyRefusal?: string;
  /** Why a non-owner may not remove an element (when removedBy is 'owner'). */
  removeRefusal?: string;
  /** Why a non-owner may not set an existing key again (keyed lists: the `threads` map). */
  replaceRefusal?: string;
  /** Why a value that is not a Y.Map cannot be an element (lists of items). */
  notMapRefusal?: string;
}

export type FieldTable = Record<string, FieldRule<unknown>>;

/** A kind of map with a rule table: threads and comments. */
export interface ItemRules<F extends FieldTable> {
  name: 'thread' | 'comment';
  fields: F;
  /** The field naming the user who wrote the item, for `author` changes. */
  authorField?: string;
  /** The field naming the user who created the item, for `editor-or-creator` changes. */
  creatorField?: string;
  /** Why someone else may not change an `editor-or-creator` field. */
  creatorRefusal?(field: string): string;
  /** Why a non-owner may not change a field whose `changedBy` is 'owner'. */
  fixedRefusal(field: string): string;
  /** Why a non-owner may not put a shared type under this field. */
  nestedRefusal(field: string): string;
}

/** The plain record a table describes: one property per field, of the type its reader returns. */
export type RecordOf<F> = { -readonly [K in keyof F]: F[K] extends FieldRule<infer T> ? T : never };

/** Ties a field's type parameter to its reader, so RecordOf sees it. */
function field<T>(rule: FieldRule<T>): FieldRule<T> {
  return rule;
}

/**
 * Maximum lengths (characters). The rule table checks what clients store against them; REST refuses longer input
 * with 400 (and holds tag names it is given to 60); annotation imports reject longer comments and quotes and drop
 * longer tags. Ids are UUIDs (36 characters).
 */
export const TEXT_LIMITS = {
  /** A comment body. */
  body: 20_000,
  /** The quoted passage of a thread. */
  quote: 20_000,
  /** The quote's prefix or suffix. */
  quoteContext: 1_000,
  /** Each of an anchor's encoded relative positions. */
  anchorPosition: 1_000,
  /** One tag on a thread. */
  tag: 64,
  /** A tag name given to REST. */
  restTag: 60,
  /** Tags set on a thread at once over REST. */
  tagsPerThread: 20,
  /** A vocabulary entry's description. */
  tagDescription: 500,
  /** Users mentioned by one comment. */
  mentions: 50,
  /** Each mentioned user id. */
  mentionId: 100,
} as const;

// Value shapes. Readers are lenient (an entry written by a buggy or hostile client should not break every
// reader); the checks on writes say what a client must send.
const isString = (v: unknown): v is string => typeof v === 'string';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const readString = (v: unknown): string | undefined => (isString(v) ? v : undefined);
const readTime = (v: unknown): number | undefined => (isTime(v) ? v : undefined);

function readAnchor(v: unknown): AnchorPositions | undefined {
  const a = v as { start?: unknown; end?: unknown } | null;
  return typeof a === 'object' && a !== null && isString(a.start) && isString(a.end)
    ? { start: a.start, end: a.end }
    : undefined;
}

function readQuote(v: unknown): TextQuote | undefined {
  const q = v as { exact?: unknown; prefix?: unknown; suffix?: unknown } | null;
  if (typeof q !== 'object' || q === null || !isString(q.exact)) return undefined;
  return { exact: q.exact, prefix: isString(q.prefix) ? q.prefix : '', suffix: isString(q.suffix) ? q.suffix : '' };
}

const isText = (v: unknown, max: number): v is string => isString(v) && v.length <= max;

/** A quote's shape as a writer must give it: the annotated text is not empty, and both context strings are given. */
export function isWritableQuote(v: unknown): v is TextQuote {
  const q = v as { exact?: unknown; prefix?: unknown; suffix?: unknown } | null;
  return (
    typeof q === 'object' &&
    q !== null &&
    isString(q.exact) &&
    q.exact !== '' &&
    isString(q.prefix) &&
    isString(q.suffix)
  );
}

export function isWritableAnchor(v: unknown): v is AnchorPositions {
  return readAnchor(v) !== undefined;
}

/** Within TEXT_LIMITS: what clients may store (imports are held to it as they are written: export/import.ts). */
const quoteWithinLimits = (q: TextQuote): boolean =>
  q.exact.length <= TEXT_LIMITS.quote &&
  q.prefix.length <= TEXT_LIMITS.quoteContext &&
  q.suffix.length <= TEXT_LIMITS.quoteContext;
const anchorWithinLimits = (a: AnchorPositions): boolean =>
  a.start.length <= TEXT_LIMITS.anchorPosition && a.end.length <= TEXT_LIMITS.anchorPosition;

const isBody = (v: unknown): v is string => isText(v, TEXT_LIMITS.body);

/** Mentions as a writer must give them: a plain JSON array of user ids (not a Y.Array). */
const isMentions = (v: unknown): v is string[] =>
  Array.isArray(v) &&
  v.length <= TEXT_LIMITS.mentions &&
  v.every((id) => isText(id, TEXT_LIMITS.mentionId) && isNonBlank(id));
const MENTIONS_RULE = `a comment's mentions are an array of at most ${TEXT_LIMITS.mentions} user ids`;
/** Mentions as readers see them: the usable ids, each once. */
const readMentions = (v: unknown): string[] =>
  Array.isArray(v) ? [...new Set(v.filter((id): id is string => isString(id) && isNonBlank(id)))] : [];
const BODY_RULE = `a comment's body is a string of at most ${TEXT_LIMITS.body} characters`;

/** Tags as readers see them: the strings of the list, each once, in list order. */
function readTags(v: unknown): string[] {
  const tags: string[] = [];
  if (v instanceof Y.Array) for (const t of v.toArray()) if (isString(t) && !tags.includes(t)) tags.push(t);
  return tags;
}

const must =
  (ok: (v: unknown, ctx: RuleContext) => boolean, rule: string): Check =>
  (v, ctx) =>
    ok(v, ctx) ? null : rule;

const mustBeTime = (name: string): Check => must(isTime, `${name} must be a number`);
const mustBeArray = (name: string): Check => must((v) => v instanceof Y.Array, `a thread's ${name} must be an array`);

export const COMMENT_FIELDS = {
  id: field<string>({
    read: readString,
    created: must(isUuid, "a comment's id must be a UUID"),
    changedBy: 'owner',
  }),
  authorId: field<string>({
    read: readString,
    created: must((v, ctx) => v === ctx.userId, "a new comment must carry its author's own user id"),
    changedBy: 'owner',
  }),
  authorName: field<string>({
    read: (v) => (isString(v) ? v : ''),
    created: must((v, ctx) => v === ctx.userName, "a new comment must carry its author's own name"),
    changedBy: 'owner',
  }),
  body: field<string>({
    // a deleted comment reads as empty, whatever a client left in its body
    read: (v, entry) => (entry('deleted') === true ? '' : isString(v) ? v : ''),
    created: must(isBody, BODY_RULE),
    changedBy: 'author',
    changed: must(isBody, BODY_RULE),
  }),
  createdAt: field<number>({ read: readTime, created: mustBeTime('createdAt'), changedBy: 'owner' }),
  editedAt: field<number | null>({
    read: (v) => (isTime(v) ? v : null),
    created: must((v) => v === null || typeof v === 'number', 'editedAt must be a time or null'),
    mayOmit: true,
    changedBy: 'author',
    initial: () => null,
  }),
  deleted: field<boolean>({
    read: (v) => v === true,
    created: must((v) => v === false, 'a new comment is not deleted'),
    changedBy: 'author',
    initial: () => false,
  }),
  // The users the body mentions (set with the body, replaced when it is edited). Older comments have none.
  mentions: field<string[]>({
    read: (v, entry) => (entry('deleted') === true ? [] : readMentions(v)),
    created: must(isMentions, MENTIONS_RULE),
    mayOmit: true,
    changedBy: 'author',
    changed: must(isMentions, MENTIONS_RULE),
    initial: () => [],
  }),
};

export type Comment = RecordOf<typeof COMMENT_FIELDS>;

export const COMMENT: ItemRules<typeof COMMENT_FIELDS> = {
  name: 'comment',
  fields: COMMENT_FIELDS,
  authorField: 'authorId',
  fixedRefusal: (f) => `a comment's ${f} may not change`,
  nestedRefusal: () => 'comments hold no nested types',
};

/** A comment as readers see it, or null when a required field is unusable. */
export function readComment(map: Y.Map<unknown>): Comment | null {
  return readRecord(COMMENT_FIELDS, map);
}

/** A comment map as the mutators write it (fields in table order; missing ones from their `initial`). */
export function commentMap(values: Partial<Comment>): Y.Map<unknown> {
  return writeRecord(new Y.Map<unknown>(), COMMENT_FIELDS, values);
}

const ANCHOR_CHECK = must(
  (v) => isWritableAnchor(v) && anchorWithinLimits(v),
  `an anchor is { start, end } (encoded relative positions of at most ${TEXT_LIMITS.anchorPosition} characters)`,
);
const QUOTE_CHECK = must(
  (v) => isWritableQuote(v) && quoteWithinLimits(v),
  `a quote is { exact, prefix, suffix } (at most ${TEXT_LIMITS.quote}, ${TEXT_LIMITS.quoteContext} and ${TEXT_LIMITS.quoteContext} characters)`,
);

export const THREAD_STATUSES = ['open', 'resolved'] as const satisfies readonly ThreadStatus[];

export const THREAD_FIELDS = {
  id: field<string>({
    read: readString,
    created: must((v, ctx) => v === ctx.threadKey, 'a thread id must match its key'),
    changedBy: 'owner',
  }),
  // Re-attaching a thread to another passage (reattachThread) sets both: editors and its creator may.
  anchor: field<AnchorPositions>({
    read: readAnchor,
    created: ANCHOR_CHECK,
    changedBy: 'editor-or-creator',
    changed: ANCHOR_CHECK,
  }),
  quote: field<TextQuote>({
    read: readQuote,
    created: QUOTE_CHECK,
    changedBy: 'editor-or-creator',
    changed: QUOTE_CHECK,
  }),
  createdBy: field<string>({
    read: readString,
    created: must((v, ctx) => v === ctx.userId, "a new thread must carry its creator's own user id"),
    changedBy: 'owner',
  }),
  createdAt: field<number>({ read: readTime, created: mustBeTime('createdAt'), changedBy: 'owner' }),
  status: field<ThreadStatus>({
    read: (v) => (v === 'resolved' ? 'resolved' : 'open'),
    created: must((v) => v === 'open', 'a new thread starts open'),
    changedBy: 'commenter',
    changed: must((v) => (THREAD_STATUSES as readonly unknown[]).includes(v), 'status is open or resolved'),
    initial: () => 'open',
  }),
  resolvedBy: field<string | null>({
    read: (v) => (isString(v) ? v : null),
    created: must((v) => v === null, 'a new thread is not resolved'),
    mayOmit: true,
    changedBy: 'commenter',
    changed: must((v, ctx) => v === null || v === ctx.userId, 'resolvedBy must be the resolving user'),
    initial: () => null,
  }),
  resolvedAt: field<number | null>({
    read: (v) => (isTime(v) ? v : null),
    created: must((v) => v === null, 'a new thread is not resolved'),
    mayOmit: true,
    changedBy: 'commenter',
    changed: must((v) => v === null || isTime(v), 'resolvedAt must be a time or null'),
    initial: () => null,
  }),
  tags: field<string[]>({
    read: readTags,
    created: mustBeArray('tags'),
    changedBy: 'owner',
    initial: () => [],
    store: (tags) => Y.Array.from(tags),
    list: {
      of: 'value',
      element: (tag, ctx) => {
        if (!isText(tag, TEXT_LIMITS.tag)) return `a tag is a string of at most ${TEXT_LIMITS.tag} characters`;
        return ctx.hasTag(tag) ? null : `tag "${tag}" is not in the vocabulary`;
      },
      addedBy: 'commenter',
      removedBy: 'commenter',
    },
  }),
  comments: field<Comment[]>({
    read: (v) => {
      const comments: Comment[] = [];
      if (v instanceof Y.Array)
        for (const c of v.toArray()) {
          const comment = c instanceof Y.Map ? readComment(c as Y.Map<unknown>) : null;
          if (comment) comments.push(comment);
        }
      return comments;
    },
    created: mustBeArray('comments'),
    changedBy: 'owner',
    initial: () => [],
    store: (comments: Partial<Comment>[]) => Y.Array.from(comments.map(commentMap)),
    list: {
      of: COMMENT,
      addedBy: 'commenter',
      removedBy: 'owner',
      removeRefusal: 'only owners may remove comments (delete marks them deleted instead)',
      notMapRefusal: 'a comment must be a map',
      emptyRefusal: 'a new thread arrives with its first comment',
    },
  }),
};

export type Thread = RecordOf<typeof THREAD_FIELDS>;

export const THREAD: ItemRules<typeof THREAD_FIELDS> = {
  name: 'thread',
  fields: THREAD_FIELDS,
  creatorField: 'createdBy',
  creatorRefusal: (f) => `only editors and its creator may change a thread's ${f} (re-attach it)`,
  fixedRefusal: (f) => `commenters and editors may not change a thread's ${f}`,
  nestedRefusal: (f) => `unknown thread field "${f}"`,
};

/** The `threads` map: thread id -> thread map. */
export const THREAD_LIST: ListRule = {
  of: THREAD,
  addedBy: 'commenter',
  removedBy: 'owner',
  removeRefusal: 'only owners may delete threads',
  replaceRefusal: 'a thread may not be replaced',
  key: must(isUuid, "a thread's key is its id, a UUID"),
  notMapRefusal: 'a thread must be a map',
};

/** A thread as readers see it, or null when a required field is unusable. */
export function readThreadMap(map: Y.Map<unknown>): Thread | null {
  return readRecord(THREAD_FIELDS, map);
}

/** A thread's own fields: every one but its comments (their reader never refuses a thread). */
const THREAD_HEAD_FIELDS = Object.fromEntries(
  Object.entries(THREAD_FIELDS).filter(([key]) => key !== 'comments'),
) as Omit<typeof THREAD_FIELDS, 'comments'>;

/**
 * A thread without its comments, or null exactly when readThreadMap gives null: for readers of many threads that
 * need only their anchors, quotes or status (reading 10,000 threads' comments takes hundreds of milliseconds).
 */
export function readThreadHead(map: Y.Map<unknown>): Omit<Thread, 'comments'> | null {
  return readRecord(THREAD_HEAD_FIELDS, map);
}

/** What a mutator gives for a new thread: its comments, too, need only the fields that have no `initial`. */
export type NewThreadValues = Partial<Omit<Thread, 'comments'>> & { comments?: Partial<Comment>[] };

/** Fills a thread map as the mutators write it (fields in table order; missing ones from their `initial`). */
export function writeThreadMap(map: Y.Map<unknown>, values: NewThreadValues): Y.Map<unknown> {
  return writeRecord(map, THREAD_FIELDS, values as Partial<Thread>);
}

function readRecord<F extends Record<string, FieldRule<unknown>>>(fields: F, map: Y.Map<unknown>): RecordOf<F> | null {
  const out: Record<string, unknown> = {};
  const entry = (key: string): unknown => map.get(key);
  for (const [key, rule] of Object.entries(fields)) {
    const value = rule.read(map.get(key), entry);
    if (value === undefined) return null;
    out[key] = value;
  }
  return out as RecordOf<F>;
}

function writeRecord<F extends Record<string, FieldRule<unknown>>>(
  map: Y.Map<unknown>,
  fields: F,
  values: Partial<RecordOf<F>>,
): Y.Map<unknown> {
  for (const [key, rule] of Object.entries(fields)) {
    const given = (values as Record<string, unknown>)[key];
    const value = given !== undefined ? given : rule.initial?.();
    if (value === undefined) throw new ModelError('invalid', `a new map needs a value for ${key}`);
    map.set(key, rule.store ? rule.store(value) : value);
  }
  return map;
}

/** Whether a string has something besides whitespace: bodies and ids of people must. */
export const isNonBlank = (s: string): boolean => s.trim() !== '';
