/**
 * The client maps shared's article offsets to Lexical points through the editor state's own text. That holds
 * only if the editor's text is, character for character, the article text shared computes from the Y.Doc:
 * checked here on an article with every block kind, inline formatting, links, nested lists and line breaks,
 * in a headless editor bound to the doc the way the browser's is.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { $createRangeSelection, $getNodeByKey, $getRoot, $isElementNode, type LexicalNode } from 'lexical';
import { articleIndex } from '@marginalia/shared';
import { $offsetMap, offsetOf, pointAt } from '../../client/src/editor/geometry.js';
import { articleDoc, openArticleEditor, type ArticleEditor } from '../support/lexical.js';

const MARKDOWN = `# Port of call

The harbour master kept **two ledgers**: one for the [customs office](https://example.org) and one for *himself*.

- first item
- second item with \`code\`
  - a nested item
- third item

> A quote, spanning
> two lines.

\`\`\`
const ledgers = 2;
\`\`\`

Nobody knows which of the two the council believed.
`;

const open: ArticleEditor[] = [];
afterEach(() => {
  for (const editor of open.splice(0)) editor.destroy();
});

async function boundEditor() {
  const doc = await articleDoc(MARKDOWN, 'markdown');
  const editor = openArticleEditor(doc);
  open.push(editor);
  await editor.settle();
  return { doc, editor, index: articleIndex(doc) };
}

describe('article offsets in the editor', () => {
  test('the editor state spells the same article text as shared reads from the Y.Doc', async () => {
    const { editor, index } = await boundEditor();
    expect(index.text).toContain('two ledgers');
    expect(editor.read(() => $offsetMap().text)).toBe(index.text);
  });

  test('every character of article text maps to the text node holding it, and back to its offset', async () => {
    const { editor, index } = await boundEditor();
    editor.read(() => {
      const map = $offsetMap();
      const selection = $createRangeSelection();
      for (let offset = 0; offset < index.text.length; offset++) {
        if (!index.isContent(offset) || index.text[offset] === '\n') continue;
        const start = pointAt(map, offset, false)!;
        expect(($getNodeByKey(start.key) as LexicalNode).getTextContent()[start.offset]).toBe(index.text[offset]);
        selection.anchor.set(start.key, start.offset, 'text');
        expect(offsetOf(map, selection.anchor)).toBe(offset);
        const end = pointAt(map, offset + 1, true)!;
        expect(($getNodeByKey(end.key) as LexicalNode).getTextContent()[end.offset - 1]).toBe(index.text[offset]);
        selection.anchor.set(end.key, end.offset, 'text');
        expect(offsetOf(map, selection.anchor)).toBe(offset + 1);
      }
    });
  });

  test('a point between the children of an element maps to where the next child starts', async () => {
    const { editor } = await boundEditor();
    editor.read(() => {
      const map = $offsetMap();
      const selection = $createRangeSelection();
      const visit = (node: LexicalNode) => {
        if (!$isElementNode(node)) return;
        node.getChildren().forEach((child, i) => {
          selection.anchor.set(node.getKey(), i, 'element');
          expect(offsetOf(map, selection.anchor)).toBe(map.spans.get(child.getKey())!.start);
          visit(child);
        });
        selection.anchor.set(node.getKey(), node.getChildrenSize(), 'element');
        expect(offsetOf(map, selection.anchor)).toBe(map.spans.get(node.getKey())!.end);
      };
      visit($getRoot());
    });
  });

  test('an offset between two blocks moves a start forward and an end back to the nearest text', async () => {
    const { editor, index } = await boundEditor();
    const gap = index.text.indexOf('\n\n');
    editor.read(() => {
      const map = $offsetMap();
      const start = pointAt(map, gap + 1, false)!;
      expect(($getNodeByKey(start.key) as LexicalNode).getTextContent()[start.offset]).toBe(index.text[gap + 2]);
      const end = pointAt(map, gap + 1, true)!;
      expect(($getNodeByKey(end.key) as LexicalNode).getTextContent().slice(0, end.offset)).toBe('Port of call');
    });
  });
});
