/**
 * Hostile input stays inert. An article imported from HTML keeps no scripts, styles, event attributes or unsafe links;
 * a comment `<img src=x onerror=alert(1)>` (and hostile names, tags and tag colours) is text in the HTML, Markdown
 * and Word exports — a real browser opening the HTML export runs nothing; spreadsheet formulas are neutralised in CSV.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { Window } from 'happy-dom';
import * as Y from 'yjs';
import { importArticle } from '@marginalia/server/article/import.js';
import {
  addComment,
  articleBlocks,
  articleText,
  createThread,
  exportDocument,
  initMeta,
  neutraliseFormula,
  setTag,
} from '@marginalia/shared';
import { BASE_URL, NOW } from './fixture.js';
import { docxPart, parseCsv } from './helpers.js';

const HOSTILE_ARTICLE = `<html><head><title>x</title><style>body { display: none }</style><script>window.pwned = 1</script></head>
<body onload="alert('body')">
<p>Plain words <img src=x onerror="alert('img')"> then <a href="javascript:alert('link')">a bad link</a> and <a href="https://example.org/ok" onclick="alert('click')">a good one</a>.</p>
<p style="background:url(javascript:alert(1))"><b onmouseover="alert('b')">Bold words</b><script>alert('inline')</script><iframe src="https://example.org"></iframe></p>
<svg><script>alert('svg')</script></svg><form action="https://evil.example"><input value="x"></form>
</body></html>`;

const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT_NAME = '<script>alert("name")</script>';

let doc: Y.Doc;
beforeAll(async () => {
  doc = new Y.Doc();
  await importArticle(doc, 'html', HOSTILE_ARTICLE);
  initMeta(doc, { title: '<script>alert("title")</script>', createdAt: NOW });
  setTag(doc, '<b>tag</b>', { color: 'red;}</style><script>alert("colour")</script>' });
  const { threadId } = createThread(doc, {
    exact: 'Bold words',
    createdBy: 'eve',
    authorName: SCRIPT_NAME,
    body: IMG,
    tags: ['<b>tag</b>'],
    now: NOW,
  });
  addComment(doc, threadId, { authorId: 'eve', authorName: 'Eve', body: "=cmd|' /C calc'!A0", now: NOW + 1 });
  addComment(doc, threadId, { authorId: 'eve', authorName: 'Eve', body: '@SUM(1+1)*cmd|" /C calc"!A0', now: NOW + 2 });
  addComment(doc, threadId, { authorId: 'eve', authorName: 'Eve', body: '\t=1+1', now: NOW + 3 });
  addComment(doc, threadId, {
    authorId: 'eve',
    authorName: 'Eve',
    body: '[x](javascript:alert(1)) <script>alert(2)</script>',
    now: NOW + 4,
  });
});
afterAll(() => doc.destroy());

const run = async (format: 'md' | 'html' | 'csv' | 'docx') =>
  exportDocument(doc, format, { docId: 'hostile', baseUrl: BASE_URL, now: NOW });

describe('article import (HTML) keeps only article content', () => {
  test('no script text, no unsafe link, no event attribute survives; the words do', () => {
    const text = articleText(doc);
    expect(text).toContain('Plain words');
    expect(text).toContain('a bad link');
    expect(text).toContain('Bold words');
    expect(text).not.toMatch(/alert|pwned|display: none/);
    const links = articleBlocks(doc).flatMap((b) => b.runs.map((r) => r.link).filter(Boolean));
    expect(links).toEqual(['https://example.org/ok']);
  });
});

describe('comments and names are inert in every export', () => {
  test('html: no script, img, iframe or event handler; hostile text shown as text; colours only as hex', async () => {
    const html = (await run('html')) as string;
    const window = new Window();
    const page = new window.DOMParser().parseFromString(html, 'text/html');
    try {
      expect(page.querySelectorAll('script, img, iframe, svg, form, object, embed, link').length).toBe(0);
      for (const el of Array.from(page.querySelectorAll('*'))) {
        for (const { name, value } of Array.from(el.attributes)) {
          expect(name.toLowerCase().startsWith('on')).toBe(false);
          expect(/javascript:/i.test(value ?? '')).toBe(false);
        }
      }
      const text = page.body.textContent ?? '';
      expect(text).toContain(IMG);
      expect(text).toContain(SCRIPT_NAME);
      expect(text).toContain('<b>tag</b>');
      expect(html).not.toContain('</style><script>');
      expect(page.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content')).toContain(
        "default-src 'none'",
      );
    } finally {
      void window.happyDOM.close();
    }
  });

  const browser = existsSync('/usr/bin/chromium') ? test : test.skip;
  browser(
    `html: a real browser opening the export runs nothing${existsSync('/usr/bin/chromium') ? '' : ' (skipped: no /usr/bin/chromium)'}`,
    async () => {
      const { chromium } = await import('playwright-core');
      const b = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      });
      try {
        const page = await b.newPage();
        const dialogs: string[] = [];
        const requests: string[] = [];
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        page.on('request', (r) => requests.push(r.url()));
        await page.setContent((await run('html')) as string, { waitUntil: 'load' });
        await page.mouse.move(100, 300);
        expect(dialogs).toEqual([]);
        expect(await page.evaluate(() => document.scripts.length)).toBe(0);
        expect(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
      } finally {
        await b.close();
      }
    },
  );

  test('md: angle brackets and link syntax are escaped, so no HTML or link can appear', async () => {
    const md = (await run('md')) as string;
    // Only escaped brackets: `\<img` is text in every CommonMark renderer.
    expect(md).not.toMatch(/(?<!\\)<(img|script|b)\b/i);
    expect(md).toContain('\\<img src=x onerror=alert(1)\\>');
    expect(md).not.toMatch(/(?<!\\)\]\(javascript:/i);
  });

  test('docx: the comment is text in comments.xml', async () => {
    const bytes = (await run('docx')) as Uint8Array;
    const comments = docxPart(bytes, 'word/comments.xml')!;
    expect(comments).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(comments).not.toMatch(/<(img|script)\b/);
    expect(docxPart(bytes, 'word/_rels/document.xml.rels')).not.toMatch(/javascript:/i);
  });

  test('csv: cells a spreadsheet would evaluate start with an apostrophe', async () => {
    const rows = parseCsv((await run('csv')) as string);
    const bodies = rows.slice(1).map((r) => r[10]);
    expect(bodies).toContain("'=cmd|' /C calc'!A0");
    expect(bodies).toContain('\'@SUM(1+1)*cmd|" /C calc"!A0');
    expect(bodies).toContain("'\t=1+1");
    expect(bodies.every((b) => !/^[=+\-@\t\r]/.test(b!))).toBe(true);
    for (const [input, output] of [
      ['=1+1', "'=1+1"],
      ['+1', "'+1"],
      ['-1', "'-1"],
      ['@A1', "'@A1"],
      ['\r=1', "'\r=1"],
      ['plain', 'plain'],
      ['a=1', 'a=1'],
    ]) {
      expect(neutraliseFormula(input!)).toBe(output);
    }
  });
});
