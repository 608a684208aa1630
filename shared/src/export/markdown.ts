/**
 * Markdown export: the article (headings, emphasis, lists, quotes, code, links) with every annotated passage as
 * `[passage][^n]` and a footnote per thread holding its status, tags and comments. Passages that overlap are drawn
 * as one bracket followed by all their footnote marks, so the text is never cut twice; each footnote quotes its
 * own passage exactly. All text — the article's and the comments' — is escaped, so none of it becomes markup.
 */
import type { ArticleBlock } from '../article.js';
import {
  FORMAT,
  blockPieces,
  formatTime,
  isPlaced,
  placedThreads,
  stripControl,
  visibleComments,
  type AnnotatedArticle,
  type AnnotatedThread,
  type PlacedThread,
  type Piece,
} from './annotated.js';
import { isSafeLink } from './links.js';

/** Backslash-escapes what would be markup anywhere in a line (CommonMark: any ASCII punctuation may be escaped). */
function escapeInline(s: string): string {
  return s.replace(/[\\`*_[\]<>~|]/g, '\\$&').replace(/&(?=#?[A-Za-z0-9]+;)/g, '\\&');
}

/** Escapes what would be markup at the start of a line: headings, quotes, list markers, setext underlines. */
function escapeLineStart(line: string): string {
  const m = /^( {0,3})([#>+=-]|\d{1,9}[.)])/.exec(line);
  if (m) {
    const marker = m[2]!;
    const at = m[1]!.length + marker.length - 1;
    return line.slice(0, at) + '\\' + line.slice(at);
  }
  return line.replace(/^ {4,}/, (spaces) => '&#32;' + spaces.slice(1));
}

function escapeText(s: string): string {
  return stripControl(s)
    .split('\n')
    .map((line) => escapeLineStart(escapeInline(line)))
    .join('\n');
}

function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** One run of equal formatting: markers hug the text (emphasis cannot start or end on whitespace). */
function renderRun(text: string, format: number, link: string | undefined): string {
  let out: string;
  if (format & FORMAT.code) {
    out = text.split('\n').map(codeSpan).join('\\\n');
  } else {
    const m = /^(\s*)([\s\S]*?)(\s*)$/.exec(text)!;
    let core = escapeInline(stripControl(m[2]!)).replace(/\n/g, '\\\n');
    if (core !== '') {
      if (format & FORMAT.strikethrough) core = `~~${core}~~`;
      if (format & FORMAT.italic) core = `*${core}*`;
      if (format & FORMAT.bold) core = `**${core}**`;
    }
    out = m[1]!.replace(/\n/g, '\\\n') + core + m[3]!.replace(/\n/g, '\\\n');
  }
  if (link !== undefined && isSafeLink(link) && text.trim() !== '') {
    out = `[${out}](<${link.replace(/[<>\s]/g, encodeURIComponent)}>)`;
  }
  return out;
}

/** Renders pieces, merging neighbours of equal format and link so emphasis markers never abut. */
function renderPieces(pieces: readonly Piece[]): string {
  let out = '';
  for (let i = 0; i < pieces.length;) {
    const { format, link } = pieces[i]!;
    let text = '';
    while (i < pieces.length && pieces[i]!.format === format && pieces[i]!.link === link) text += pieces[i++]!.text;
    out += renderRun(text, format, link);
  }
  return out;
}

const ref = (t: AnnotatedThread) => `[^${t.number}]`;

/**
 * A block's inline content. Pieces covered by passages that share a thread form one bracketed cluster; the marks
 * of the threads that end inside it follow the bracket (a passage running on into the next block is marked there).
 */
function renderInline(block: ArticleBlock, threads: readonly PlacedThread[]): string {
  const pieces = blockPieces(block, threads);
  let out = '';
  for (let i = 0; i < pieces.length;) {
    const piece = pieces[i]!;
    if (piece.threads.length === 0) {
      out += renderPieces([piece]);
      i++;
      continue;
    }
    const cluster: Piece[] = [piece];
    const ids = new Set(piece.threads.map((t) => t.id));
    i++;
    while (i < pieces.length && pieces[i]!.threads.some((t) => ids.has(t.id))) {
      for (const t of pieces[i]!.threads) ids.add(t.id);
      cluster.push(pieces[i++]!);
    }
    const closing = cluster.flatMap((p) => p.closes).sort((a, b) => a.number - b.number);
    out += `[${renderPieces(cluster)}]${closing.map(ref).join('')}`;
  }
  return out;
}

function prefixLines(text: string, first: string, rest: string): string {
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? first : rest) + escapeLineStart(line))
    .join('\n');
}

function renderBlock(block: ArticleBlock, threads: readonly PlacedThread[]): string {
  if (block.type === 'code') {
    const code = block.runs.map((r) => stripControl(r.text)).join('');
    const longest = Math.max(2, ...(code.match(/`+/g) ?? []).map((m) => m.length));
    const fence = '`'.repeat(longest + 1);
    const marks = threads.filter((t) => t.start < block.start + code.length && t.end > block.start).map(ref);
    const notes = marks.length > 0 ? `\n\n${marks.join('')}` : '';
    return `${fence}${(block.language ?? '').replace(/[`\s]/g, '')}\n${code}\n${fence}${notes}`;
  }
  const inline = renderInline(block, threads);
  switch (block.type) {
    case 'heading':
      // A trailing run of # would be read as the heading's closing sequence.
      return `${'#'.repeat(Number(block.tag?.slice(1) ?? 1))} ${inline.replace(/\\\n/g, ' ').replace(/#(?=\s*$)/, '\\#')}`;
    case 'quote':
      return prefixLines(inline, '> ', '> ');
    case 'listitem': {
      const marker = block.listType === 'number' ? `${block.value ?? 1}. ` : '- ';
      const indent = '    '.repeat(block.depth ?? 0);
      return prefixLines(inline, indent + marker, indent + ' '.repeat(marker.length));
    }
    default:
      return prefixLines(inline, '', '');
  }
}

function footnoteBody(t: AnnotatedThread): string {
  const status = t.status === 'resolved' ? 'resolved' : 'open';
  const tags = t.tags.length > 0 ? ` · tags: ${t.tags.map(escapeInline).join(', ')}` : '';
  const where =
    t.anchorState === 'orphan'
      ? ' · passage not found in the article'
      : t.anchorState === 'moved'
        ? ' · passage moved'
        : '';
  const quote = escapeInline(stripControl(t.passage.exact)).replace(/\s*\n\s*/g, ' ');
  const lines = [`“${quote}” — **${status}**${tags}${where}`];
  for (const c of visibleComments(t)) {
    const edited = c.editedAt !== null ? `, edited ${formatTime(c.editedAt)}` : '';
    const author = escapeInline(stripControl(c.authorName || c.authorId));
    const body = escapeText(c.body.trim())
      .split(/\n{2,}/)
      .map((para) => para.replace(/\n/g, '\\\n'))
      .join('\n\n');
    lines.push(`**${author}** (${formatTime(c.createdAt)}${edited}):\\\n${body}`);
  }
  // Every line after the first is indented, so the whole thread stays inside its footnote.
  return lines.join('\n\n').replace(/\n(?!\n)/g, '\n    ');
}

export function exportMarkdown(article: AnnotatedArticle): string {
  const placed = placedThreads(article);
  const parts: string[] = [];
  const blocks = [...article.blocks];
  const first = blocks[0];
  const firstText = first?.runs
    .map((r) => r.text)
    .join('')
    .trim();
  // The title heads the page: the article's own first heading when it is the title, else one of ours.
  if (first?.type === 'heading' && firstText === article.meta.title.trim())
    parts.push(renderBlock(blocks.shift()!, placed));
  else parts.push(`# ${escapeText(article.meta.title)}`);
  const byline = [article.meta.author, article.meta.source, article.meta.publishedAt].filter((x): x is string => !!x);
  if (byline.length > 0) parts.push(`*${byline.map((x) => escapeInline(stripControl(x))).join(' · ')}*`);
  // Items of one list are written on consecutive lines (a blank line between them would make a loose list).
  let previous: ArticleBlock | undefined;
  for (const block of blocks) {
    const rendered = renderBlock(block, placed);
    const sameList =
      previous?.type === 'listitem' &&
      block.type === 'listitem' &&
      (block.listType === previous.listType || (block.depth ?? 0) > 0);
    if (sameList) parts[parts.length - 1] += `\n${rendered}`;
    else parts.push(rendered);
    previous = block;
  }
  const orphans = article.threads.filter((t) => !isPlaced(t));
  if (orphans.length > 0) {
    parts.push('---', '**Threads whose passage is no longer in the article**');
    parts.push(
      orphans
        .map((t) => `- “${escapeInline(stripControl(t.passage.exact)).replace(/\s*\n\s*/g, ' ')}”${ref(t)}`)
        .join('\n'),
    );
  }
  const notes = article.threads.map((t) => `${ref(t)}: ${footnoteBody(t)}`);
  if (notes.length > 0) parts.push(notes.join('\n\n'));
  return parts.join('\n\n') + '\n';
}
