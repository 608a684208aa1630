/**
 * The rule table of threads and comments (shared/src/rules.ts): the readers it derives, the checks a new thread or
 * comment must pass, and that what the mutators write passes them; and that docs/SCHEMA.md lists the same fields
 * with the same writers.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import {
  COMMENT_FIELDS,
  DOCUMENT_WRITERS,
  THREAD_FIELDS,
  addComment,
  commentMap,
  createThread,
  readComment,
  readThreadMap,
  threadsMap,
  type Comment,
  type FieldRule,
  type RuleContext,
  type Thread,
} from '@marginalia/shared';
import { articleDoc } from '../support/lexical.js';

const SCHEMA_MD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'SCHEMA.md');

// Compile-time: the Thread and Comment types have exactly the table's fields (tsc -p tests checks these lines).
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const threadKeys: Same<keyof Thread, keyof typeof THREAD_FIELDS> = true;
const commentKeys: Same<keyof Comment, keyof typeof COMMENT_FIELDS> = true;
const commentsType: Same<Thread['comments'], Comment[]> = true;

const docs: Y.Doc[] = [];
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy();
});
async function doc(): Promise<Y.Doc> {
  const d = await articleDoc('The minister announced a new policy on Monday.');
  docs.push(d);
  return d;
}

const ctx = (over: Partial<RuleContext> = {}): RuleContext => ({
  userId: 'u-ada',
  userName: 'Ada',
  threadKey: null,
  hasTag: (t) => t === 'question',
  ...over,
});

/** A comment map as a client would store it; `entries` replace or add keys. */
function storedComment(entries: Record<string, unknown> = {}): Y.Map<unknown> {
  const d = new Y.Doc();
  docs.push(d);
  const list = d.getArray<Y.Map<unknown>>('list');
  const map = new Y.Map<unknown>();
  list.push([map]);
  const base: Record<string, unknown> = {
    id: 'c1',
    authorId: 'u-ada',
    authorName: 'Ada',
    body: 'hello',
    createdAt: 5,
    editedAt: null,
    deleted: false,
  };
  for (const [k, v] of Object.entries({ ...base, ...entries })) if (v !== undefined) map.set(k, v);
  return map;
}

describe('the rule table', () => {
  it('types Thread and Comment with exactly its fields', () => {
    expect([threadKeys, commentKeys, commentsType]).toEqual([true, true, true]);
  });

  it('reads a comment field by field, in table order', () => {
    const c = readComment(storedComment());
    expect(c).toEqual({
      id: 'c1',
      authorId: 'u-ada',
      authorName: 'Ada',
      body: 'hello',
      createdAt: 5,
      editedAt: null,
      deleted: false,
      mentions: [],
    });
    expect(Object.keys(c!)).toEqual(Object.keys(COMMENT_FIELDS));
  });

  it('skips a comment whose required field is unusable, and defaults a malformed optional one', () => {
    expect(readComment(storedComment({ authorId: 42 }))).toBeNull();
    expect(readComment(storedComment({ createdAt: Number.NaN }))).toBeNull();
    expect(readComment(storedComment({ id: undefined }))).toBeNull();
    expect(readComment(storedComment({ authorName: 7, editedAt: 'yesterday', deleted: 'yes' }))).toMatchObject({
      authorName: '',
      editedAt: null,
      deleted: false,
    });
  });

  it('reads a deleted comment with an empty body, whatever its body holds', () => {
    expect(readComment(storedComment({ deleted: true, body: 'left behind' }))?.body).toBe('');
  });

  it('reads a thread as the mutators wrote it, with its comments and de-duplicated tags', async () => {
    const d = await doc();
    const { threadId, commentId } = createThread(d, {
      start: 4,
      end: 12,
      createdBy: 'u-ada',
      authorName: 'Ada',
      body: 'Who?',
      now: 1000,
    });
    const map = threadsMap(d).get(threadId)!;
    (map.get('tags') as Y.Array<string>).push(['question', 'question', 7 as unknown as string]);
    const t = readThreadMap(map)!;
    expect(Object.keys(t)).toEqual(Object.keys(THREAD_FIELDS));
    expect(t).toMatchObject({
      id: threadId,
      createdBy: 'u-ada',
      createdAt: 1000,
      status: 'open',
      resolvedBy: null,
      resolvedAt: null,
      tags: ['question'],
      quote: { exact: 'minister', prefix: 'The ', suffix: ' announced a new policy on Monda' }, // 32 characters of context
    });
    expect(t.comments.map((c) => c.id)).toEqual([commentId]);
  });

  it('skips a thread without a usable anchor or quote; a quote without context reads with empty context', async () => {
    const d = await doc();
    const { threadId } = createThread(d, { start: 4, end: 12, createdBy: 'u-ada', authorName: 'Ada', body: 'x' });
    const map = threadsMap(d).get(threadId)!;
    map.set('quote', { exact: 'minister' });
    expect(readThreadMap(map)?.quote).toEqual({ exact: 'minister', prefix: '', suffix: '' });
    map.set('anchor', { start: 1, end: 'x' });
    expect(readThreadMap(map)).toBeNull();
  });

  it('accepts, field by field, what the mutators write for a new thread and a reply by the sender', async () => {
    const d = await doc();
    const { threadId } = createThread(d, { start: 4, end: 12, createdBy: 'u-ada', authorName: 'Ada', body: 'x' });
    addComment(d, threadId, { authorId: 'u-ada', authorName: 'Ada', body: 'reply' });
    const map = threadsMap(d).get(threadId)!;
    const rules = ctx({ threadKey: threadId });
    const broken: string[] = [];
    for (const [key, rule] of Object.entries(THREAD_FIELDS) as [string, FieldRule<unknown>][]) {
      const r = rule.created(map.get(key), rules);
      if (r) broken.push(`${key}: ${r}`);
    }
    for (const c of (map.get('comments') as Y.Array<Y.Map<unknown>>).toArray())
      for (const [key, rule] of Object.entries(COMMENT_FIELDS) as [string, FieldRule<unknown>][]) {
        const r = rule.created(c.get(key), rules);
        if (r) broken.push(`comment ${key}: ${r}`);
      }
    expect(broken).toEqual([]);
  });

  it('refuses, for a new thread, another creator, a key other than its id, a resolved status, a malformed quote', () => {
    const f = THREAD_FIELDS;
    expect(f.createdBy.created('u-bob', ctx())).toMatch(/creator's own user id/);
    expect(f.id.created('t2', ctx({ threadKey: 't1' }))).toMatch(/match its key/);
    expect(f.id.created('t1', ctx({ threadKey: 't1' }))).toBeNull();
    expect(f.status.created('resolved', ctx())).toMatch(/starts open/);
    expect(f.resolvedBy.created('u-ada', ctx())).toMatch(/not resolved/);
    expect(f.quote.created({ exact: '', prefix: '', suffix: '' }, ctx())).toMatch(/a quote is/);
    expect(f.quote.created({ exact: 'x', prefix: '' }, ctx())).toMatch(/a quote is/);
    expect(f.anchor.created({ start: 'a' }, ctx())).toMatch(/an anchor is/);
    expect(f.tags.created(['question'], ctx())).toMatch(/must be an array/);
  });

  it('refuses, for a new comment, another author or name, a deleted flag, a body that is not text', () => {
    const f = COMMENT_FIELDS;
    expect(f.authorId.created('u-bob', ctx())).toMatch(/own user id/);
    expect(f.authorName.created('Bob', ctx())).toMatch(/own name/);
    expect(f.deleted.created(true, ctx())).toMatch(/not deleted/);
    expect(f.body.created(12, ctx())).toMatch(/body is a string/);
    expect(f.editedAt.created('now', ctx())).toMatch(/time or null/);
  });

  it('lets any commenter resolve and reopen, as themselves, and tag from the vocabulary only', () => {
    const f = THREAD_FIELDS;
    expect([f.status.changedBy, f.resolvedBy.changedBy, f.resolvedAt.changedBy]).toEqual([
      'commenter',
      'commenter',
      'commenter',
    ]);
    expect(f.status.changed!('closed', ctx())).toMatch(/open or resolved/);
    expect(f.resolvedBy.changed!('u-bob', ctx())).toMatch(/resolving user/);
    expect(f.resolvedBy.changed!('u-ada', ctx())).toBeNull();
    expect(f.tags.list!.addedBy).toBe('commenter');
    expect(f.tags.list!.element!('question', ctx())).toBeNull();
    expect(f.tags.list!.element!('invented', ctx())).toMatch(/not in the vocabulary/);
  });

  it('leaves comment text to its author and removing comments or threads to owners', () => {
    const f = COMMENT_FIELDS;
    expect(
      Object.entries(f)
        .filter(([, r]) => r.changedBy === 'author')
        .map(([k]) => k),
    ).toEqual(['body', 'editedAt', 'deleted', 'mentions']);
    expect(THREAD_FIELDS.comments.list!.removedBy).toBe('owner');
    expect(DOCUMENT_WRITERS).toEqual({ root: 'editor', meta: 'editor', vocabulary: 'editor', threads: 'commenter' });
  });

  it('writes a new comment map with every field in table order, from defaults where none is given', () => {
    const d = new Y.Doc();
    docs.push(d);
    const map = commentMap({ id: 'c', authorId: 'u', authorName: 'U', body: 'b', createdAt: 1 });
    d.getArray('list').push([map]);
    expect([...map.keys()]).toEqual(Object.keys(COMMENT_FIELDS));
    expect(map.get('editedAt')).toBeNull();
    expect(map.get('deleted')).toBe(false);
  });
});

describe('docs/SCHEMA.md', () => {
  /** The rows of the markdown table that follows `heading`: key -> its "changed by" cell. */
  function tableAfter(markdown: string, heading: string): Map<string, string> {
    const from = markdown.indexOf(heading);
    expect(from).toBeGreaterThanOrEqual(0);
    const rows = new Map<string, string>();
    const lines = markdown.slice(from).split('\n');
    let i = lines.findIndex((l) => l.startsWith('| key |'));
    for (i += 2; lines[i]?.startsWith('|'); i++) {
      const cells = lines[i]!.split(/(?<!\\)\|/).map((c) => c.trim());
      rows.set(cells[1]!.replace(/`/g, ''), cells[3]!);
    }
    return rows;
  }
  const WORDS = {
    commenter: 'any commenter',
    author: 'its author',
    'editor-or-creator': 'editors and its creator',
    owner: 'owner',
  } as const;

  it('lists exactly the fields of the table, each with the writer the table says', () => {
    const md = readFileSync(SCHEMA_MD, 'utf8');
    for (const [heading, fields] of [
      ['## `threads`', THREAD_FIELDS],
      ['A comment is a `Y.Map`', COMMENT_FIELDS],
    ] as const) {
      const rows = tableAfter(md, heading);
      expect([...rows.keys()]).toEqual(Object.keys(fields));
      for (const [key, rule] of Object.entries(fields) as [string, FieldRule<unknown>][])
        expect(`${key}: ${rows.get(key)}`).toMatch(new RegExp(`^${key}: ${WORDS[rule.changedBy]}`));
    }
  });
});
