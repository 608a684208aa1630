/**
 * Article import: plain text, Markdown or HTML into the `root` of a fresh article Y.Doc, through a headless Lexical
 * editor so the result is exactly what a browser editor would have written.
 *
 * The content is first built in an unbound editor (so nothing reaches the doc if it turns out empty or fails),
 * then copied as serialized nodes into the editor bound to the doc, in one Lexical update.
 */
import { createHeadlessEditor } from '@lexical/headless';
import { $generateNodesFromDOM } from '@lexical/html';
import { $isLinkNode } from '@lexical/link';
import { $convertFromMarkdownString, TRANSFORMERS } from '@lexical/markdown';
import { $createHeadingNode } from '@lexical/rich-text';
import {
  $createLineBreakNode,
  $createParagraphNode,
  $createTextNode,
  $getRoot,
  $isDecoratorNode,
  $isElementNode,
  $parseSerializedNode,
  type LexicalEditor,
  type LexicalNode,
  type SerializedLexicalNode,
} from 'lexical';
import type * as Y from 'yjs';
import { rootText } from '@marginalia/shared';
import { ARTICLE_NODES, openArticleEditor } from './headless.js';
import { isSafeUrl, parseSafeHtml, withSafeDOM } from './sanitize.js';

export type ArticleFormat = 'text' | 'markdown' | 'html';
export const ARTICLE_FORMATS: readonly ArticleFormat[] = ['text', 'markdown', 'html'];

export class ImportError extends Error {
  override name = 'ImportError';
}

/**
 * Plain text to paragraphs: line endings normalised to "\n", paragraphs separated by blank lines (lines holding
 * only whitespace count as blank), trailing whitespace cut from every line. The lines of one paragraph stay lines
 * (they become line breaks), so nothing of the author's text is re-flowed. Headings: see textHeadings.
 */
export function textParagraphs(content: string): string[][] {
  const paragraphs: string[][] = [];
  let current: string[] = [];
  for (const raw of content.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trimEnd();
    if (line === '') {
      if (current.length > 0) paragraphs.push(current);
      current = [];
    } else {
      current.push(line);
    }
  }
  if (current.length > 0) paragraphs.push(current);
  return paragraphs;
}

/** A numbered section heading: "1. Pakistan's lobbying …", "2) Methods", "IV. Findings"; no closing full stop. */
const NUMBERED_HEADING = /^(?:\d{1,2}|[IVXLC]{1,6})[.)]\s+\S.{0,118}$/;
const SENTENCE_END = /[.!?,;:]$/;

function isSectionHeading(lines: string[]): boolean {
  if (lines.length !== 1) return false;
  const line = lines[0]!.trim();
  if (SENTENCE_END.test(line)) return false;
  if (NUMBERED_HEADING.test(line)) return true;
  // ALL CAPS: at least four letters, none lower-case, short enough to be a heading.
  const letters = line.replace(/[^\p{L}]/gu, '');
  return letters.length >= 4 && line.length <= 80 && letters === letters.toUpperCase() && /\p{Lu}/u.test(letters);
}

/**
 * Which paragraphs of a plain text are headings. Structure is recognised only in a text that shows it (two
 * or more section headings, numbered or in capitals): those become h2, and then a first one-line paragraph
 * without a closing full stop is the title (h1). Any other text stays paragraphs only.
 */
export function textHeadings(paragraphs: string[][]): Map<number, 'h1' | 'h2'> {
  const headings = new Map<number, 'h1' | 'h2'>();
  paragraphs.forEach((lines, i) => {
    if (isSectionHeading(lines)) headings.set(i, 'h2');
  });
  if (headings.size < 2) return new Map();
  const first = paragraphs[0];
  if (first && first.length === 1 && !headings.has(0) && first[0]!.length <= 200 && !/[.!?]$/.test(first[0]!))
    headings.set(0, 'h1');
  return headings;
}

function $appendText(paragraphs: string[][]): void {
  const root = $getRoot();
  const headings = textHeadings(paragraphs);
  for (const [i, lines] of paragraphs.entries()) {
    const tag = headings.get(i);
    if (tag) {
      root.append($createHeadingNode(tag).append($createTextNode(lines[0]!)));
      continue;
    }
    const p = $createParagraphNode();
    lines.forEach((line, i) => {
      if (i > 0) p.append($createLineBreakNode());
      p.append($createTextNode(line));
    });
    root.append(p);
  }
}

/** Top-level nodes must be blocks: runs of inline nodes (text, line breaks, links) are wrapped in paragraphs. */
function $appendAsBlocks(nodes: LexicalNode[]): void {
  const root = $getRoot();
  let paragraph: ReturnType<typeof $createParagraphNode> | null = null;
  for (const node of nodes) {
    const block = ($isElementNode(node) || $isDecoratorNode(node)) && !node.isInline();
    if (block) {
      paragraph = null;
      root.append(node);
    } else {
      if (paragraph === null) {
        paragraph = $createParagraphNode();
        root.append(paragraph);
      }
      paragraph.append(node);
    }
  }
}

/** Links with a scheme other than http(s)/mailto (javascript:, data:, …) are unwrapped to their text. */
function $dropUnsafeLinks(node: LexicalNode): void {
  if (!$isElementNode(node)) return;
  for (const child of node.getChildren()) $dropUnsafeLinks(child);
  if ($isLinkNode(node) && !isSafeUrl(node.getURL())) {
    for (const child of node.getChildren()) node.insertBefore(child);
    node.remove();
  }
}

function build(format: ArticleFormat, content: string): SerializedLexicalNode[] {
  const editor: LexicalEditor = createHeadlessEditor({
    namespace: 'marginalia-import',
    nodes: [...ARTICLE_NODES],
    onError: (error) => {
      throw error;
    },
  });
  const fill = (window?: Parameters<Parameters<typeof withSafeDOM>[0]>[0]): void => {
    editor.update(
      () => {
        const root = $getRoot();
        root.clear();
        if (format === 'text') {
          $appendText(textParagraphs(content));
        } else if (format === 'markdown') {
          $convertFromMarkdownString(content, TRANSFORMERS);
        } else {
          if (window === undefined) throw new Error('HTML import needs a DOM');
          // happy-dom's Document stands in for the browser's (the two type declarations differ, not the objects)
          $appendAsBlocks(
            $generateNodesFromDOM(
              editor,
              parseSafeHtml(window, content) as unknown as Parameters<typeof $generateNodesFromDOM>[1],
            ),
          );
        }
        $dropUnsafeLinks(root);
      },
      { discrete: true },
    );
  };
  if (format === 'html') withSafeDOM(fill);
  else fill();
  const state = editor.getEditorState();
  const text = state.read(() => $getRoot().getTextContent());
  if (text.trim() === '') throw new ImportError(`the ${format} content holds no text`);
  return state.toJSON().root.children;
}

/**
 * Writes an article into the `root` of a fresh doc. Throws ImportError for an unknown format, empty content, or a
 * doc that already holds an article (importing twice would interleave two articles).
 */
export async function importArticle(doc: Y.Doc, format: ArticleFormat, content: string): Promise<void> {
  if (!ARTICLE_FORMATS.includes(format))
    throw new ImportError(`unknown format ${String(format)}; use text, markdown or html`);
  if (typeof content !== 'string' || content.trim() === '') throw new ImportError('the article is empty');
  if (rootText(doc).length > 0) throw new ImportError('the document already holds an article');
  const children = build(format, content);
  const bound = openArticleEditor(doc);
  try {
    await bound.update(() => {
      const root = $getRoot();
      root.clear();
      for (const child of children) root.append($parseSerializedNode(child));
    });
  } finally {
    bound.destroy();
  }
}
