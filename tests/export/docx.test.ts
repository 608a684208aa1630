/**
 * The Word export, checked as a package (comments part, extended part with done flags, comment ranges in document
 * order) and opened by a real reader: LibreOffice converts it to PDF, which must hold the article, and to flat ODF,
 * which must hold every comment with its author and resolved state. Without LibreOffice that last test is skipped — unless
 * MARGINALIA_REQUIRE_SERVICES=1, when it fails.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { importArticle } from '@marginalia/server/article/import.js';
import { annotatedArticle, articleText, exportDocx, initMeta, visibleComments } from '@marginalia/shared';
import { HOSTILE_HTML, NOW, buildFixture } from './fixture.js';
import { docxPart, wordText } from './helpers.js';
import { unzip } from '../support/zip.js';

let doc: Y.Doc;
let bytes: Uint8Array;
beforeAll(async () => {
  doc = await buildFixture();
  bytes = await exportDocx(annotatedArticle(doc), { now: NOW });
  // Keep the file for a look (e.g. MARGINALIA_EXPORT_ARTIFACTS=/tmp/exports).
  if (process.env.MARGINALIA_EXPORT_ARTIFACTS)
    writeFileSync(join(process.env.MARGINALIA_EXPORT_ARTIFACTS, 'fixture.docx'), bytes);
});
afterAll(() => doc.destroy());

const attr = (xml: string, element: string, name: string) =>
  [...xml.matchAll(new RegExp(`<${element}\\b[^>]*\\b${name}="([^"]*)"`, 'g'))].map((m) => m[1]!);

describe('docx package', () => {
  test('has one Word comment per visible comment, with author, initials and date', () => {
    const comments = docxPart(bytes, 'word/comments.xml')!;
    const expected = annotatedArticle(doc).threads.flatMap(visibleComments);
    expect(attr(comments, 'w:comment', 'w:id')).toEqual(expected.map((_, i) => String(i)));
    expect(attr(comments, 'w:comment', 'w:author')).toContain('Mara Ivanova');
    expect(attr(comments, 'w:comment', 'w:initials')).toContain('MI');
    expect(attr(comments, 'w:comment', 'w:date')).toContain('2024-05-01T09:31:00.000Z');
    for (const c of expected) expect(wordText(comments)).toContain(c.body.split('\n')[0]!);
  });

  test('threads replies by parent and marks every comment of a resolved thread done', () => {
    const extended = docxPart(bytes, 'word/commentsExtended.xml')!;
    const entries = [...extended.matchAll(/<w15:commentEx ([^>]*)\/>/g)].map((m) => m[1]!);
    const article = annotatedArticle(doc);
    const threads = article.threads.filter((t) => visibleComments(t).length > 0);
    expect(entries).toHaveLength(threads.reduce((n, t) => n + visibleComments(t).length, 0));
    let i = 0;
    for (const t of threads) {
      visibleComments(t).forEach((_, k) => {
        const entry = entries[i++]!;
        expect(entry).toContain(`w15:done="${t.status === 'resolved' ? 1 : 0}"`);
        if (k === 0) expect(entry).not.toContain('paraIdParent');
        else expect(entry).toContain('w15:paraIdParent');
      });
    }
    expect(entries.filter((e) => e.includes('w15:done="1"')).length).toBeGreaterThan(0);
    const rels = docxPart(bytes, 'word/_rels/document.xml.rels')!;
    expect(rels).toContain('Target="comments.xml"');
    expect(rels).toContain('Target="commentsExtended.xml"');
  });

  test('marks each range in document.xml in document order, start before end, with a reference after the end', () => {
    const xml = docxPart(bytes, 'word/document.xml')!;
    const starts = attr(xml, 'w:commentRangeStart', 'w:id').map(Number);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(new Set(starts).size).toBe(starts.length);
    for (const id of starts) {
      const s = xml.indexOf(`<w:commentRangeStart w:id="${id}"/>`);
      const e = xml.indexOf(`<w:commentRangeEnd w:id="${id}"/>`);
      const r = xml.indexOf(`<w:commentReference w:id="${id}"/>`);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(e).toBeGreaterThan(s);
      expect(r).toBeGreaterThan(e);
    }
    // The text is written once, overlaps or not: the body holds the article's text in order.
    expect(wordText(xml).replace(/\s+/g, '')).toContain(articleText(doc).replace(/\s+/g, ''));
  });

  test('keeps hostile comment text as text', () => {
    const comments = docxPart(bytes, 'word/comments.xml')!;
    expect(comments).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(comments).not.toContain(HOSTILE_HTML);
  });

  test('a document without threads has no comments part at all', async () => {
    const plain = new Y.Doc();
    await importArticle(plain, 'text', 'Nothing to see here.\n\nA second paragraph.');
    initMeta(plain, { title: 'Plain', createdAt: 0 });
    const files = unzip(await exportDocx(annotatedArticle(plain), { now: NOW }));
    plain.destroy();
    expect([...files.keys()].filter((p) => /comments/i.test(p))).toEqual([]);
    expect(files.get('[Content_Types].xml')!.toString()).not.toMatch(/comments/i);
    expect(files.get('word/_rels/document.xml.rels')!.toString()).not.toMatch(/comments/i);
    expect(wordText(files.get('word/document.xml')!.toString())).toContain('A second paragraph.');
  });
});

const libreoffice = ['libreoffice', 'soffice'].find(
  (bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0,
);
const required = process.env.MARGINALIA_REQUIRE_SERVICES === '1';
const withReader = libreoffice || required ? describe : describe.skip;

withReader(`docx opened by LibreOffice${libreoffice ? '' : ' (skipped: LibreOffice is not installed)'}`, () => {
  test('converts to a PDF holding the article, and to ODF holding every comment with its author and resolved state', () => {
    if (!libreoffice)
      throw new Error(
        'MARGINALIA_REQUIRE_SERVICES=1 but LibreOffice is not installed (apt-get install libreoffice-writer-nogui poppler-utils)',
      );
    const dir = mkdtempSync(join(tmpdir(), 'marginalia-docx-'));
    try {
      const input = join(dir, 'fixture.docx');
      writeFileSync(input, bytes);
      const profile = `-env:UserInstallation=file://${join(dir, 'profile')}`;
      const convert = (to: string) =>
        execFileSync(libreoffice, [profile, '--headless', '--convert-to', to, '--outdir', dir, input], {
          stdio: 'pipe',
          timeout: 90_000,
        });
      convert('pdf');
      convert('fodt');
      const pdf = execFileSync('pdftotext', ['-layout', join(dir, 'fixture.pdf'), '-'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).replace(/\s+/g, ' ');
      for (const sentence of [
        'Europe',
        'night trains were written off twice',
        'Harmonise access charges',
        'a handful of start-ups',
      ])
        expect(pdf).toContain(sentence);
      const odt = readFileSync(join(dir, 'fixture.fodt'), 'utf8');
      const annotations = odt.match(/<office:annotation[\s>][^>]*>/g) ?? [];
      const threads = annotatedArticle(doc).threads;
      expect(annotations.length).toBe(threads.flatMap(visibleComments).length);
      expect(odt).toContain('<dc:creator>Mara Ivanova</dc:creator>');
      const resolved = threads.filter((t) => t.status === 'resolved').flatMap(visibleComments).length;
      expect(annotations.filter((a) => a.includes('loext:resolved="true"')).length).toBe(resolved);
      if (process.env.MARGINALIA_EXPORT_ARTIFACTS)
        copyFileSync(join(dir, 'fixture.pdf'), join(process.env.MARGINALIA_EXPORT_ARTIFACTS, 'fixture.pdf'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
