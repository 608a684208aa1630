/**
 * The article's plain-text view and the map between text offsets and Yjs RelativePositions.
 *
 * The article lives in `root` (Y.XmlText) in @lexical/yjs collab v1 form: every Lexical element is a Y.XmlText
 * whose delta holds, per text node, a Y.Map embed (the node's properties, width 1) followed by its characters,
 * a Y.Map embed `{ __type: 'linebreak' }` per line break, and nested Y.XmlText embeds for child elements.
 *
 * The text follows Lexical's own `$getRoot().getTextContent()` exactly, so a client can compute the same offsets
 * from its editor state: an element's text is the concatenation of its children's, and a non-inline child element
 * that is not its parent's last child is followed by "\n\n". A line break is "\n"; decorators contribute nothing.
 * Offsets are UTF-16 code units (JavaScript string indices), the unit Yjs counts in too.
 */
import * as Y from 'yjs';
import * as buffer from 'lib0/buffer';
import { rootText } from './schema.js';

/** Element types that flow inside their block's text (Lexical `isInline()`): they add no block boundary. */
export const INLINE_ELEMENT_TYPES: ReadonlySet<string> = new Set(['link', 'autolink', 'mark']);

export type BlockType = 'paragraph' | 'heading' | 'quote' | 'listitem' | 'code';
export type HeadingTag = 'h1' | 'h2' | 'h3' | 'h4' | 'h5' | 'h6';

/** A run of text with one format; `format` is Lexical's bitmask (1 bold, 2 italic, 4 strikethrough, 8 underline, 16 code, 32 subscript, 64 superscript, 128 highlight). */
export interface TextRun {
  text: string;
  format: number;
  link?: string;
}

export interface ArticleBlock {
  type: BlockType;
  tag?: HeadingTag;
  listType?: 'bullet' | 'number';
  /** Nesting depth of a list item (0 for a top-level item). */
  depth?: number;
  /** The number Lexical shows for an item of a numbered list. */
  value?: number;
  /** Code language of a code block, when set. */
  language?: string;
  /** Offset of the block's first character in `articleText`. */
  start: number;
  runs: TextRun[];
}

/** Maps article-text offsets to Yjs RelativePositions and back. Build it once per read of the document. */
export interface ArticleIndex {
  readonly doc: Y.Doc;
  readonly text: string;
  /** A position before the character at `offset` (assoc 0, for a start) or after the one before it (assoc -1, for an end). */
  toRelative(offset: number, assoc: 0 | -1): Y.RelativePosition;
  /**
   * The article-text offset of a RelativePosition, or null when it points into content no longer in the article:
   * a block since removed (merged into another, the second half of a split) — its content is garbage-collected,
   * so where it was is not known either.
   */
  fromRelative(rel: Y.RelativePosition): number | null;
  /**
   * Is the character a RelativePosition is attached to still there (not deleted)? Anchors made here attach to the
   * first and the last character of their span; while both live, the span between them is the annotated text.
   */
  isLive(rel: Y.RelativePosition): boolean;
  /** Is the character at `offset` real article content (false for the "\n\n" between blocks)? */
  isContent(offset: number): boolean;
}

interface Walk {
  parts: string[];
  length: number;
  /** Per character: the Y.XmlText holding it and its index there; null type for a block separator. */
  charType: (Y.XmlText | null)[];
  charIndex: number[];
  /** Per visited Y.XmlText: the text offset at each index boundary 0..length. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- yjs types are invariant in their event type
  boundaries: Map<Y.AbstractType<any>, Int32Array>;
  blocks: ArticleBlock[];
}

interface Context {
  listType?: 'bullet' | 'number';
  listDepth: number;
  link?: string;
}

function attr(x: Y.XmlText, key: string): unknown {
  return x.getAttribute(key) as unknown;
}

function blockFor(el: Y.XmlText, ctx: Context, start: number): ArticleBlock {
  const type = String(attr(el, '__type') ?? 'paragraph');
  switch (type) {
    case 'heading': {
      const tag = String(attr(el, '__tag') ?? 'h1');
      return { type: 'heading', tag: (/^h[1-6]$/.test(tag) ? tag : 'h1') as HeadingTag, start, runs: [] };
    }
    case 'quote':
      return { type: 'quote', start, runs: [] };
    case 'listitem': {
      const value = attr(el, '__value');
      return {
        type: 'listitem',
        listType: ctx.listType ?? 'bullet',
        depth: Math.max(0, ctx.listDepth - 1),
        ...(typeof value === 'number' ? { value } : {}),
        start,
        runs: [],
      };
    }
    case 'code': {
      const language = attr(el, '__language');
      return { type: 'code', ...(typeof language === 'string' && language ? { language } : {}), start, runs: [] };
    }
    default:
      return { type: 'paragraph', start, runs: [] };
  }
}

function pushRun(block: ArticleBlock, text: string, format: number, link: string | undefined): void {
  const last = block.runs[block.runs.length - 1];
  if (last && last.format === format && last.link === link) {
    last.text += text;
  } else {
    block.runs.push(link === undefined ? { text, format } : { text, format, link });
  }
}

/**
 * Walks one element. `inlineHost` is the block that inline content of this element belongs to (set when this
 * element is itself inline, e.g. a link); otherwise the element opens its own block on its first inline content.
 */
function walkElement(w: Walk, el: Y.XmlText, ctx: Context, inlineHost: ArticleBlock | null, isRoot: boolean): void {
  const delta = el.toDelta() as { insert: unknown }[];
  const bounds = new Int32Array(el.length + 1);
  w.boundaries.set(el, bounds);
  let index = 0;
  let block: ArticleBlock | null = inlineHost;
  let format = 0;
  let sawChild = false;
  const open = (): ArticleBlock => {
    if (block === null) {
      block = blockFor(el, ctx, w.length);
      w.blocks.push(block);
    }
    return block;
  };
  const emit = (s: string, ownerIndex: (i: number) => number): void => {
    const b = open();
    for (let i = 0; i < s.length; i++) {
      w.charType.push(el);
      w.charIndex.push(ownerIndex(i));
    }
    w.parts.push(s);
    w.length += s.length;
    pushRun(b, s, format, ctx.link);
  };
  for (let k = 0; k < delta.length; k++) {
    const insert = delta[k]!.insert;
    if (typeof insert === 'string') {
      for (let i = 0; i < insert.length; i++) bounds[index + i] = w.length + i;
      const at = index;
      emit(insert, (i) => at + i);
      index += insert.length;
      continue;
    }
    bounds[index] = w.length;
    if (insert instanceof Y.XmlText) {
      const type = String(attr(insert, '__type') ?? '');
      sawChild = true;
      if (!isRoot && INLINE_ELEMENT_TYPES.has(type)) {
        const url = attr(insert, '__url');
        const link = typeof url === 'string' ? url : ctx.link;
        walkElement(w, insert, link === undefined ? { ...ctx } : { ...ctx, link }, open(), false);
      } else {
        // A block child closes the inline segment of this element: later inline content opens a new block.
        if (inlineHost === null) block = null;
        const child: Context =
          type === 'list'
            ? { listType: attr(insert, '__listType') === 'number' ? 'number' : 'bullet', listDepth: ctx.listDepth + 1 }
            : { ...(ctx.listType ? { listType: ctx.listType } : {}), listDepth: ctx.listDepth };
        walkElement(w, insert, child, null, false);
        if (k < delta.length - 1) {
          w.charType.push(null, null);
          w.charIndex.push(-1, -1);
          w.parts.push('\n\n');
          w.length += 2;
        }
      }
    } else if (insert instanceof Y.Map) {
      const type = insert.get('__type');
      if (type === 'linebreak') {
        const at = index;
        const saved = format;
        format = 0;
        emit('\n', () => at);
        format = saved;
      } else {
        const f = insert.get('__format');
        format = typeof f === 'number' ? f : 0;
      }
    }
    // Any other embed (a decorator's Y.XmlElement) has no text.
    index += 1;
  }
  bounds[index] = w.length;
  // An element with no content at all (an empty paragraph) is still a block, so exports keep it.
  if (!isRoot && inlineHost === null && block === null && !sawChild) open();
}

function walk(doc: Y.Doc): Walk {
  const w: Walk = { parts: [], length: 0, charType: [], charIndex: [], boundaries: new Map(), blocks: [] };
  walkElement(w, rootText(doc), { listDepth: 0 }, null, true);
  return w;
}

/** The article as plain text: blocks joined by "\n\n" (identical to Lexical's `$getRoot().getTextContent()`). */
export function articleText(doc: Y.Doc): string {
  return walk(doc).parts.join('');
}

/** The article's blocks with their formatted runs, for exports. */
export function articleBlocks(doc: Y.Doc): ArticleBlock[] {
  return walk(doc).blocks;
}

/** Builds the offset <-> RelativePosition map of the article as it is now. */
export function articleIndex(doc: Y.Doc): ArticleIndex {
  const w = walk(doc);
  const text = w.parts.join('');
  const root = rootText(doc);

  const toRelative = (offset: number, assoc: 0 | -1): Y.RelativePosition => {
    if (!Number.isInteger(offset) || offset < 0 || offset > text.length) {
      throw new RangeError(`offset ${offset} is outside the article (0..${text.length})`);
    }
    if (assoc === 0) {
      // Before the first real character at or after offset; past the end, at the end of the last block.
      for (let i = offset; i < text.length; i++) {
        const type = w.charType[i];
        if (type) return Y.createRelativePositionFromTypeIndex(type, w.charIndex[i]!, 0);
      }
      return endOfArticle(w, root, -1);
    }
    // After the last real character before offset; before any content, at the start of the article.
    for (let i = offset - 1; i >= 0; i--) {
      const type = w.charType[i];
      if (type) return Y.createRelativePositionFromTypeIndex(type, w.charIndex[i]! + 1, -1);
    }
    return Y.createRelativePositionFromTypeIndex(root, 0, 0);
  };

  const fromRelative = (rel: Y.RelativePosition): number | null => {
    const abs = Y.createAbsolutePositionFromRelativePosition(rel, doc);
    if (abs === null) return null;
    const bounds = w.boundaries.get(abs.type);
    if (bounds === undefined) return null;
    const at = bounds[Math.min(abs.index, bounds.length - 1)];
    return at === undefined ? null : Math.min(at, text.length);
  };

  const isLive = (rel: Y.RelativePosition): boolean => {
    const id = rel.item;
    if (id === null) return rel.tname !== null || rel.type !== null;
    if (Y.getState(doc.store, id.client) <= id.clock) return false;
    const item = Y.getItem(doc.store, id);
    return item instanceof Y.Item && !item.deleted && fromRelative(rel) !== null;
  };

  const isContent = (offset: number): boolean => w.charType[offset] != null;

  return { doc, text, toRelative, fromRelative, isLive, isContent };
}

function endOfArticle(w: Walk, root: Y.XmlText, assoc: 0 | -1): Y.RelativePosition {
  for (let i = w.charType.length - 1; i >= 0; i--) {
    const type = w.charType[i];
    if (type) return Y.createRelativePositionFromTypeIndex(type, w.charIndex[i]! + 1, assoc);
  }
  return Y.createRelativePositionFromTypeIndex(root, root.length, assoc);
}

/** base64 of `Y.encodeRelativePosition`, the form anchors are stored in. */
export function encodeRelative(rel: Y.RelativePosition): string {
  return buffer.toBase64(Y.encodeRelativePosition(rel));
}

export function decodeRelative(encoded: string): Y.RelativePosition {
  return Y.decodeRelativePosition(buffer.fromBase64(encoded));
}
