/** Reading exports back in tests: docx parts, CSV rows, Markdown text without its escapes, HTML text. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from '@jest/globals';
import { unzip } from '../support/zip.js';

export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');
export const SEED_ARTICLE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'shared',
  'fixtures',
  'oped-kandahar-islamabad.txt',
);

/** Compares with tests/export/golden/<name>; UPDATE_GOLDEN=1 writes it instead. */
export function expectGolden(name: string, actual: string): void {
  const path = join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.UPDATE_GOLDEN !== '1' && process.env.CI)
      throw new Error(`golden file ${name} is missing (run with UPDATE_GOLDEN=1)`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

/**
 * Every part of a .docx as text, sorted by path: what a golden file of a Word export holds. `docx` names hyperlink
 * relationships with random ids (and the zip stamps entries with the wall clock), so those ids are numbered in order
 * of appearance here; everything else must be the same byte for byte.
 */
export function docxParts(bytes: Uint8Array): string {
  const files = unzip(bytes);
  const text = [...files.keys()]
    .sort()
    .map((path) => `=== ${path}\n${files.get(path)!.toString('utf8')}\n`)
    .join('');
  const names = new Map<string, string>();
  return text.replace(/rId[A-Za-z0-9_-]{12,}(?=")/g, (id) => {
    if (!names.has(id)) names.set(id, `rIdLink${names.size + 1}`);
    return names.get(id)!;
  });
}

export function docxPart(bytes: Uint8Array, path: string): string | undefined {
  return unzip(bytes).get(path)?.toString('utf8');
}

/** The text of all <w:t> elements of a WordprocessingML part, in order, entities decoded. */
export function wordText(xml: string): string {
  return [...xml.matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>/g)].map((m) => decodeXml(m[1]!)).join('');
}

export function decodeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** RFC 4180 rows (BOM stripped). */
export function parseCsv(text: string): string[][] {
  const s = text.replace(/^\ufeff/, '');
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && s[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Markdown source with backslash escapes and hard-break backslashes removed, lines joined by spaces. */
export function markdownText(md: string): string {
  return md
    .replace(/\\\n\s*/g, ' ')
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/\s+/g, ' ');
}

export const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
