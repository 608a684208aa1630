/**
 * Every export holds everything it should: each thread's passage, each comment (author and text), each tag and
 * status — for the project's fixture and for the seed article (a real op-ed, threads spread over it). In the W3C
 * collection, every TextPositionSelector spans exactly its TextQuoteSelector's text in GET …/text.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { Window } from 'happy-dom';
import * as Y from 'yjs';
import { importArticle } from '@marginalia/server/article/import.js';
import {
  addComment,
  annotatedArticle,
  articleText,
  createThread,
  exportDocument,
  initMeta,
  setTag,
  setThreadStatus,
  visibleComments,
  type AnnotatedArticle,
} from '@marginalia/shared';
import { BASE_URL, DOC_ID, NOW, buildFixture } from './fixture.js';
import { SEED_ARTICLE, docxPart, markdownText, parseCsv, squash, wordText } from './helpers.js';

/** The seed article with 40 threads spread over it (a fixed pseudo-random walk), tags, replies, some resolved. */
async function buildSeed(): Promise<Y.Doc> {
  const doc = new Y.Doc();
  await importArticle(doc, 'text', readFileSync(SEED_ARTICLE, 'utf8'));
  initMeta(doc, { title: 'Afghanistan After Takeover Of Taliban (Part III)', createdAt: NOW });
  setTag(doc, 'claim', { color: '#d9822b' });
  setTag(doc, 'source', { color: '#3f9a6b' });
  const text = articleText(doc);
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  let made = 0;
  for (let i = 0; made < 40 && i < 400; i++) {
    const start = next() % (text.length - 80);
    const end = start + 5 + (next() % 70);
    try {
      const { threadId } = createThread(doc, {
        start,
        end,
        createdBy: `u${i % 3}`,
        authorName: ['Ana', 'Bo', 'Cy'][i % 3]!,
        body: `Comment ${i} on this passage.`,
        tags: i % 2 ? ['claim'] : ['source'],
        now: NOW + i,
      });
      if (i % 3 === 0)
        addComment(doc, threadId, { authorId: 'u9', authorName: 'Dee', body: `Reply to ${i}.`, now: NOW + i + 1 });
      if (i % 4 === 0) setThreadStatus(doc, threadId, 'resolved', 'u9', NOW + i + 2);
      made++;
    } catch {
      // a span of only whitespace or the gap between blocks: try another
    }
  }
  return doc;
}

/** A CSV cell as the text it stands for: CRLF line ends back to LF, the formula guard's apostrophe dropped. */
const cell = (value: string | undefined) => (value ?? '').replace(/\r\n/g, '\n').replace(/^'(?=[=+\-@\t\r])/, '');

function htmlText(html: string): string {
  const window = new Window();
  const d = new window.DOMParser().parseFromString(html, 'text/html');
  const text = d.body.textContent ?? '';
  void window.happyDOM.close();
  return squash(text);
}

async function expectComplete(doc: Y.Doc, label: string): Promise<void> {
  const article: AnnotatedArticle = annotatedArticle(doc);
  const text = articleText(doc);
  const run = (format: 'md' | 'html' | 'w3c' | 'csv' | 'json' | 'docx') =>
    exportDocument(doc, format, { docId: DOC_ID, baseUrl: BASE_URL, now: NOW });
  const md = markdownText((await run('md')) as string);
  const html = htmlText((await run('html')) as string);
  const csv = parseCsv((await run('csv')) as string);
  const json = JSON.parse((await run('json')) as string);
  const w3c = JSON.parse((await run('w3c')) as string);
  const docx = (await run('docx')) as Uint8Array;
  const docxBody = squash(wordText(docxPart(docx, 'word/document.xml')!));
  const docxComments = squash(wordText(docxPart(docx, 'word/comments.xml') ?? ''));
  expect(article.threads.length).toBeGreaterThan(0);

  for (const t of article.threads) {
    const quote = squash(t.passage.exact);
    const where = `${label} thread ${t.number}`;
    expect([where, md.includes(quote)]).toEqual([where, true]);
    expect([where, html.includes(quote)]).toEqual([where, true]);
    expect([
      where,
      csv.some(
        (row) =>
          row[0] === t.id && cell(row[3]) === t.passage.exact && row[1] === t.status && row[2] === t.tags.join('; '),
      ),
    ]).toEqual([where, true]);
    expect([
      where,
      json.threads.some((j: { id: string; status: string }) => j.id === t.id && j.status === t.status),
    ]).toEqual([where, true]);
    // Word paragraphs are joined without a separator here, so compare without whitespace.
    expect([
      where,
      t.anchorState === 'orphan' || docxBody.replace(/\s/g, '').includes(quote.replace(/\s/g, '')),
    ]).toEqual([where, true]);
    expect([where, html.includes(t.status)]).toEqual([where, true]);
    for (const tag of t.tags) {
      expect([where, tag, md.includes(tag) && html.includes(tag)]).toEqual([where, tag, true]);
    }
    for (const c of visibleComments(t)) {
      const body = squash(c.body);
      expect([where, c.id, md.includes(body), html.includes(body)]).toEqual([where, c.id, true, true]);
      expect([where, c.id, md.includes(c.authorName) && html.includes(c.authorName)]).toEqual([where, c.id, true]);
      expect([where, c.id, csv.some((row) => row[6] === c.id && cell(row[10]) === c.body)]).toEqual([
        where,
        c.id,
        true,
      ]);
    }
  }

  // Word comments: every visible comment's text (paragraphs are joined without separators by wordText).
  for (const c of article.threads.flatMap(visibleComments))
    expect(docxComments.replace(/\s/g, '')).toContain(c.body.replace(/\s/g, ''));

  const items = w3c.first.items as {
    motivation: string;
    body: unknown;
    target: { selector?: { type: string; exact?: string; start?: number; end?: number }[] };
  }[];
  const roots = items.filter((a) => a.motivation === 'commenting');
  expect(roots).toHaveLength(article.threads.length);
  expect(items.filter((a) => a.motivation === 'replying')).toHaveLength(
    article.threads.reduce((n, t) => n + Math.max(0, visibleComments(t).length - 1), 0),
  );
  for (const a of roots) {
    const quote = a.target.selector!.find((s) => s.type === 'TextQuoteSelector')!;
    const position = a.target.selector!.find((s) => s.type === 'TextPositionSelector');
    if (position) expect(text.slice(position.start, position.end)).toBe(quote.exact);
  }
}

const docs: Y.Doc[] = [];
afterAll(() => docs.forEach((d) => d.destroy()));

describe('every quote, comment, tag and status appears in every format', () => {
  test('the project fixture', async () => {
    const doc = await buildFixture();
    docs.push(doc);
    await expectComplete(doc, 'fixture');
  });

  const seedTest = existsSync(SEED_ARTICLE) ? test : test.skip;
  seedTest(
    `the seed article${existsSync(SEED_ARTICLE) ? '' : ' (skipped: ../shared/fixtures/oped-kandahar-islamabad.txt is absent)'}`,
    async () => {
      const doc = await buildSeed();
      docs.push(doc);
      expect(annotatedArticle(doc).threads).toHaveLength(40);
      await expectComplete(doc, 'seed');
    },
  );
});
