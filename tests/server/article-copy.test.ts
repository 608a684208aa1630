/**
 * The copy of a document's article alone (server/src/versions/article-copy.ts), which revisions edit instead of a
 * copy of the whole document: it holds the same article under the same item ids (so every thread's anchor
 * resolves in it as in the document), nothing of the threads, and what is written on it applies to the document
 * without touching a thread.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import * as Y from 'yjs';
import {
  addComment,
  articleBlocks,
  articleIndex,
  articleText,
  createThread,
  deleteThread,
  readThreads,
  resolveAnchor,
  threadsMap,
} from '@marginalia/shared';
import { articleCopy } from '@marginalia/server/versions/article-copy.js';
import { anchorCounts, reviseArticle, revisionBlocks } from '@marginalia/server/versions/revise.js';
import {
  articleDoc,
  canonical,
  deleteRange,
  formatRange,
  insertTextAt,
  openArticleEditor,
} from '../support/lexical.js';

const docs: Y.Doc[] = [];
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy();
});
const keep = (d: Y.Doc): Y.Doc => (docs.push(d), d);

const SOURCE = [
  '# A title',
  'First paragraph with *emphasis* and a [link](https://example.org) in it.',
  '- one item\n- another item',
  'A closing paragraph about the harbour and the ships in it.',
].join('\n\n');

/** A document as a live one is: garbage-collected, its article edited after import, threads on it, one deleted. */
async function annotated(): Promise<Y.Doc> {
  const doc = keep(await articleDoc(SOURCE, 'markdown'));
  const editor = openArticleEditor(doc);
  try {
    const text = articleText(doc);
    const at = text.indexOf('closing');
    await deleteRange(editor, at, at + 'closing '.length);
    await insertTextAt(editor, text.indexOf('First') + 'First '.length, 'long ');
    await formatRange(editor, 0, 3, 'bold');
  } finally {
    editor.destroy();
  }
  const text = articleText(doc);
  const on = (quote: string, n = 0): string => {
    const start = text.indexOf(quote);
    const { threadId } = createThread(doc, {
      start,
      end: start + quote.length,
      createdBy: `user-${n}`,
      authorName: `User ${n}`,
      body: `about ${quote}`,
    });
    addComment(doc, threadId, { authorId: 'user-9', authorName: 'Nine', body: 'a reply' });
    return threadId;
  };
  on('title');
  on('emphasis and a link', 1);
  on('another item', 2);
  on('the harbour', 3);
  deleteThread(doc, on('paragraph about', 4));
  return doc;
}

describe('a copy of the article alone', () => {
  test('holds the same article under the same ids and no thread', async () => {
    const doc = await annotated();
    const copy = keep(articleCopy(doc));
    expect(articleText(copy)).toBe(articleText(doc));
    expect(canonical(articleBlocks(copy))).toBe(canonical(articleBlocks(doc)));
    // Every clock of the document is accounted for (threads' items as placeholders).
    expect(Y.decodeStateVector(Y.encodeStateVector(copy))).toEqual(Y.decodeStateVector(Y.encodeStateVector(doc)));
    expect(threadsMap(copy).size).toBe(0);
    const threads = readThreads(doc);
    expect(threads).toHaveLength(4);
    const inDoc = articleIndex(doc);
    const inCopy = articleIndex(copy);
    for (const t of threads) {
      const there = resolveAnchor(inCopy, t);
      expect(there).toEqual(resolveAnchor(inDoc, t));
      expect(there.state).toBe('exact');
    }
  });

  test('a revision made on it applies to the document with every thread and comment kept', async () => {
    const doc = await annotated();
    // Threads and their comments (by id: an orphan sorts last).
    const held = () =>
      canonical(
        readThreads(doc)
          .map((t) => ({ id: t.id, comments: t.comments }))
          .sort((a, b) => a.id.localeCompare(b.id)),
      );
    const before = held();
    const target = await revisionBlocks(
      'markdown',
      [
        '# A title',
        'First long paragraph with *emphasis* and a [link](https://example.org) in it, revised.',
        'A closing paragraph about the harbour and the ships in it.',
        'A new last paragraph.',
      ].join('\n\n'),
    );
    const revision = await reviseArticle(doc, target, 515151);
    expect(revision.changed).toBe(true);
    // The whole document decoded from its state, revised the same way, counts the same anchors.
    const decoded = await reviseArticle(Y.encodeStateAsUpdate(doc), target, 515152);
    expect(revision.anchors).toEqual(decoded.anchors);
    Y.applyUpdate(doc, revision.update);
    expect(articleText(doc)).toBe(target.join('\n\n'));
    expect(held()).toBe(before);
    expect(anchorCounts(doc)).toEqual(revision.anchors);
    // The list went, so its thread is an orphan; the untouched title and harbour stay exact.
    expect(revision.anchors).toEqual({ exact: 3, moved: 0, orphaned: 1 });
    // A copy of the article after that (the list's items collected: garbage collection is on) is the article still.
    const again = keep(articleCopy(doc));
    expect(canonical(articleBlocks(again))).toBe(canonical(articleBlocks(doc)));
    expect(anchorCounts(doc, again)).toEqual(revision.anchors);
  });

  test('a revision that only removes a paragraph is a change', async () => {
    const doc = await annotated();
    const blocks = articleBlocks(doc).map((b) => b.runs.map((r) => r.text).join(''));
    const target = blocks.filter((_, i) => i !== 1);
    const revision = await reviseArticle(doc, target, 616161);
    expect(revision.changed).toBe(true);
    Y.applyUpdate(doc, revision.update);
    expect(articleText(doc)).toBe(target.join('\n\n'));
    expect(readThreads(doc)).toHaveLength(4);
  });

  test('a revision to the same text changes nothing', async () => {
    const doc = await annotated();
    const blocks = articleBlocks(doc).map((b) => b.runs.map((r) => r.text).join(''));
    const revision = await reviseArticle(doc, blocks, 717171);
    expect(revision.changed).toBe(false);
    expect(revision.anchors).toEqual({ exact: 4, moved: 0, orphaned: 0 });
  });
});
