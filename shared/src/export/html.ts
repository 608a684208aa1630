/**
 * HTML export: one self-contained page (inline CSS, no scripts, a Content-Security-Policy that allows none) with the
 * article, its passages highlighted in their first tag's colour, and each thread beside the block its passage starts
 * in (under it on narrow screens and on paper). Overlapping passages are drawn per piece of text, so the text is never
 * repeated or cut. Every piece of user text is escaped; colours are used only when they are plain hex colours.
 */
import type { ArticleBlock } from '../article.js';
import {
  FORMAT,
  blockPieces,
  formatTime,
  isPlaced,
  isoTime,
  placedThreads,
  stripControl,
  tagColor,
  visibleComments,
  type AnnotatedArticle,
  type AnnotatedThread,
  type PlacedThread,
  type Piece,
} from './annotated.js';
import { HTML_STYLE } from './html-style.js';
import { isSafeLink } from './links.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return stripControl(s).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function rgba(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function threadColor(article: AnnotatedArticle, t: AnnotatedThread): string {
  return tagColor(article.vocabulary, t.tags[0]);
}

function formatted(text: string, format: number, link: string | undefined): string {
  let html = escapeHtml(text).replace(/\n/g, '<br>');
  if (format & FORMAT.code) html = `<code>${html}</code>`;
  if (format & FORMAT.strikethrough) html = `<s>${html}</s>`;
  if (format & FORMAT.underline) html = `<u>${html}</u>`;
  if (format & FORMAT.italic) html = `<em>${html}</em>`;
  if (format & FORMAT.bold) html = `<strong>${html}</strong>`;
  if (link !== undefined && isSafeLink(link))
    html = `<a href="${escapeHtml(link.trim())}" rel="noopener noreferrer">${html}</a>`;
  return html;
}

function refMark(t: AnnotatedThread): string {
  return `<sup class="ref"><a id="ref-${t.number}" href="#thread-${t.number}">${t.number}</a></sup>`;
}

/** A piece of text; covered by passages it is a <mark> in the colour of the innermost (latest-starting) thread. */
function renderPiece(article: AnnotatedArticle, piece: Piece): string {
  let html = formatted(piece.text, piece.format, piece.link);
  if (piece.threads.length > 0) {
    const top = piece.threads.reduce((a, b) =>
      b.start! > a.start! || (b.start === a.start && b.end! < a.end!) ? b : a,
    );
    const color = threadColor(article, top);
    const allResolved = piece.threads.every((t) => t.status === 'resolved');
    const classes = ['hl', piece.threads.length > 1 ? 'overlap' : '', allResolved ? 'resolved' : '']
      .filter(Boolean)
      .join(' ');
    const title = `Thread${piece.threads.length > 1 ? 's' : ''} ${piece.threads.map((t) => t.number).join(', ')}`;
    const style = `--hl: ${rgba(color, piece.threads.length > 1 ? 0.5 : 0.32)}; --hl-line: ${color}`;
    html = `<mark class="${classes}" style="${style}" title="${title}">${html}</mark>`;
  }
  return html + piece.closes.map(refMark).join('');
}

function renderBlock(article: AnnotatedArticle, block: ArticleBlock, threads: readonly PlacedThread[]): string {
  const inner = blockPieces(block, threads)
    .map((p) => renderPiece(article, p))
    .join('');
  switch (block.type) {
    case 'heading':
      return `<${block.tag ?? 'h2'}>${inner}</${block.tag ?? 'h2'}>`;
    case 'quote':
      return `<blockquote>${inner}</blockquote>`;
    case 'code':
      return `<pre><code>${inner}</code></pre>`;
    case 'listitem': {
      const marker = block.listType === 'number' ? `${block.value ?? 1}.` : '•';
      return `<p class="li" style="--depth: ${block.depth ?? 0}"><span class="marker">${marker}</span><span>${inner}</span></p>`;
    }
    default:
      return `<p>${inner || '<br>'}</p>`;
  }
}

function renderTag(article: AnnotatedArticle, tag: string): string {
  const color = tagColor(article.vocabulary, tag);
  const description = article.vocabulary[tag]?.description;
  const title = description ? ` title="${escapeHtml(description)}"` : '';
  return `<span class="tag" style="--tag: ${color}; --tag-bg: ${rgba(color, 0.16)}"${title}>${escapeHtml(tag)}</span>`;
}

function renderThread(article: AnnotatedArticle, t: AnnotatedThread): string {
  const color = threadColor(article, t);
  const state =
    t.anchorState === 'moved'
      ? '<span class="state">passage moved</span>'
      : t.anchorState === 'orphan'
        ? '<span class="state">passage not found</span>'
        : '';
  const num = isPlaced(t)
    ? `<a class="num" href="#ref-${t.number}">${t.number}</a>`
    : `<span class="num">${t.number}</span>`;
  const comments = visibleComments(t)
    .map((c) => {
      const edited = c.editedAt !== null ? ` · edited ${formatTime(c.editedAt)}` : '';
      return (
        `<div class="comment"><div><span class="who">${escapeHtml(c.authorName || c.authorId)}</span>` +
        `<time datetime="${isoTime(c.createdAt)}">${formatTime(c.createdAt)}${edited}</time></div>` +
        `<div class="body">${escapeHtml(c.body)}</div></div>`
      );
    })
    .join('');
  return (
    `<article class="thread ${t.status}" id="thread-${t.number}" style="--tag: ${color}">` +
    `<div class="thread-head">${num}<span class="status ${t.status}">${t.status}</span>${t.tags.map((tag) => renderTag(article, tag)).join('')}${state}</div>` +
    `<blockquote class="passage">${escapeHtml(t.passage.exact)}</blockquote>${comments}</article>`
  );
}

function header(article: AnnotatedArticle, now: number, withTitle: boolean): string {
  const { meta } = article;
  const byline = [meta.author, meta.source, meta.publishedAt]
    .filter((x): x is string => !!x)
    .map(escapeHtml)
    .join(' · ');
  const count = article.threads.length;
  const comments = article.threads.reduce((n, t) => n + visibleComments(t).length, 0);
  const used = [...new Set(article.threads.flatMap((t) => t.tags))].sort();
  return (
    `<header class="doc-header">${withTitle ? `<h1>${escapeHtml(meta.title)}</h1>` : ''}` +
    (byline ? `<p class="byline">${byline}</p>` : '') +
    `<p class="summary">${count} thread${count === 1 ? '' : 's'}, ${comments} comment${comments === 1 ? '' : 's'} · exported from Marginalia ${formatTime(now)}</p>` +
    (used.length > 0 ? `<div class="legend">${used.map((tag) => renderTag(article, tag)).join('')}</div>` : '') +
    `</header>`
  );
}

export interface HtmlOptions {
  /** The export's time (epoch ms), shown in the header. */
  now: number;
}

export function exportHtml(article: AnnotatedArticle, options: HtmlOptions): string {
  const placed = placedThreads(article);
  // Each thread sits beside the block holding its passage's first character.
  const startsIn = new Map<ArticleBlock, AnnotatedThread[]>();
  let b = 0;
  for (const t of placed) {
    while (b + 1 < article.blocks.length && article.blocks[b + 1]!.start <= t.start) b++;
    const block = article.blocks[b];
    if (!block) continue;
    const list = startsIn.get(block);
    if (list) list.push(t);
    else startsIn.set(block, [t]);
  }
  // A row is a block with the threads that start in it; the items of one list share a row, so the list stays
  // together.
  const groups: ArticleBlock[][] = [];
  for (const block of article.blocks) {
    const last = groups[groups.length - 1];
    if (last && block.type === 'listitem' && last[last.length - 1]!.type === 'listitem') last.push(block);
    else groups.push([block]);
  }
  const rows = groups.map((group) => {
    const text = group.map((block) => renderBlock(article, block, placed)).join('');
    const aside = group
      .flatMap((block) => startsIn.get(block) ?? [])
      .map((t) => renderThread(article, t))
      .join('');
    // The cards come first: on wide screens they float into the margin from the top of their row, and a tall
    // one runs on beside the next rows instead of opening a gap under its paragraph.
    return `<section class="row">${aside ? `<aside class="threads">${aside}</aside>` : ''}<div class="text">${text}</div></section>`;
  });
  // The header carries the title unless the article opens with it (then the byline follows that heading's row).
  const first = article.blocks[0];
  const opensWithTitle =
    first?.type === 'heading' &&
    first.runs
      .map((r) => r.text)
      .join('')
      .trim() === article.meta.title.trim();
  rows.splice(opensWithTitle ? 1 : 0, 0, header(article, options.now, !opensWithTitle));
  const orphans = article.threads.filter((t) => !isPlaced(t));
  const orphanSection =
    orphans.length > 0
      ? `<section class="orphans"><h2>Threads whose passage is no longer in the article</h2><div class="threads">${orphans.map((t) => renderThread(article, t)).join('')}</div></section>`
      : '';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">`,
    '<meta name="generator" content="Marginalia">',
    `<title>${escapeHtml(article.meta.title)}</title>`,
    `<style>${HTML_STYLE}</style>`,
    '</head>',
    '<body>',
    '<div class="page"><main>',
    ...rows,
    orphanSection,
    '</main></div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
