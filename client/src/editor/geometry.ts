/**
 * Maps between the article's plain-text offsets (shared's coordinate system) and the screen.
 *
 *   offsets  <-> Lexical points   the editor state's own text, which follows the same rule as shared's
 *                                 article text ($getRoot().getTextContent(): blocks joined by "\n\n")
 *   points   <-> DOM              createDOMRange / $createRangeSelectionFromDom
 *
 * Offsets mean the same in both only while the editor shows the text the index was built from; between a
 * remote change reaching the Y.Doc and the editor reconciling it they differ for a moment, and every method
 * here then answers "nothing" (the editor's next update redraws). Nothing here changes the editor state:
 * highlights are overlays, never nodes.
 */
import { createDOMRange } from '@lexical/selection';
import {
  $createRangeSelectionFromDom,
  $getNodeByKey,
  $getRoot,
  $isElementNode,
  $isTextNode,
  type EditorState,
  type LexicalEditor,
  type LexicalNode,
  type PointType,
} from 'lexical';
import type { ArticleIndex } from '@marginalia/shared';

export type { ArticleIndex };

export interface Rect {
  top: number;
  left: number;
  width: number;
  height: number;
}

export interface TextSpan {
  start: number;
  end: number;
}

/**
 * The rectangles of a range, by the rules of @lexical/selection's createRectsFromDOMRange (sorted by line,
 * rectangles already covered by another dropped, element-wide boxes dropped), with the root's box measured
 * once per batch instead of once per range: thousands of highlights are measured in one pass.
 */
function rectsOfRange(range: Range, rootWidth: number, rootPadding: number): DOMRect[] {
  const rects = Array.from(range.getClientRects()).sort((a, b) =>
    Math.abs(a.top - b.top) <= 3 ? a.left - b.left : a.top - b.top,
  );
  const kept: DOMRect[] = [];
  let previous: DOMRect | undefined;
  for (const rect of rects) {
    const covered =
      previous !== undefined &&
      previous.top <= rect.top &&
      previous.bottom >= rect.bottom &&
      previous.left <= rect.left &&
      previous.right >= rect.right;
    const spansElement = Math.abs(rect.width + rootPadding - rootWidth) < 0.5;
    if (covered || spansElement) continue;
    kept.push(rect);
    previous = rect;
  }
  return kept;
}

/** Where each node of one editor state sits in the article text. */
export interface OffsetMap {
  text: string;
  /** Text nodes in reading order, with the offset of their first character. */
  texts: Array<{ key: string; start: number; length: number }>;
  /** Every node's span in the text (an element's excludes the "\n\n" that follows it). */
  spans: Map<string, TextSpan>;
}

/** Must run inside editor.read(). Follows ElementNode.getTextContent: see shared's article text. */
export function $offsetMap(): OffsetMap {
  const texts: OffsetMap['texts'] = [];
  const spans = new Map<string, TextSpan>();
  const walk = (node: LexicalNode, offset: number): number => {
    const start = offset;
    if ($isElementNode(node)) {
      const children = node.getChildren();
      children.forEach((child, i) => {
        offset = walk(child, offset);
        if ($isElementNode(child) && i !== children.length - 1 && !child.isInline()) offset += 2;
      });
    } else {
      const length = node.getTextContentSize();
      if ($isTextNode(node)) texts.push({ key: node.getKey(), start, length });
      offset += length;
    }
    spans.set(node.getKey(), { start, end: offset });
    return offset;
  };
  const root = $getRoot();
  walk(root, 0);
  return { text: root.getTextContent(), texts, spans };
}

/** The last text node that starts at or before `offset` (strictly before, when `strict`), by binary search. */
function textAt(map: OffsetMap, offset: number, strict: boolean): number {
  let lo = 0;
  let hi = map.texts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const start = map.texts[mid]!.start;
    if (start < offset || (!strict && start === offset)) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The Lexical text point at an article offset. A start (`forEnd` false) lies before the character at `offset`,
 * an end after the one before it; an offset between blocks moves to the nearest text in that direction.
 */
export function pointAt(map: OffsetMap, offset: number, forEnd: boolean): { key: string; offset: number } | null {
  if (map.texts.length === 0) return null;
  const i = textAt(map, offset, forEnd);
  if (i === -1) return { key: map.texts[0]!.key, offset: 0 };
  const text = map.texts[i]!;
  if (offset <= text.start + text.length) {
    // At the very end of a text node, a start belongs to the next one when it begins right here.
    const next = map.texts[i + 1];
    if (!forEnd && offset === text.start + text.length && next && next.start === offset) {
      return { key: next.key, offset: 0 };
    }
    return { key: text.key, offset: offset - text.start };
  }
  const next = map.texts[i + 1];
  return !forEnd && next ? { key: next.key, offset: 0 } : { key: text.key, offset: text.length };
}

/** The article offset of a Lexical point. */
export function offsetOf(map: OffsetMap, point: PointType): number | null {
  if (point.type === 'text') {
    const span = map.spans.get(point.key);
    return span ? span.start + point.offset : null;
  }
  const element = point.getNode();
  if (!$isElementNode(element)) return null;
  const child = element.getChildAtIndex(point.offset);
  const span = map.spans.get(child ? child.getKey() : element.getKey());
  if (!span) return null;
  return child ? span.start : span.end;
}

export class ArticleGeometry {
  private cached: { state: EditorState; map: OffsetMap } | null = null;

  constructor(readonly editor: LexicalEditor) {}

  /** Must run inside editor.read(): the offset map of the editor state being read, built once per state. */
  private $map(): OffsetMap {
    const state = this.editor.getEditorState();
    if (this.cached?.state !== state) this.cached = { state, map: $offsetMap() };
    return this.cached.map;
  }

  /** Does the editor show exactly the article `index` was built from (and something at all)? */
  shows(index: ArticleIndex): boolean {
    return this.editor.read(() => $getRoot().getChildrenSize() > 0 && this.$map().text === index.text);
  }

  /** Must run inside editor.read(). */
  $domRange(map: OffsetMap, span: TextSpan): Range | null {
    // Anchors are resolved once per frame; the text may have shrunk since. Skip, the next frame redraws.
    if (span.end < span.start || span.start < 0 || span.end > map.text.length) return null;
    const anchor = pointAt(map, span.start, false);
    const focus = span.end > span.start ? pointAt(map, span.end, true) : anchor;
    if (!anchor || !focus) return null;
    const anchorNode = $getNodeByKey(anchor.key);
    const focusNode = $getNodeByKey(focus.key);
    if (!anchorNode || !focusNode) return null;
    return createDOMRange(this.editor, anchorNode, anchor.offset, focusNode, focus.offset);
  }

  /**
   * Rectangles covering each span, relative to `origin` (the overlay layer's box). One editor read for the
   * whole batch: thousands of highlights are measured in one pass. Null while the editor does not show the
   * text `index` was built from: keep what is drawn, the editor's next update brings a new layout version.
   */
  rects<K>(index: ArticleIndex, spans: ReadonlyArray<[K, TextSpan]>, origin: HTMLElement): Map<K, Rect[]> | null {
    const result = new Map<K, Rect[]>();
    const root = this.editor.getRootElement();
    if (!root) return null;
    let measurable = false;
    const box = origin.getBoundingClientRect();
    const rootWidth = root.getBoundingClientRect().width;
    const style = getComputedStyle(root);
    const rootPadding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    this.editor.read(() => {
      const map = this.$map();
      if (map.text !== index.text || map.texts.length === 0) return;
      measurable = true;
      for (const [key, span] of spans) {
        const range = this.$domRange(map, span);
        if (!range) continue;
        const rects =
          span.end > span.start
            ? rectsOfRange(range, rootWidth, rootPadding)
            : Array.from(range.getClientRects()).slice(0, 1);
        result.set(
          key,
          rects
            .filter((r) => r.height > 0 && (r.width > 0 || span.end === span.start))
            .map((r) => ({
              top: Math.round(r.top - box.top),
              left: Math.round(r.left - box.left),
              width: Math.max(2, Math.round(r.width)),
              height: Math.round(r.height),
            })),
        );
      }
    });
    return measurable ? result : null;
  }

  /** The browser's current selection as article offsets, or null when it lies outside the article. */
  selectionSpan(index: ArticleIndex, domSelection: Selection | null): TextSpan | null {
    const root = this.editor.getRootElement();
    if (!domSelection || domSelection.rangeCount === 0 || !root) return null;
    const range = domSelection.getRangeAt(0);
    if (!root.contains(range.startContainer) || !root.contains(range.endContainer)) return null;
    let span: TextSpan | null = null;
    this.editor.read(() => {
      const map = this.$map();
      if (map.text !== index.text) return;
      const selection = $createRangeSelectionFromDom(domSelection, this.editor);
      if (!selection) return;
      const start = offsetOf(map, selection.anchor);
      const end = offsetOf(map, selection.focus);
      if (start === null || end === null) return;
      span = { start: Math.min(start, end), end: Math.max(start, end) };
    });
    return span;
  }
}

const geometries = new WeakMap<LexicalEditor, ArticleGeometry>();

/** The one geometry of an editor, shared by every plugin that measures it (its offset map is built once). */
export function geometryOf(editor: LexicalEditor): ArticleGeometry {
  let geometry = geometries.get(editor);
  if (!geometry) {
    geometry = new ArticleGeometry(editor);
    geometries.set(editor, geometry);
  }
  return geometry;
}
