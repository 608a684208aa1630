/**
 * New revisions as minimal edits (server/src/versions/revise.ts), without a server: the article becomes exactly the
 * new text (line breaks as line breaks), and for random revisions no thread's anchor ever points at text other than
 * its quote, while threads on passages the revision did not touch stay exact.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import * as Y from 'yjs';
import { articleText, createThread, readResolvedThreads, rootText } from '@marginalia/shared';
import { reviseArticle, revisionBlocks } from '@marginalia/server/versions/revise.js';
import { articleDoc } from '../support/lexical.js';
import { testSeed } from '../support/random.js';

const docs: Y.Doc[] = [];
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy();
});

async function revised(doc: Y.Doc, format: 'text' | 'markdown', content: string): Promise<Y.Doc> {
  const target = await revisionBlocks(format, content);
  const r = await reviseArticle(Y.encodeStateAsUpdate(doc), target, 424242);
  const out = new Y.Doc();
  docs.push(out);
  Y.applyUpdate(out, Y.encodeStateAsUpdate(doc));
  Y.applyUpdate(out, r.update);
  expect(articleText(out)).toBe(target.join('\n\n'));
  return out;
}

describe('a revision applied as a minimal edit', () => {
  test('line breaks in new text become line breaks, not newline characters inside a text node', async () => {
    const doc = await articleDoc('First line\nsecond line of one paragraph.\n\nOther paragraph.');
    docs.push(doc);
    const out = await revised(
      doc,
      'text',
      'First line\nsecond changed line\nand a third.\n\nOther paragraph.\n\nNew\nlines.',
    );
    for (const block of rootText(out).toDelta() as { insert: Y.XmlText }[]) {
      for (const piece of block.insert.toDelta() as { insert: unknown }[])
        if (typeof piece.insert === 'string') expect(piece.insert).not.toContain('\n');
    }
  });

  test('Markdown: a changed heading, a longer list and a new paragraph', async () => {
    const doc = await articleDoc('# Title\n\nSome *emphasis* text here.\n\n- item one\n- item two', 'markdown');
    docs.push(doc);
    await revised(
      doc,
      'markdown',
      '# Title changed\n\nSome *emphasis* text here and more.\n\n- item one\n- item two\n- item three\n\nNew para.',
    );
  });

  test('a new first paragraph while the old first one changes its first word', async () => {
    const doc = await articleDoc('Part 0 harbour harbour.\n\nPart 1 harbour harbour.');
    docs.push(doc);
    await revised(doc, 'text', 'Added salt ship.\n\nharbour 0 harbour harbour.\n\nPart 1 harbour harbour.');
  });

  test('every paragraph replaced by new ones', async () => {
    const doc = await articleDoc('Part 0 harbour harbour.\n\nPart 1 harbour harbour.\n\nPart 2 harbour harbour.');
    docs.push(doc);
    await revised(doc, 'text', 'Added barrel north clerk.');
    await revised(doc, 'text', 'Added barrel north clerk.\n\nAnd tide wind.');
  });

  const seed = testSeed();
  test(`random revisions: the text is the new one, untouched threads stay exact, none is misplaced (seed ${seed})`, async () => {
    const word = fc.constantFrom('harbour', 'ship', 'salt', 'clerk', 'book', 'tide', 'north', 'barrel', 'quay', 'wind');
    const paragraph = fc.array(word, { minLength: 4, maxLength: 12 }).map((w) => w.join(' ') + '.');
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('word' as const), p: fc.nat(), w: fc.nat(), to: word }),
      fc.record({ kind: fc.constant('drop' as const), p: fc.nat() }),
      fc.record({ kind: fc.constant('add' as const), p: fc.nat(), text: paragraph }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(paragraph, { minLength: 3, maxLength: 8 }),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 5 }),
        async (paragraphs, edits, spans) => {
          // Distinct paragraphs, so a quote is found where it was.
          const original = paragraphs.map((p, i) => `Part ${i} ${p}`);
          const doc = await articleDoc(original.join('\n\n'));
          docs.push(doc);
          const text = articleText(doc);
          const home = new Map<string, string>();
          for (const [a, b] of spans) {
            const p = a % original.length;
            const start = text.indexOf(original[p]!);
            const words = original[p]!.split(' ');
            const w = b % (words.length - 1);
            const from = start + words.slice(0, w).join(' ').length + (w ? 1 : 0);
            const { threadId } = createThread(doc, {
              start: from,
              end: from + words[w]!.length,
              createdBy: 'u',
              authorName: 'U',
              body: 'x',
            });
            home.set(threadId, original[p]!);
          }
          const next = [...original];
          const touched = new Set<string>();
          for (const e of edits) {
            const p = e.p % next.length;
            if (e.kind === 'word') {
              const words = next[p]!.split(' ');
              words[e.w % words.length] = e.to;
              touched.add(next[p]!);
              next[p] = words.join(' ');
              touched.add(next[p]!);
            } else if (e.kind === 'drop' && next.length > 1) {
              touched.add(next[p]!);
              next.splice(p, 1);
            } else if (e.kind === 'add') {
              next.splice(p, 0, `Added ${e.text}`);
            }
          }
          const out = await revised(doc, 'text', next.join('\n\n'));
          const newText = articleText(out);
          const threads = readResolvedThreads(out);
          for (const t of threads) {
            if (t.start !== null) expect(newText.slice(t.start, t.end!)).toBe(t.quote.exact);
            // A thread in a paragraph the revision kept whole stays exact.
            const p = home.get(t.id)!;
            const inKept = !touched.has(p) && next.includes(p);
            if (inKept) expect(t.anchorState).toBe('exact');
          }
        },
      ),
      { seed, numRuns: 50 },
    );
  }, 120_000);
});
