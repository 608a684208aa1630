import { afterEach, describe, expect, it } from '@jest/globals';
import * as Y from 'yjs';
import { $getRoot } from 'lexical';
import { articleBlocks, articleIndex, articleText, decodeRelative, encodeRelative, rootText } from '@marginalia/shared';
import {
  articleDoc,
  deleteRange,
  formatRange,
  insertTextAt,
  openArticleEditor,
  splitBlockAt,
  type ArticleEditor,
} from '../support/lexical.js';

const MARKDOWN = [
  '# Kandahar and Islamabad',
  '',
  'Pakistan **lobbied** for the *recognition* of the [Taliban](https://example.org/t) in 2021.',
  'A second line of the same paragraph.',
  '',
  '- first item',
  '- second item',
  '   - nested item',
  '',
  '1. one',
  '2. two',
  '',
  '> a quoted passage',
  '',
  '```',
  'code line 1',
  'code line 2',
  '```',
].join('\n');

const opened: { doc: Y.Doc; editor?: ArticleEditor }[] = [];
async function open(content: string, format: 'text' | 'markdown' | 'html' = 'markdown') {
  const doc = await articleDoc(content, format);
  const editor = openArticleEditor(doc);
  opened.push({ doc, editor });
  return { doc, editor };
}
afterEach(() => {
  for (const { doc, editor } of opened.splice(0)) {
    editor?.destroy();
    doc.destroy();
  }
});

describe('articleText', () => {
  it('joins blocks with a blank line, inline elements and line breaks staying inside their block', async () => {
    const { doc } = await open(MARKDOWN);
    expect(articleText(doc)).toBe(
      'Kandahar and Islamabad\n\n' +
        'Pakistan lobbied for the recognition of the Taliban in 2021.\nA second line of the same paragraph.\n\n' +
        'first item\n\nsecond item\n\nnested item\n\none\n\ntwo\n\na quoted passage\n\ncode line 1\ncode line 2',
    );
  });

  it("equals Lexical's own getTextContent, so a client can compute the same offsets from its editor state", async () => {
    const { doc, editor } = await open(MARKDOWN);
    await splitBlockAt(editor, 5);
    expect(articleText(doc)).toBe(editor.read(() => $getRoot().getTextContent()));
    const plain = await open('One.\n\nTwo.', 'text');
    await splitBlockAt(plain.editor, 4); // an empty paragraph between the two
    await splitBlockAt(plain.editor, articleText(plain.doc).length); // and one at the end
    expect(articleText(plain.doc)).toBe('One.\n\n\n\nTwo.\n\n');
    expect(articleText(plain.doc)).toBe(plain.editor.read(() => $getRoot().getTextContent()));
  });

  it('is empty for a doc without an article', () => {
    const doc = new Y.Doc();
    expect(articleText(doc)).toBe('');
    expect(articleBlocks(doc)).toEqual([]);
    doc.destroy();
  });
});

describe('articleBlocks', () => {
  it('gives each block its type, start offset and formatted runs with links', async () => {
    const { doc } = await open(MARKDOWN);
    const text = articleText(doc);
    const blocks = articleBlocks(doc);
    expect(blocks.map((b) => b.type)).toEqual([
      'heading',
      'paragraph',
      'listitem',
      'listitem',
      'listitem',
      'listitem',
      'listitem',
      'quote',
      'code',
    ]);
    expect(blocks[0]).toMatchObject({ type: 'heading', tag: 'h1', start: 0 });
    const p = blocks[1]!;
    expect(p.runs).toEqual([
      { text: 'Pakistan ', format: 0 },
      { text: 'lobbied', format: 1 },
      { text: ' for the ', format: 0 },
      { text: 'recognition', format: 2 },
      { text: ' of the ', format: 0 },
      { text: 'Taliban', format: 0, link: 'https://example.org/t' },
      { text: ' in 2021.\nA second line of the same paragraph.', format: 0 },
    ]);
    expect(blocks.slice(2, 7).map((b) => [b.listType, b.depth])).toEqual([
      ['bullet', 0],
      ['bullet', 0],
      ['bullet', 1],
      ['number', 0],
      ['number', 0],
    ]);
    for (const b of blocks)
      expect(text.slice(b.start, b.start + b.runs.map((r) => r.text).join('').length)).toBe(
        b.runs.map((r) => r.text).join(''),
      );
  });
});

describe('articleIndex', () => {
  it('maps every character offset to a RelativePosition and back (assoc 0 at a start, -1 at an end)', async () => {
    const { doc } = await open(MARKDOWN);
    const index = articleIndex(doc);
    for (let o = 0; o < index.text.length; o++) {
      if (!index.isContent(o)) continue;
      expect(index.fromRelative(index.toRelative(o, 0))).toBe(o);
      expect(index.fromRelative(index.toRelative(o + 1, -1))).toBe(o + 1);
    }
  });

  it('keeps positions through base64 encoding', async () => {
    const { doc } = await open(MARKDOWN);
    const index = articleIndex(doc);
    const rel = decodeRelative(encodeRelative(index.toRelative(30, 0)));
    expect(index.fromRelative(rel)).toBe(30);
  });

  it('reads the positions the Lexical binding writes to awareness (index counts the text node embed as 1)', async () => {
    const { doc } = await open('Hello brave world', 'text');
    const paragraph = rootText(doc).toDelta()[0].insert as Y.XmlText;
    // The binding's anchorPos for a caret at offset 6 of the first text node: 1 (the node's embed) + 6.
    const awarenessPos = Y.createRelativePositionFromTypeIndex(paragraph, 1 + 6);
    expect(articleIndex(doc).fromRelative(awarenessPos)).toBe(6);
  });

  it('follows typing before a position, and keeps text typed at either edge of a span outside it', async () => {
    const { doc, editor } = await open('The quick brown fox jumps.', 'text');
    const index = articleIndex(doc);
    const start = index.toRelative(4, 0);
    const end = index.toRelative(9, -1); // "quick"
    await insertTextAt(editor, 0, 'So: ');
    await insertTextAt(editor, 8, '<');
    await insertTextAt(editor, 14, '>');
    const after = articleIndex(doc);
    expect(after.text).toBe('So: The <quick> brown fox jumps.');
    expect(after.text.slice(after.fromRelative(start)!, after.fromRelative(end)!)).toBe('quick');
  });

  it('gives null for a position in a block since removed (its text merged into the block before)', async () => {
    const { doc, editor } = await open('First paragraph.\n\nSecond paragraph here.', 'text');
    const inSecond = articleIndex(doc).toRelative(25, 0);
    await deleteRange(editor, 16, 18);
    const after = articleIndex(doc);
    expect(after.text).toBe('First paragraph.Second paragraph here.');
    expect(after.fromRelative(inSecond)).toBeNull();
  });

  it('tells whether the character a position is attached to still exists', async () => {
    const { doc, editor } = await open('alpha beta gamma', 'text');
    const index = articleIndex(doc);
    const beta = index.toRelative(6, 0);
    expect(articleIndex(doc).isLive(beta)).toBe(true);
    await formatRange(editor, 6, 10, 'bold'); // the (patched) binding keeps the letters it formats…
    expect(articleIndex(doc).isLive(beta)).toBe(true);
    await deleteRange(editor, 6, 10); // …a user retyping the word makes new ones
    await insertTextAt(editor, 6, 'beta');
    expect(articleIndex(doc).isLive(beta)).toBe(false);
  });

  it('rejects offsets outside the article', async () => {
    const { doc } = await open('short', 'text');
    expect(() => articleIndex(doc).toRelative(6, 0)).toThrow(RangeError);
    expect(() => articleIndex(doc).toRelative(-1, 0)).toThrow(RangeError);
  });
});
