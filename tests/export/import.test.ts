/**
 * Importing annotations: a W3C export imported into a fresh copy of the article gives the same threads on the same
 * passages; the JSON dump restores everything, deleted comments included; other tools' collections are read by
 * quote and position; importing the same file twice changes nothing; what cannot be placed is kept as an orphan
 * and reported with the reason.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as Y from 'yjs';
import { importArticle } from '@marginalia/server/article/import.js';
import {
  ImportFormatError,
  annotatedArticle,
  articleText,
  exportDocument,
  importAnnotations,
  initMeta,
  nameUuid,
  readResolvedThreads,
  readVocabulary,
  visibleComments,
  type ResolvedThread,
} from '@marginalia/shared';
import { BASE_URL, DOC_ID, FIXTURE_MARKDOWN, FIXTURE_TITLE, NOW, T0, buildFixture, tid } from './fixture.js';

const docs: Y.Doc[] = [];
afterAll(() => docs.forEach((d) => d.destroy()));

async function freshCopy(): Promise<Y.Doc> {
  const doc = new Y.Doc();
  docs.push(doc);
  await importArticle(doc, 'markdown', FIXTURE_MARKDOWN);
  initMeta(doc, { title: FIXTURE_TITLE, createdAt: T0 });
  return doc;
}

let original: Y.Doc;
let w3c: unknown;
let dump: unknown;
beforeAll(async () => {
  original = await buildFixture();
  docs.push(original);
  const opts = { docId: DOC_ID, baseUrl: BASE_URL, now: NOW };
  w3c = JSON.parse((await exportDocument(original, 'w3c', opts)) as string);
  dump = JSON.parse((await exportDocument(original, 'json', opts)) as string);
});

const byId = (threads: ResolvedThread[]) => new Map(threads.map((t) => [t.id, t]));
const importer = { importerId: 'importer', mayDefineTags: true, now: NOW };

describe('W3C round trip', () => {
  test('export w3c -> import into a fresh copy of the article gives identical threads on identical passages', async () => {
    const copy = await freshCopy();
    const result = importAnnotations(copy, 'w3c', w3c, importer);
    const before = annotatedArticle(original).threads;
    expect(result.imported).toBe(before.length);
    expect(result.skipped).toBe(0);
    expect(result.rejected).toEqual([]);
    expect(result.orphaned).toEqual([
      {
        id: `${BASE_URL}/api/documents/${DOC_ID}/threads/${tid(11)}`,
        exact: 'sleeper trains to Lisbon',
        reason: 'the quote is not in the article',
      },
    ]);
    const after = byId(readResolvedThreads(copy));
    expect([...after.keys()].sort()).toEqual(before.map((t) => t.id).sort());
    for (const t of before) {
      const u = after.get(t.id)!;
      expect({ id: u.id, start: u.start, end: u.end, status: u.status, tags: u.tags }).toEqual({
        id: t.id,
        start: t.start,
        end: t.end,
        status: t.status,
        tags: t.tags,
      });
      expect(u.anchorState === 'orphan').toBe(t.anchorState === 'orphan');
      if (t.anchorState !== 'orphan') expect(u.quote).toEqual(t.passage);
      expect(
        u.comments.map(({ id, authorName, body, createdAt, editedAt }) => ({
          id,
          authorName,
          body,
          createdAt,
          editedAt,
        })),
      ).toEqual(
        visibleComments(t).map(({ id, authorName, body, createdAt, editedAt }) => ({
          id,
          authorName,
          body,
          createdAt,
          editedAt,
        })),
      );
      expect(u.comments.map((c) => c.authorId)).toEqual(
        visibleComments(t).map((c) => `import:urn:marginalia:user:${c.authorId}`),
      );
    }
    // Tags come back with their colours and descriptions, not the grey of an unknown tag.
    const vocabulary = readVocabulary(original);
    const used = [...new Set(before.flatMap((t) => t.tags))].sort();
    expect(used.length).toBeGreaterThan(1);
    for (const tag of used) expect(readVocabulary(copy)[tag]).toEqual(vocabulary[tag]);
  });

  test('importing the same collection twice does not duplicate anything', async () => {
    const copy = await freshCopy();
    importAnnotations(copy, 'w3c', w3c, importer);
    const once = Y.encodeStateVector(copy);
    const again = importAnnotations(copy, 'w3c', w3c, importer);
    expect(again).toMatchObject({
      imported: 0,
      comments: 0,
      skipped: annotatedArticle(original).threads.length,
      orphaned: [],
    });
    expect(Y.encodeStateVector(copy)).toEqual(once);
  });

  test('into the document it came from, everything is skipped', () => {
    const before = Y.encodeStateVector(original);
    const result = importAnnotations(original, 'w3c', w3c, importer);
    expect(result.imported).toBe(0);
    expect(Y.encodeStateVector(original)).toEqual(before);
  });
});

describe('JSON dump round trip', () => {
  test('restores threads with status, resolution, tags, edits and deleted comments, ids kept', async () => {
    const copy = await freshCopy();
    const result = importAnnotations(copy, 'json', dump, { ...importer, mayDefineTags: false });
    expect(result.droppedTags.sort()).toEqual(['claim', 'evidence', 'question']);
    const withTags = await freshCopy();
    importAnnotations(withTags, 'json', dump, importer);
    expect(readVocabulary(withTags)).toEqual(readVocabulary(original));
    const after = byId(readResolvedThreads(withTags));
    for (const t of readResolvedThreads(original)) {
      const u = after.get(t.id)!;
      expect({ start: u.start, end: u.end, status: u.status, resolvedAt: u.resolvedAt, tags: u.tags }).toEqual({
        start: t.start,
        end: t.end,
        status: t.status,
        resolvedAt: t.resolvedAt,
        tags: t.tags,
      });
      expect(u.resolvedBy).toBe(t.resolvedBy === null ? null : `import:${t.resolvedBy}`);
      expect(u.comments.map(({ authorId: _a, ...c }) => c)).toEqual(t.comments.map(({ authorId: _a, ...c }) => c));
    }
    expect(after.get(tid(9))!.comments.map((c) => c.deleted)).toEqual([false, true, false]);
  });
});

describe('collections from other tools', () => {
  const source = 'https://example.org/night-trains';
  const annotation = (id: string | undefined, selector: object[], extra: object = {}) => ({
    '@context': 'http://www.w3.org/ns/anno.jsonld',
    ...(id ? { id } : {}),
    type: 'Annotation',
    creator: 'acct:alice@hypothes.is',
    created: '2024-02-03T04:05:06Z',
    body: [
      { type: 'TextualBody', value: 'A note from elsewhere', format: 'text/markdown' },
      { type: 'TextualBody', purpose: 'tagging', value: 'imported-tag' },
    ],
    target: [{ source, selector }],
    ...extra,
  });
  // `at` is near where the passage annotated elsewhere (before its hyphen was added) is now: the position is the hint
  // that lets an approximate quote be placed, as for a moved anchor.
  const makePage = (at: number) => ({
    type: 'AnnotationPage',
    items: [
      // A wrong position is only a hint: the quote with its context decides.
      annotation('https://hypothes.is/a/quote', [
        { type: 'TextPositionSelector', start: 3, end: 9 },
        { type: 'TextQuoteSelector', exact: 'sleeping cars', prefix: 'because ', suffix: ' cost more' },
      ]),
      annotation('https://hypothes.is/a/fuzzy', [
        { type: 'TextQuoteSelector', exact: 'a handful of startups are betting', prefix: 'Nightjet and ', suffix: '' },
        { type: 'TextPositionSelector', start: at, end: at + 33 },
      ]),
      annotation('https://hypothes.is/a/ambiguous', [{ type: 'TextQuoteSelector', exact: 'carriages' }]),
      annotation('https://hypothes.is/a/missing', [{ type: 'TextQuoteSelector', exact: 'a tram to the moon' }]),
      annotation(undefined, [{ type: 'TextPositionSelector', start: 0, end: 6 }]),
      annotation('https://hypothes.is/a/none', [{ type: 'CssSelector', value: 'p' }]),
      {
        id: 'https://hypothes.is/a/reply',
        type: 'Annotation',
        motivation: 'replying',
        creator: { id: 'acct:bob@hypothes.is', name: 'Bob' },
        bodyValue: 'A reply',
        target: 'https://hypothes.is/a/quote',
      },
      {
        id: 'https://hypothes.is/a/lost-reply',
        type: 'Annotation',
        motivation: 'replying',
        bodyValue: 'To nothing',
        target: 'https://hypothes.is/a/gone',
      },
    ],
  });

  test('are placed by quote (exactly or approximately), kept as orphans when not found, and reported', async () => {
    const copy = await freshCopy();
    const page = makePage(articleText(copy).indexOf('a handful of start-ups') + 6);
    const result = importAnnotations(copy, 'w3c', page, { ...importer, mayDefineTags: false });
    expect(result.imported).toBe(5);
    expect(result.orphaned.map((o) => [o.id, o.reason])).toEqual([
      ['https://hypothes.is/a/ambiguous', 'the quote occurs several times and its context does not tell which'],
      ['https://hypothes.is/a/missing', 'the quote is not in the article'],
    ]);
    expect(result.rejected.map((r) => r.id)).toEqual([
      'https://hypothes.is/a/none',
      'https://hypothes.is/a/lost-reply',
    ]);
    expect(result.droppedTags).toEqual(['imported-tag']);
    const threads = byId(readResolvedThreads(copy));
    const quoted = threads.get(nameUuid('https://hypothes.is/a/quote'))!;
    expect(quoted).toMatchObject({ anchorState: 'exact', quote: { exact: 'sleeping cars' }, tags: [] });
    expect(quoted.comments.map((c) => [c.authorId, c.authorName, c.body])).toEqual([
      ['import:acct:alice@hypothes.is', 'acct:alice@hypothes.is', 'A note from elsewhere'],
      ['import:acct:bob@hypothes.is', 'Bob', 'A reply'],
    ]);
    expect(quoted.createdAt).toBe(Date.parse('2024-02-03T04:05:06Z'));
    expect(threads.get(nameUuid('https://hypothes.is/a/fuzzy'))).toMatchObject({
      anchorState: 'moved',
      quote: { exact: 'a handful of startups are betting' },
    });
    expect(threads.get(nameUuid('https://hypothes.is/a/missing'))).toMatchObject({
      anchorState: 'orphan',
      start: null,
    });
    const positioned = [...threads.values()].find(
      (t) => t.start === 0 && t.end === 6 && t.quote.exact === articleText(copy).slice(0, 6),
    );
    expect(positioned).toBeDefined();
    // The same page again: its threads are found by their derived ids, nothing is added.
    const again = importAnnotations(copy, 'w3c', page, { ...importer, mayDefineTags: false });
    expect(again).toMatchObject({ imported: 0, skipped: 5, comments: 0 });
  });

  test.each([
    ['a string', 'not json'],
    ['an object of another kind', { type: 'Person' }],
    [
      'a collection whose page is only a link',
      { type: 'AnnotationCollection', total: 3, first: 'https://example.org/page1' },
    ],
  ])('%s is refused as not a W3C collection', async (_name, input) => {
    const copy = await freshCopy();
    expect(() => importAnnotations(copy, 'w3c', input, importer)).toThrow(ImportFormatError);
  });

  test('a dump of another version is refused', async () => {
    const copy = await freshCopy();
    expect(() => importAnnotations(copy, 'json', { ...(dump as object), version: 99 }, importer)).toThrow(/version/);
    expect(() => importAnnotations(copy, 'json', w3c, importer)).toThrow(ImportFormatError);
  });
});
