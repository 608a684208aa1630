/**
 * Maps between the article's plain-text offsets (shared's coordinate system) and the screen.
 *
 *   offsets  <-> Yjs RelativePositions   articleIndex(doc).toRelative / fromRelative (shared)
 *   RelPos   <-> Lexical points           the collaboration binding (the same mapping remote cursors use)
 *   points   <-> DOM                      createDOMRange / $createRangeSelectionFromDom
 *
 * Nothing here touches the editor state: highlights are overlays, never nodes (ARCHITECTURE.md §3).
 */
import type { Binding, UserState } from '@lexical/yjs';
import { $getAnchorAndFocusForUserState } from '@lexical/yjs';
import { createDOMRange } from '@lexical/selection';
import {
  $createRangeSelectionFromDom,
  $getNodeByKey,
  $isElementNode,
  $isTextNode,
  type LexicalEditor,
  type PointType,
} from 'lexical';
import { articleIndex } from '@marginalia/shared';
import * as Y from 'yjs';

export type ArticleIndex = ReturnType<typeof articleIndex>;

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

function userState(anchorPos: Y.RelativePosition, focusPos: Y.RelativePosition): UserState {
  return { anchorPos, focusPos, color: '', name: '', focusing: false, awarenessData: {} };
}

/** The Yjs position of a Lexical point, as the binding itself computes it for the local cursor. */
function relativePositionOf(binding: Binding, point: PointType, assoc: number): Y.RelativePosition | null {
  const collabNode = binding.collabNodeMap.get(point.key);
  if (collabNode === undefined) return null;
  if (point.type === 'text' && '_parent' in collabNode && collabNode._parent && '_xmlText' in collabNode._parent) {
    const offsetInParent = collabNode.getOffset();
    if (offsetInParent === -1) return null;
    // In collab v1 a text node is a one-item property map followed by its characters.
    return Y.createRelativePositionFromTypeIndex(collabNode._parent._xmlText, offsetInParent + 1 + point.offset, assoc);
  }
  if (point.type === 'element' && '_xmlText' in collabNode) {
    const element = point.getNode();
    if (!$isElementNode(element)) return null;
    let index = 0;
    let child = element.getFirstChild();
    for (let i = 0; child !== null && i < point.offset; i++) {
      index += $isTextNode(child) ? child.getTextContentSize() + 1 : 1;
      child = child.getNextSibling();
    }
    return Y.createRelativePositionFromTypeIndex(collabNode._xmlText, index, assoc);
  }
  return null;
}

export class ArticleGeometry {
  constructor(
    readonly editor: LexicalEditor,
    readonly binding: Binding,
  ) {}

  get doc(): Y.Doc {
    return this.binding.doc;
  }

  /** Must run inside editor.read(). */
  $domRange(index: ArticleIndex, span: TextSpan): Range | null {
    // Anchors are resolved once per frame; the text may have shrunk since. Skip, the next frame redraws.
    if (span.end < span.start || span.start < 0 || span.end > index.text.length) return null;
    const anchorPos = index.toRelative(span.start, 0);
    const focusPos = index.toRelative(span.end, span.end > span.start ? -1 : 0);
    if (!anchorPos || !focusPos) return null;
    const { anchorKey, anchorOffset, focusKey, focusOffset } = $getAnchorAndFocusForUserState(
      this.binding,
      userState(anchorPos, focusPos),
    );
    if (anchorKey === null || focusKey === null) return null;
    const anchorNode = $getNodeByKey(anchorKey);
    const focusNode = $getNodeByKey(focusKey);
    if (!anchorNode || !focusNode) return null;
    return createDOMRange(this.editor, anchorNode, anchorOffset, focusNode, focusOffset);
  }

  /**
   * Rectangles covering each span, relative to `origin` (the overlay layer's box). One editor read for the
   * whole batch: thousands of highlights are measured in one pass.
   */
  rects<K>(index: ArticleIndex, spans: ReadonlyArray<[K, TextSpan]>, origin: HTMLElement): Map<K, Rect[]> {
    const result = new Map<K, Rect[]>();
    const root = this.editor.getRootElement();
    if (!root) return result;
    const box = origin.getBoundingClientRect();
    const rootWidth = root.getBoundingClientRect().width;
    const style = getComputedStyle(root);
    const rootPadding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    this.editor.read(() => {
      for (const [key, span] of spans) {
        const range = this.$domRange(index, span);
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
    return result;
  }

  /** The browser's current selection as article offsets, or null when it lies outside the article. */
  selectionSpan(index: ArticleIndex, domSelection: Selection | null): TextSpan | null {
    const root = this.editor.getRootElement();
    if (!domSelection || domSelection.rangeCount === 0 || !root) return null;
    const range = domSelection.getRangeAt(0);
    if (!root.contains(range.startContainer) || !root.contains(range.endContainer)) return null;
    let span: TextSpan | null = null;
    this.editor.read(() => {
      const selection = $createRangeSelectionFromDom(domSelection, this.editor);
      if (!selection) return;
      const [first, last] = selection.isBackward()
        ? [selection.focus, selection.anchor]
        : [selection.anchor, selection.focus];
      const startPos = relativePositionOf(this.binding, first, 0);
      const endPos = relativePositionOf(this.binding, last, -1);
      if (!startPos || !endPos) return;
      const start = index.fromRelative(startPos);
      const end = index.fromRelative(endPos);
      if (start === null || end === null) return;
      span = { start: Math.min(start, end), end: Math.max(start, end) };
    });
    return span;
  }
}
