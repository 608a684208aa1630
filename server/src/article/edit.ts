/**
 * Editing the article by plain-text offsets (the `articleText` coordinates), through Lexical selections — the
 * same operations a user makes in a browser: type, delete, format, press Enter. Used by tests and drills, and by
 * anything on the server that must change the article the way an editor would.
 *
 * The walk below mirrors `articleText` (shared/src/article.ts) over the Lexical tree: a block's inline content
 * gives one caret stop before each character and one at its end; blocks are separated by "\n\n", which has no stop
 * in its middle.
 */
import {
  $createRangeSelection,
  $getRoot,
  $isElementNode,
  $isLineBreakNode,
  $isTextNode,
  $setSelection,
  type ElementNode,
  type LexicalNode,
  type TextFormatType,
} from 'lexical';
import type { ArticleEditor } from './headless.js';

/** What the edits need of an article editor (any binding: the fuzzer drives collab v2 editors with them too). */
export type EditableArticle = Pick<ArticleEditor, 'update' | 'read'>;

export interface CaretPoint {
  key: string;
  offset: number;
  type: 'text' | 'element';
}

export interface CaretMap {
  /** The text the walk produced (equal to `articleText` of the bound doc). */
  text: string;
  /** Offset -> the Lexical point a caret at that offset is. */
  stops: Map<number, CaretPoint>;
  /** Offset of each block's first character, ascending. */
  blockStarts: number[];
}

/** Walks the current editor state (call inside a read or update). */
export function $caretMap(): CaretMap {
  let text = '';
  const stops = new Map<number, CaretPoint>();
  const blockStarts: number[] = [];

  const walkInline = (parent: ElementNode): void => {
    parent.getChildren().forEach((child, index) => {
      if ($isTextNode(child)) {
        const s = child.getTextContent();
        for (let i = 0; i < s.length; i++) stops.set(text.length + i, { key: child.getKey(), offset: i, type: 'text' });
        text += s;
      } else if ($isLineBreakNode(child)) {
        stops.set(text.length, { key: parent.getKey(), offset: index, type: 'element' });
        text += '\n';
      } else if ($isElementNode(child) && child.isInline()) {
        walkInline(child);
      } else {
        text += child.getTextContent();
      }
    });
  };

  const endPoint = (block: ElementNode): CaretPoint => {
    const last = block.getLastChild();
    if ($isTextNode(last)) return { key: last.getKey(), offset: last.getTextContentSize(), type: 'text' };
    return { key: block.getKey(), offset: block.getChildrenSize(), type: 'element' };
  };

  const walkBlock = (el: ElementNode): void => {
    const children = el.getChildren();
    const hasBlockChild = children.some((c: LexicalNode) => $isElementNode(c) && !c.isInline());
    if (!hasBlockChild) {
      blockStarts.push(text.length);
      walkInline(el);
      stops.set(text.length, endPoint(el));
      return;
    }
    children.forEach((child, i) => {
      if ($isElementNode(child) && !child.isInline()) {
        walkBlock(child);
        if (i < children.length - 1) text += '\n\n';
      } else {
        // Inline content beside blocks (not produced by Lexical's own normalisation): text only, no stops.
        text += child.getTextContent();
      }
    });
  };

  const root = $getRoot();
  const blocks = root.getChildren();
  blocks.forEach((child, i) => {
    if ($isElementNode(child)) walkBlock(child);
    else text += child.getTextContent();
    if ($isElementNode(child) && !child.isInline() && i < blocks.length - 1) text += '\n\n';
  });
  return { text, stops, blockStarts };
}

/** Offsets where a caret can be put (sorted). */
export function caretOffsets(article: EditableArticle): number[] {
  return [...article.read(() => $caretMap()).stops.keys()].sort((a, b) => a - b);
}

function $select(map: CaretMap, start: number, end: number) {
  const a = map.stops.get(start);
  const b = map.stops.get(end);
  if (!a || !b) throw new RangeError(`no caret stop at ${a ? end : start} (text length ${map.text.length})`);
  const selection = $createRangeSelection();
  selection.anchor.set(a.key, a.offset, a.type);
  selection.focus.set(b.key, b.offset, b.type);
  $setSelection(selection);
  return selection;
}

/** Runs an edit, naming it in any error Lexical throws (its own messages say nothing of the offsets). */
async function edit(article: EditableArticle, what: string, fn: () => void): Promise<void> {
  try {
    await article.update(fn);
  } catch (error) {
    throw new Error(`${what} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** Types `text` at `offset`, as a user would (the new text takes the format of the text it joins). */
export function insertTextAt(article: EditableArticle, offset: number, text: string): Promise<void> {
  return edit(article, `insertTextAt(${offset}, ${JSON.stringify(text)})`, () =>
    $select($caretMap(), offset, offset).insertText(text),
  );
}

/** Inserts `text` at `offset` with each "\n" as a line break, as pasting plain text does. */
export function insertRawTextAt(article: EditableArticle, offset: number, text: string): Promise<void> {
  return edit(article, `insertRawTextAt(${offset}, ${JSON.stringify(text)})`, () =>
    $select($caretMap(), offset, offset).insertRawText(text),
  );
}

/**
 * Deletes text[start, end); a range over a block boundary merges the blocks, as Backspace does.
 * Lexical 0.52's removeText throws ("$getTextNodeOffset: invalid offset") for a range from the very start of a block
 * into the middle of a later block's first text node when more nodes follow it; so a range over blocks is removed in
 * two steps: the part inside the last block, then the rest (which then ends at that block's start).
 */
export function deleteRange(article: EditableArticle, start: number, end: number): Promise<void> {
  return edit(article, `deleteRange(${start}, ${end})`, () => {
    const map = $caretMap();
    const lastBlock = map.blockStarts.filter((b) => b <= end).pop() ?? 0;
    if (lastBlock > start && end > lastBlock) {
      $select(map, lastBlock, end).removeText();
      $select($caretMap(), start, lastBlock).removeText();
    } else {
      $select(map, start, end).removeText();
    }
  });
}

/** Toggles a text format (bold, italic, …) on text[start, end). */
export function formatRange(
  article: EditableArticle,
  start: number,
  end: number,
  format: TextFormatType = 'bold',
): Promise<void> {
  return edit(article, `formatRange(${start}, ${end}, ${format})`, () =>
    $select($caretMap(), start, end).formatText(format),
  );
}

/** Splits the block at `offset`, as Enter does. */
export function splitBlockAt(article: EditableArticle, offset: number): Promise<void> {
  return edit(article, `splitBlockAt(${offset})`, () => $select($caretMap(), offset, offset).insertParagraph());
}
