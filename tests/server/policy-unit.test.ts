/**
 * The WebSocket write policy in-process, step by step: what an update touches (inspectUpdate), what each touched
 * item is in the schema (classify), and the decision against the rule table (checkUpdate). Each test builds a
 * server document and a client replica of it, makes the change on the replica as a stock Yjs client would, and
 * hands the resulting update to the functions directly: no server, no socket.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import * as Y from 'yjs';
import {
  COMMENT_FIELDS,
  THREAD_FIELDS,
  addComment,
  createThread,
  editComment,
  reattachThread,
  setTag,
  setThreadStatus,
  setThreadTags,
  threadsMap,
  type Role,
} from '@marginalia/shared';
import { inspectUpdate, MalformedUpdateError, type ItemChange } from '@marginalia/server/collab/inspect.js';
import {
  checkSingleValue,
  checkUpdate,
  classify,
  outermostFirst,
  type PolicyDecision,
  type Touch,
} from '@marginalia/server/collab/policy.js';
import { articleDoc } from '../support/lexical.js';

const ADA = { userId: 'u-ada', userName: 'Ada' };
const BOB = { userId: 'u-bob', userName: 'Bob' };

const docs: Y.Doc[] = [];
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy();
});

interface Fixture {
  server: Y.Doc;
  threadId: string;
  /** Ada's comment, opening the thread. */
  adaComment: string;
  /** Bob's reply. */
  bobComment: string;
}

/** A server document with the vocabulary tag `question` and a thread by Ada that Bob replied to. */
async function fixture(): Promise<Fixture> {
  const server = await articleDoc('The minister announced a new policy on Monday.');
  docs.push(server);
  setTag(server, 'question', { color: '#3366cc' });
  const { threadId, commentId } = createThread(server, {
    start: 4,
    end: 12,
    createdBy: ADA.userId,
    authorName: ADA.userName,
    body: 'Who?',
  });
  const bobComment = addComment(server, threadId, { authorId: BOB.userId, authorName: BOB.userName, body: 'Him.' });
  return { server, threadId, adaComment: commentId, bobComment };
}

/** The update a client replica of `server` sends after `change`. */
function updateFrom(server: Y.Doc, change: (doc: Y.Doc) => void): Uint8Array {
  const client = new Y.Doc();
  docs.push(client);
  Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
  change(client);
  return Y.encodeStateAsUpdate(client, Y.encodeStateVector(server));
}

const thread = (doc: Y.Doc, id: string) => threadsMap(doc).get(id)!;
const commentsOf = (doc: Y.Doc, id: string) => thread(doc, id).get('comments') as Y.Array<Y.Map<unknown>>;
const commentMapOf = (doc: Y.Doc, threadId: string, commentId: string) =>
  commentsOf(doc, threadId)
    .toArray()
    .find((c) => c.get('id') === commentId)!;

function decide(
  f: Fixture,
  who: { userId: string; userName: string },
  role: Role,
  change: (doc: Y.Doc) => void,
): PolicyDecision {
  return checkUpdate({ role, ...who }, f.server, updateFrom(f.server, change));
}

/** Each change the update makes, outermost first, as classify sees it (compactly). */
function touches(server: Y.Doc, update: Uint8Array): string[] {
  return outermostFirst(inspectUpdate(server, update).changes).map((c) => describeTouch(classify(c.at), c.kind));
}
function describeTouch(t: Touch, kind: string): string {
  switch (t.kind) {
    case 'unlocated':
      return `${kind} ?`;
    case 'document':
      return `${kind} ${t.root}`;
    case 'misplaced':
      return `${kind} misplaced: ${t.rule}`;
    case 'element':
      return `${kind} element of ${t.list.of === 'value' ? 'values' : `${t.list.of.name}s`}`;
    case 'field':
      return `${kind} ${t.of.name}.${t.field}${'created' in t.item.ref ? ' (new)' : ''}`;
  }
}

describe('inspectUpdate: what an update touches', () => {
  it('finds a map-key overwrite in a live comment (an item that names no parent) and the value it replaces', async () => {
    const f = await fixture();
    const update = updateFrom(f.server, (d) => editComment(d, f.threadId, f.adaComment, 'Who is he?'));
    const { changes, missingDependencies } = inspectUpdate(f.server, update);
    expect(missingDependencies).toBe(false);
    expect(changes.map((c) => [c.kind, c.at?.root, c.at?.steps.map((s) => s.key), c.at?.key]).sort()).toEqual(
      [
        ['delete', 'threads', [f.threadId, 'comments', null], 'body'],
        ['delete', 'threads', [f.threadId, 'comments', null], 'editedAt'],
        ['delete', 'threads', [f.threadId, 'comments', null], 'mentions'],
        ['insert', 'threads', [f.threadId, 'comments', null], 'body'],
        ['insert', 'threads', [f.threadId, 'comments', null], 'editedAt'],
        ['insert', 'threads', [f.threadId, 'comments', null], 'mentions'],
      ].sort(),
    );
  });

  it('reports content the update builds on but nobody sent as a missing dependency', async () => {
    const f = await fixture();
    const other = new Y.Doc();
    docs.push(other);
    Y.applyUpdate(other, Y.encodeStateAsUpdate(f.server));
    other.getMap('meta').set('a', 1);
    const between = Y.encodeStateVector(other);
    other.getMap('meta').set('b', 2);
    // only the second write: it follows a struct the server never got
    const gap = Y.encodeStateAsUpdate(other, between);
    expect(inspectUpdate(f.server, gap).missingDependencies).toBe(true);
  });

  it('refuses bytes that are not an update as malformed', async () => {
    const f = await fixture();
    expect(() => inspectUpdate(f.server, new Uint8Array([1, 2, 3]))).toThrow(MalformedUpdateError);
  });
});

describe('classify: each touched item to its place in the schema', () => {
  it('a new thread: the entry in threads, its fields, its lists, and the fields of its first comment', async () => {
    const f = await fixture();
    const update = updateFrom(f.server, (d) =>
      createThread(d, { start: 0, end: 3, createdBy: ADA.userId, authorName: ADA.userName, body: 'New' }),
    );
    const seen = touches(f.server, update);
    expect(seen[0]).toBe('insert element of threads');
    expect(new Set(seen.slice(1))).toEqual(
      new Set([
        ...Object.keys(THREAD_FIELDS).map((k) => `insert thread.${k} (new)`),
        'insert element of comments',
        ...Object.keys(COMMENT_FIELDS).map((k) => `insert comment.${k} (new)`),
      ]),
    );
  });

  it('a tag added to a live thread is an element of a list of values; the article is a document type', async () => {
    const f = await fixture();
    expect(
      touches(
        f.server,
        updateFrom(f.server, (d) => setThreadTags(d, f.threadId, ['question'])),
      ),
    ).toEqual(['insert element of values']);
    expect(
      touches(
        f.server,
        updateFrom(f.server, (d) => d.getMap('meta').set('title', 'T')),
      ),
    ).toEqual(['insert meta']);
  });

  it('a shared type under a plain thread field, in a tag list or in a comment field is misplaced', async () => {
    const f = await fixture();
    const underAnchor = touches(
      f.server,
      updateFrom(f.server, (d) => {
        const inner = new Y.Map<unknown>();
        thread(d, f.threadId).set('anchor', inner);
        inner.set('start', 'x');
      }),
    );
    expect(underAnchor).toContain('insert misplaced: unknown thread field "anchor"');
    const nestedInTags = touches(
      f.server,
      updateFrom(f.server, (d) => {
        const inner = new Y.Array<number>();
        (thread(d, f.threadId).get('tags') as Y.Array<unknown>).push([inner]);
        inner.push([1]);
      }),
    );
    expect(nestedInTags).toContain('insert misplaced: unknown thread field "tags"');
    const underComment = touches(
      f.server,
      updateFrom(f.server, (d) => {
        const inner = new Y.Map<unknown>();
        commentMapOf(d, f.threadId, f.adaComment).set('body', inner);
        inner.set('x', 1);
      }),
    );
    expect(underComment).toContain('insert misplaced: comments hold no nested types');
  });
});

describe('checkUpdate: decisions by the rule table', () => {
  it('lets a commenter open a thread of their own, reply, resolve, and tag from the vocabulary', async () => {
    const f = await fixture();
    const ok = { ok: true, empty: false };
    expect(
      decide(f, BOB, 'commenter', (d) =>
        createThread(d, { start: 0, end: 3, createdBy: BOB.userId, authorName: BOB.userName, body: 'Mine' }),
      ),
    ).toMatchObject(ok);
    expect(
      decide(f, BOB, 'commenter', (d) =>
        addComment(d, f.threadId, { authorId: BOB.userId, authorName: BOB.userName, body: 'More' }),
      ),
    ).toMatchObject(ok);
    expect(decide(f, BOB, 'commenter', (d) => setThreadStatus(d, f.threadId, 'resolved', BOB.userId))).toMatchObject(
      ok,
    );
    expect(decide(f, BOB, 'commenter', (d) => setThreadTags(d, f.threadId, ['question']))).toMatchObject(ok);
  });

  it("refuses a thread or reply in another user's name, or under another name", async () => {
    const f = await fixture();
    expect(
      decide(f, BOB, 'commenter', (d) =>
        createThread(d, { start: 0, end: 3, createdBy: ADA.userId, authorName: ADA.userName, body: 'as Ada' }),
      ),
    ).toEqual({ ok: false, rule: "a new thread must carry its creator's own user id" });
    expect(
      decide(f, BOB, 'commenter', (d) =>
        addComment(d, f.threadId, { authorId: BOB.userId, authorName: 'Ada', body: 'x' }),
      ),
    ).toEqual({ ok: false, rule: "a new comment must carry its author's own name" });
  });

  it("refuses resolving in someone else's name and tags outside the vocabulary", async () => {
    const f = await fixture();
    expect(decide(f, BOB, 'commenter', (d) => setThreadStatus(d, f.threadId, 'resolved', ADA.userId))).toEqual({
      ok: false,
      rule: 'resolvedBy must be the resolving user',
    });
    expect(decide(f, BOB, 'commenter', (d) => setThreadTags(d, f.threadId, ['invented']))).toEqual({
      ok: false,
      rule: 'tag "invented" is not in the vocabulary',
    });
  });

  it('lets only its author edit a comment, and nobody but owners change its fixed fields', async () => {
    const f = await fixture();
    expect(decide(f, ADA, 'commenter', (d) => editComment(d, f.threadId, f.adaComment, 'Who is he?'))).toMatchObject({
      ok: true,
    });
    expect(decide(f, BOB, 'editor', (d) => editComment(d, f.threadId, f.adaComment, 'hijacked'))).toEqual({
      ok: false,
      rule: 'only its author may change a comment',
    });
    expect(decide(f, ADA, 'commenter', (d) => commentMapOf(d, f.threadId, f.adaComment).set('createdAt', 1))).toEqual({
      ok: false,
      rule: "a comment's createdAt may not change",
    });
    expect(decide(f, ADA, 'commenter', (d) => thread(d, f.threadId).set('createdAt', 1))).toEqual({
      ok: false,
      rule: "commenters and editors may not change a thread's createdAt",
    });
    expect(decide(f, BOB, 'owner', (d) => editComment(d, f.threadId, f.adaComment, 'owner edit'))).toMatchObject({
      ok: true,
    });
  });

  it("lets editors, owners and the thread's creator re-attach it, and refuses other commenters", async () => {
    const f = await fixture();
    const elsewhere = { exact: 'on Monday' };
    expect(decide(f, ADA, 'commenter', (d) => reattachThread(d, f.threadId, elsewhere))).toMatchObject({ ok: true });
    expect(decide(f, BOB, 'editor', (d) => reattachThread(d, f.threadId, elsewhere))).toMatchObject({ ok: true });
    expect(decide(f, BOB, 'owner', (d) => reattachThread(d, f.threadId, elsewhere))).toMatchObject({ ok: true });
    expect(decide(f, BOB, 'commenter', (d) => reattachThread(d, f.threadId, elsewhere))).toEqual({
      ok: false,
      rule: "only editors and its creator may change a thread's anchor (re-attach it)",
    });
    expect(
      decide(f, BOB, 'commenter', (d) => thread(d, f.threadId).set('quote', { exact: 'x', prefix: '', suffix: '' })),
    ).toEqual({
      ok: false,
      rule: "only editors and its creator may change a thread's quote (re-attach it)",
    });
    expect(decide(f, BOB, 'viewer', (d) => reattachThread(d, f.threadId, elsewhere))).toMatchObject({ ok: false });
    // The creator, too, only with a well-formed anchor and quote.
    expect(decide(f, ADA, 'commenter', (d) => thread(d, f.threadId).set('anchor', { start: 1 }))).toMatchObject({
      ok: false,
      rule: expect.stringContaining('an anchor is { start, end }'),
    });
  });

  it('refuses removing a comment or a thread to all but owners, naming the outermost change', async () => {
    const f = await fixture();
    expect(decide(f, ADA, 'editor', (d) => commentsOf(d, f.threadId).delete(1, 1))).toEqual({
      ok: false,
      rule: 'only owners may remove comments (delete marks them deleted instead)',
    });
    expect(decide(f, ADA, 'editor', (d) => threadsMap(d).delete(f.threadId))).toEqual({
      ok: false,
      rule: 'only owners may delete threads',
    });
    expect(decide(f, ADA, 'owner', (d) => threadsMap(d).delete(f.threadId))).toMatchObject({ ok: true });
  });

  it('refuses unknown fields, including names that exist on every object', async () => {
    const f = await fixture();
    for (const key of ['reactions', 'constructor', '__proto__', 'toString'])
      expect(decide(f, ADA, 'commenter', (d) => commentMapOf(d, f.threadId, f.adaComment).set(key, 1))).toEqual({
        ok: false,
        rule: `unknown comment field "${key}"`,
      });
    expect(decide(f, ADA, 'commenter', (d) => thread(d, f.threadId).set('hasOwnProperty', 1))).toEqual({
      ok: false,
      rule: 'unknown thread field "hasOwnProperty"',
    });
  });

  it('gives the article, meta and vocabulary to editors, and nothing to viewers', async () => {
    const f = await fixture();
    const setTitle = (d: Y.Doc) => d.getMap('meta').set('title', 'T');
    expect(decide(f, ADA, 'editor', setTitle)).toMatchObject({ ok: true });
    expect(decide(f, ADA, 'commenter', setTitle)).toEqual({
      ok: false,
      rule: 'commenters may change only threads (touched meta)',
    });
    expect(decide(f, ADA, 'editor', (d) => d.getMap('elsewhere').set('x', 1))).toEqual({
      ok: false,
      rule: 'unknown shared type "elsewhere"',
    });
    expect(
      decide(f, ADA, 'viewer', (d) =>
        addComment(d, f.threadId, { authorId: ADA.userId, authorName: ADA.userName, body: 'x' }),
      ),
    ).toEqual({ ok: false, rule: 'viewers may not change the document' });
  });

  it('accepts an update that changes nothing as empty', async () => {
    const f = await fixture();
    expect(decide(f, ADA, 'viewer', () => {})).toEqual({ ok: true, empty: true, writers: [] });
  });
});

describe('checkSingleValue', () => {
  const entry = (key: string | null, values: unknown[]): ItemChange => ({
    kind: 'insert',
    at: { root: 'meta', steps: [], key },
    item: new Y.Item(Y.createID(1, 0), null, null, null, null, null, key, new Y.ContentAny(values)),
  });
  it('refuses a map entry inserted with several values; one value, or a run of array elements, passes', () => {
    expect(checkSingleValue(entry('title', ['T']))).toBeNull();
    expect(checkSingleValue(entry(null, ['a', 'b']))).toBeNull();
    expect(checkSingleValue(entry('title', ['T', 'U']))).toBe('a map entry holds exactly one value');
  });
});

describe('a new thread or comment arrives whole and valid', () => {
  /** A thread map as a stock client would build it: all fields as createThread writes them, with `over` applied. */
  function rawThread(d: Y.Doc, key: string, over: Record<string, unknown> = {}, firstComment = true): Y.Map<unknown> {
    const source = thread(d, threadsMap(d).keys().next().value!);
    const map = new Y.Map<unknown>();
    threadsMap(d).set(key, map);
    const fields: Record<string, unknown> = {
      id: key,
      anchor: source.get('anchor'),
      quote: source.get('quote'),
      createdBy: ADA.userId,
      createdAt: 1,
      status: 'open',
      resolvedBy: null,
      resolvedAt: null,
      tags: new Y.Array<string>(),
      comments: new Y.Array<Y.Map<unknown>>(),
      ...over,
    };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) map.set(k, v);
    if (firstComment && map.get('comments') instanceof Y.Array)
      (map.get('comments') as Y.Array<Y.Map<unknown>>).push([rawComment()]);
    return map;
  }
  function rawComment(over: Record<string, unknown> = {}): Y.Map<unknown> {
    const fields: Record<string, unknown> = {
      id: crypto.randomUUID(),
      authorId: ADA.userId,
      authorName: ADA.userName,
      body: 'hello',
      createdAt: 1,
      editedAt: null,
      deleted: false,
      ...over,
    };
    return new Y.Map(Object.entries(fields).filter(([, v]) => v !== undefined));
  }
  const asAda = (f: Fixture, change: (d: Y.Doc) => void) => decide(f, ADA, 'commenter', change);

  it('admits a complete thread built by hand, and one without the fields that may be left out', async () => {
    const f = await fixture();
    expect(asAda(f, (d) => rawThread(d, crypto.randomUUID()))).toMatchObject({ ok: true });
    expect(
      asAda(f, (d) => rawThread(d, crypto.randomUUID(), { resolvedBy: undefined, resolvedAt: undefined })),
    ).toMatchObject({ ok: true });
  });

  it('refuses an empty map, under any key', async () => {
    const f = await fixture();
    expect(asAda(f, (d) => threadsMap(d).set(crypto.randomUUID(), new Y.Map()))).toEqual({
      ok: false,
      rule: 'a new thread arrives with its id',
    });
    expect(asAda(f, (d) => threadsMap(d).set('x', new Y.Map()))).toEqual({
      ok: false,
      rule: "a thread's key is its id, a UUID",
    });
    expect(asAda(f, (d) => threadsMap(d).set('k'.repeat(200_000), new Y.Map()))).toEqual({
      ok: false,
      rule: "a thread's key is its id, a UUID",
    });
  });

  it('refuses a thread whose id is not its key', async () => {
    const f = await fixture();
    expect(asAda(f, (d) => rawThread(d, crypto.randomUUID(), { id: crypto.randomUUID() }))).toEqual({
      ok: false,
      rule: 'a thread id must match its key',
    });
  });

  it('refuses a thread missing a required field, with an extra field, or without its first comment', async () => {
    const f = await fixture();
    for (const field of ['anchor', 'quote', 'createdBy', 'createdAt', 'status', 'tags', 'comments'])
      expect(asAda(f, (d) => rawThread(d, crypto.randomUUID(), { [field]: undefined }))).toEqual({
        ok: false,
        rule: `a new thread arrives with its ${field}`,
      });
    expect(asAda(f, (d) => rawThread(d, crypto.randomUUID(), { colour: 'red' }))).toEqual({
      ok: false,
      rule: 'unknown thread field "colour"',
    });
    expect(asAda(f, (d) => rawThread(d, crypto.randomUUID(), {}, false))).toEqual({
      ok: false,
      rule: 'a new thread arrives with its first comment',
    });
  });

  it('refuses a field the update sets and then deletes again, as missing', async () => {
    const f = await fixture();
    expect(
      asAda(f, (d) =>
        d.transact(() => {
          rawThread(d, crypto.randomUUID()).delete('createdAt');
        }),
      ),
    ).toEqual({ ok: false, rule: 'a new thread arrives with its createdAt' });
  });

  it('refuses a reply missing a field, with a non-UUID id, or with a body over the limit', async () => {
    const f = await fixture();
    const reply = (over: Record<string, unknown>) => (d: Y.Doc) => commentsOf(d, f.threadId).push([rawComment(over)]);
    expect(asAda(f, reply({}))).toMatchObject({ ok: true });
    expect(asAda(f, reply({ editedAt: undefined }))).toMatchObject({ ok: true });
    for (const field of ['id', 'authorId', 'authorName', 'body', 'createdAt', 'deleted'])
      expect(asAda(f, reply({ [field]: undefined }))).toEqual({
        ok: false,
        rule: `a new comment arrives with its ${field}`,
      });
    expect(asAda(f, reply({ id: 'c1' }))).toEqual({ ok: false, rule: "a comment's id must be a UUID" });
    expect(asAda(f, reply({ body: 'x'.repeat(20_001) }))).toEqual({
      ok: false,
      rule: "a comment's body is a string of at most 20000 characters",
    });
    expect(asAda(f, reply({ body: 'x'.repeat(20_000) }))).toMatchObject({ ok: true });
  });

  it('holds edits of a body to the same limit, and tags to 64 characters', async () => {
    const f = await fixture();
    expect(asAda(f, (d) => commentMapOf(d, f.threadId, f.adaComment).set('body', 'x'.repeat(20_001)))).toMatchObject({
      ok: false,
      rule: "a comment's body is a string of at most 20000 characters",
    });
    expect(asAda(f, (d) => (thread(d, f.threadId).get('tags') as Y.Array<string>).push(['t'.repeat(65)]))).toEqual({
      ok: false,
      rule: 'a tag is a string of at most 64 characters',
    });
  });

  it("holds a new thread's quote and anchor to their maximum lengths", async () => {
    const f = await fixture();
    const quote = (over: Record<string, string>) => ({
      exact: 'minister',
      prefix: 'The ',
      suffix: ' announced',
      ...over,
    });
    const tooLong: Record<string, string>[] = [
      { exact: 'x'.repeat(20_001) },
      { prefix: 'p'.repeat(1_001) },
      { suffix: 's'.repeat(1_001) },
    ];
    for (const over of tooLong)
      expect(asAda(f, (d) => rawThread(d, crypto.randomUUID(), { quote: quote(over) }))).toMatchObject({
        ok: false,
        rule: expect.stringMatching(/^a quote is/),
      });
    expect(
      asAda(f, (d) => rawThread(d, crypto.randomUUID(), { quote: quote({ exact: 'x'.repeat(20_000) }) })),
    ).toMatchObject({ ok: true });
    expect(
      asAda(f, (d) => rawThread(d, crypto.randomUUID(), { anchor: { start: 'A'.repeat(1_001), end: 'AAAA' } })),
    ).toMatchObject({ ok: false, rule: expect.stringMatching(/^an anchor is/) });
  });

  it('refuses filling in a map stored incomplete before these rules', async () => {
    const f = await fixture();
    const junk = crypto.randomUUID();
    threadsMap(f.server).set(junk, new Y.Map()); // as an owner may, or a commenter could before
    expect(asAda(f, (d) => thread(d, junk).set('id', junk))).toEqual({
      ok: false,
      rule: "commenters and editors may not change a thread's id",
    });
  });

  it('holds owners to the same rules for new threads and comments', async () => {
    const f = await fixture();
    const asOwner = (change: (d: Y.Doc) => void) => decide(f, ADA, 'owner', change);
    const refused = (rule: string) => ({ ok: false, rule });
    expect(asOwner((d) => threadsMap(d).set(crypto.randomUUID(), new Y.Map()))).toEqual(
      refused('a new thread arrives with its id'),
    );
    expect(asOwner((d) => threadsMap(d).set('x', new Y.Map()))).toEqual(refused("a thread's key is its id, a UUID"));
    expect(asOwner((d) => threadsMap(d).set('k'.repeat(200_000), new Y.Map()))).toEqual(
      refused("a thread's key is its id, a UUID"),
    );
    expect(asOwner((d) => (threadsMap(d) as Y.Map<unknown>).set(crypto.randomUUID(), 'a string'))).toEqual(
      refused('a thread must be a map'),
    );
    // over an existing thread, too (the entry is located beside the one it overwrites), once or twice in one update
    expect(asOwner((d) => (threadsMap(d) as Y.Map<unknown>).set(f.threadId, 'a string'))).toEqual(
      refused('a thread must be a map'),
    );
    expect(
      asOwner((d) =>
        d.transact(() => {
          (threadsMap(d) as Y.Map<unknown>).set(f.threadId, 'one');
          (threadsMap(d) as Y.Map<unknown>).set(f.threadId, 'two');
        }),
      ),
    ).toEqual(refused('a thread must be a map'));
    expect(asOwner((d) => rawThread(d, crypto.randomUUID(), { id: crypto.randomUUID() }))).toEqual(
      refused('a thread id must match its key'),
    );
    for (const field of ['anchor', 'quote', 'createdBy', 'createdAt', 'status', 'tags', 'comments'])
      expect(asOwner((d) => rawThread(d, crypto.randomUUID(), { [field]: undefined }))).toEqual(
        refused(`a new thread arrives with its ${field}`),
      );
    expect(asOwner((d) => rawThread(d, crypto.randomUUID(), { colour: 'red' }))).toEqual(
      refused('unknown thread field "colour"'),
    );
    expect(asOwner((d) => rawThread(d, crypto.randomUUID(), {}, false))).toEqual(
      refused('a new thread arrives with its first comment'),
    );
    // in someone else's name
    expect(decide(f, BOB, 'owner', (d) => rawThread(d, crypto.randomUUID()))).toEqual(
      refused("a new thread must carry its creator's own user id"),
    );
    const reply = (over: Record<string, unknown>) => (d: Y.Doc) => commentsOf(d, f.threadId).push([rawComment(over)]);
    for (const field of ['id', 'authorId', 'authorName', 'body', 'createdAt', 'deleted'])
      expect(asOwner(reply({ [field]: undefined }))).toEqual(refused(`a new comment arrives with its ${field}`));
    expect(asOwner(reply({ id: 'c1' }))).toEqual(refused("a comment's id must be a UUID"));
    expect(asOwner(reply({ extra: 1 }))).toEqual(refused('unknown comment field "extra"'));
    expect(asOwner(reply({ body: 'x'.repeat(20_001) }))).toEqual(
      refused("a comment's body is a string of at most 20000 characters"),
    );
    // whole and valid, they pass
    expect(asOwner((d) => rawThread(d, crypto.randomUUID()))).toMatchObject({ ok: true });
    expect(asOwner(reply({}))).toMatchObject({ ok: true });
  });

  it('refuses an owner update whose incomplete thread rides along with an article edit', async () => {
    const f = await fixture();
    const edit = (d: Y.Doc) => (d.get('root', Y.XmlText).toDelta()[0].insert as Y.XmlText).insert(0, 'Breaking: ');
    expect(decide(f, ADA, 'owner', edit)).toMatchObject({ ok: true });
    expect(
      decide(f, ADA, 'owner', (d) =>
        d.transact(() => {
          edit(d);
          threadsMap(d).set(crypto.randomUUID(), new Y.Map());
        }),
      ),
    ).toEqual({ ok: false, rule: 'a new thread arrives with its id' });
  });

  it('leaves owners every other right: delete, replace whole, change any field, fill an old map', async () => {
    const f = await fixture();
    const junk = crypto.randomUUID();
    threadsMap(f.server).set(junk, new Y.Map()); // stored before these rules
    const asOwner = (change: (d: Y.Doc) => void) => decide(f, ADA, 'owner', change);
    expect(asOwner((d) => threadsMap(d).delete(f.threadId))).toMatchObject({ ok: true });
    expect(asOwner((d) => threadsMap(d).delete(junk))).toMatchObject({ ok: true });
    const replace = (d: Y.Doc) => {
      const old = thread(d, f.threadId);
      rawThread(d, f.threadId, { anchor: old.get('anchor'), quote: old.get('quote') });
    };
    expect(asOwner(replace)).toMatchObject({ ok: true }); // the thread, replaced by a whole one
    expect(asOwner((d) => thread(d, f.threadId).set('createdBy', 'u-someone'))).toMatchObject({ ok: true });
    expect(asOwner((d) => thread(d, f.threadId).set('colour', 'red'))).toMatchObject({ ok: true });
    expect(asOwner((d) => commentMapOf(d, f.threadId, f.bobComment).set('authorId', 'u-x'))).toMatchObject({
      ok: true,
    });
    expect(asOwner((d) => thread(d, junk).set('id', junk))).toMatchObject({ ok: true });
    // and a commenter may not replace a thread
    expect(asAda(f, replace)).toEqual({ ok: false, rule: 'a thread may not be replaced' });
  });
});

describe("an owner's update is located only as far as it must be", () => {
  it('locates nothing of an article edit or a change to an existing thread; a new map under threads, yes', async () => {
    const f = await fixture();
    const types = (change: (d: Y.Doc) => void) =>
      inspectUpdate(f.server, updateFrom(f.server, change), { locate: { types: true, entriesOf: 'threads' } }).changes;
    const typing = types((d) => (d.get('root', Y.XmlText).toDelta()[0].insert as Y.XmlText).insert(0, 'Breaking: '));
    expect(typing.length).toBeGreaterThan(0);
    expect(typing.every((c) => c.at === null)).toBe(true);
    const resolving = types((d) => setThreadStatus(d, f.threadId, 'resolved', ADA.userId));
    expect(resolving.length).toBeGreaterThan(0);
    expect(resolving.every((c) => c.at === null)).toBe(true);
    const meta = types((d) => d.getMap('meta').set('title', 'T'));
    expect(meta.length).toBe(1);
    expect(meta[0]!.at).toBeNull();
    const creating = types((d) =>
      createThread(d, { start: 0, end: 3, createdBy: ADA.userId, authorName: ADA.userName, body: 'x' }),
    );
    expect(creating.filter((c) => c.at !== null).map((c) => c.at!.root)).toContain('threads');
    expect(creating.some((c) => c.at === null)).toBe(true); // the fields of the new maps: located only if needed
  });
});
