/**
 * The article as static HTML, in the editor's own class names: what the server puts in a document's page so that the
 * text is on screen at first paint, before the app's script has run or the document has synced. The web client's
 * editor theme (client/src/editor/theme.ts) takes its class names from `ARTICLE_CLASSES`, so the preview and the
 * editor look the same and the one replaces the other without a jump. Every piece of text is escaped; links are
 * kept only when they are safe.
 */
import type { ArticleBlock, TextRun } from './article.js';
import { FORMAT } from './export/annotated.js';
import { escapeHtml } from './export/html.js';
import { isSafeLink } from './export/links.js';

/** The class of each article node in the editor and the preview; the look is in the client's article.css. */
export const ARTICLE_CLASSES = {
  paragraph: 'a-p',
  quote: 'a-quote',
  heading: { h1: 'a-h1', h2: 'a-h2', h3: 'a-h3', h4: 'a-h4', h5: 'a-h5', h6: 'a-h6' },
  list: { ul: 'a-ul', ol: 'a-ol', listitem: 'a-li', nested: { listitem: 'a-li-nested' } },
  link: 'a-link',
  code: 'a-code',
  text: {
    bold: 'a-bold',
    italic: 'a-italic',
    underline: 'a-underline',
    strikethrough: 'a-strike',
    underlineStrikethrough: 'a-underline a-strike',
    code: 'a-inline-code',
    subscript: 'a-sub',
    superscript: 'a-sup',
    highlight: 'a-mark',
  },
} as const;

const T = ARTICLE_CLASSES.text;
/** Lexical's format bits, each with its class, in the order the classes are listed. */
const FORMAT_CLASSES: [number, string][] = [
  [FORMAT.bold, T.bold],
  [FORMAT.italic, T.italic],
  [FORMAT.underline, T.underline],
  [FORMAT.strikethrough, T.strikethrough],
  [FORMAT.code, T.code],
  [FORMAT.subscript, T.subscript],
  [FORMAT.superscript, T.superscript],
  [FORMAT.highlight, T.highlight],
];

function runHtml(run: TextRun): string {
  const classes = FORMAT_CLASSES.filter(([bit]) => run.format & bit).map(([, c]) => c);
  let html = escapeHtml(run.text).replace(/\n/g, '<br>');
  if (classes.length) html = `<span class="${classes.join(' ')}">${html}</span>`;
  if (run.link !== undefined && isSafeLink(run.link))
    html = `<a class="${ARTICLE_CLASSES.link}" href="${escapeHtml(run.link.trim())}" rel="noopener noreferrer">${html}</a>`;
  return html;
}

function blockHtml(block: ArticleBlock): string {
  const inner = block.runs.map(runHtml).join('') || '<br>';
  switch (block.type) {
    case 'heading': {
      const tag = block.tag ?? 'h2';
      return `<${tag} class="${ARTICLE_CLASSES.heading[tag]}">${inner}</${tag}>`;
    }
    case 'quote':
      return `<blockquote class="${ARTICLE_CLASSES.quote}">${inner}</blockquote>`;
    case 'code':
      return `<pre class="${ARTICLE_CLASSES.code}">${inner}</pre>`;
    case 'listitem': {
      const depth = block.depth ?? 0;
      const style = depth > 0 ? ` style="margin-left: ${1.5 * depth}em"` : '';
      const value = block.listType === 'number' && block.value !== undefined ? ` value="${block.value}"` : '';
      return `<li class="${ARTICLE_CLASSES.list.listitem}"${value}${style}>${inner}</li>`;
    }
    default:
      return `<p class="${ARTICLE_CLASSES.paragraph}">${inner}</p>`;
  }
}

/** The blocks as HTML; consecutive list items of one kind share a list. */
export function articlePreviewHtml(blocks: readonly ArticleBlock[]): string {
  let html = '';
  let open: 'ul' | 'ol' | null = null;
  for (const block of blocks) {
    const list = block.type === 'listitem' ? (block.listType === 'number' ? 'ol' : 'ul') : null;
    if (open && list !== open) {
      html += `</${open}>`;
      open = null;
    }
    if (list && !open) {
      html += `<${list} class="${ARTICLE_CLASSES.list[list]}">`;
      open = list;
    }
    html += blockHtml(block);
  }
  return open ? `${html}</${open}>` : html;
}
