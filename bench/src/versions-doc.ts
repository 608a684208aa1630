/**
 * The documents the version benchmarks work on (bench/src/versions.ts, bench/versions-compare.mjs): the seed article
 * with `threads` threads (each a first comment and two replies, at seeded random passages), and the seed article
 * revised (a changed sentence, a deleted paragraph and an inserted one).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { addComment, anchorFromOffsets, articleIndex, createThread, initMeta } from '@marginalia/shared';
import { importArticle } from '../../server/dist/article/import.js';

const here = dirname(fileURLToPath(import.meta.url));
const SEED = join(here, '..', '..', '..', 'shared', 'fixtures', 'oped-kandahar-islamabad.txt');

export function seedText(): string {
  if (existsSync(SEED)) return readFileSync(SEED, 'utf8');
  const para = 'Analysts read the same passage differently, and the margin is where that difference is argued out. ';
  return Array.from({ length: 40 }, () => para.repeat(3)).join('\n\n');
}

/** The seed with a changed sentence, a deleted paragraph and an inserted one. */
export function revisedText(text: string): string {
  const paragraphs = text.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/);
  paragraphs[5] = paragraphs[5]!.replace(/\bthe\b/, 'THE').replace(/\./, ', as reported.');
  paragraphs.splice(11, 1);
  paragraphs.splice(18, 0, 'A paragraph added in the second edition, about the border crossings at Torkham.');
  return paragraphs.join('\n\n');
}

export async function build(threads: number): Promise<Y.Doc> {
  const doc = new Y.Doc();
  await importArticle(doc, 'text', seedText());
  initMeta(doc, { title: 'Versions bench', createdAt: 0 });
  const index = articleIndex(doc);
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  doc.transact(() => {
    for (let made = 0; made < threads;) {
      const start = Math.floor(rand() * (index.text.length - 200));
      const end = start + 10 + Math.floor(rand() * 120);
      let target;
      try {
        target = anchorFromOffsets(index, start, end);
      } catch {
        continue;
      }
      const n = made++;
      const { threadId } = createThread(doc, {
        anchor: target.anchor,
        quote: target.quote,
        createdBy: `user-${n % 17}`,
        authorName: `Analyst ${n % 17}`,
        body: `Thread ${n}: is this claim supported?`,
        now: 1_700_000_000_000 + n * 1000,
      });
      for (let k = 1; k <= 2; k++)
        addComment(doc, threadId, { authorId: `user-${(n + k) % 17}`, authorName: 'Analyst', body: `Reply ${k}` });
    }
  });
  return doc;
}
