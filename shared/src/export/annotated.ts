/**
 * The one intermediate every export format is written from: the article's blocks with their inline formatting,
 * and the threads (filtered) with where each one's passage is now. Formats never read the Y.Doc themselves.
 */
import type * as Y from 'yjs';
import { articleBlocks, articleIndex, type ArticleBlock } from '../article.js';
import { quoteAt, type AnchorState } from '../anchor.js';
import { readMeta } from '../meta.js';
import { readResolvedThreads, type ResolvedThread } from '../thread-read.js';
import { readVocabulary } from '../vocabulary.js';
import type { Comment, Meta, TagDefinition, TextQuote, Thread } from '../schema.js';

export type StatusFilter = 'open' | 'resolved' | 'all';

/** Which threads an export holds. A thread passes when it passes every filter that is given. */
export interface ExportFilter {
  /** Default 'all'. */
  status?: StatusFilter;
  /** Threads carrying at least one of these tags (none given: any). */
  tags?: readonly string[];
  /** Threads with a comment by one of these authors, matched by author id or by name, case-insensitively. */
  authors?: readonly string[];
}

export interface AnnotatedThread extends Thread {
  /** 1-based, in export order: placed threads in document order, then orphans. Footnote and comment numbers. */
  number: number;
  anchorState: AnchorState;
  /** Where the passage is now in `text` (null for an orphan). */
  start: number | null;
  end: number | null;
  /** The passage as the text has it now, with context (for an orphan: the stored quote). */
  passage: TextQuote;
}

export interface AnnotatedArticle {
  meta: Meta;
  text: string;
  blocks: ArticleBlock[];
  vocabulary: Record<string, TagDefinition>;
  threads: AnnotatedThread[];
  filter: { status: StatusFilter; tags: string[]; authors: string[] };
}

function normalise(filter: ExportFilter): AnnotatedArticle['filter'] {
  const list = (xs: readonly string[] | undefined) => [
    ...new Set((xs ?? []).map((x) => x.trim()).filter((x) => x !== '')),
  ];
  return { status: filter.status ?? 'all', tags: list(filter.tags), authors: list(filter.authors) };
}

function passes(thread: Thread, f: AnnotatedArticle['filter']): boolean {
  if (f.status !== 'all' && thread.status !== f.status) return false;
  if (f.tags.length > 0 && !thread.tags.some((t) => f.tags.includes(t))) return false;
  if (f.authors.length > 0) {
    const wanted = f.authors.map((a) => a.toLowerCase());
    const by = (c: Comment) =>
      !c.deleted && (wanted.includes(c.authorId.toLowerCase()) || wanted.includes(c.authorName.toLowerCase()));
    if (!thread.comments.some(by)) return false;
  }
  return true;
}

/**
 * Reads everything an export needs from the document, in one pass over the article. `resolved`: the threads,
 * already read and resolved in this document's article (a version's read copy holds the article, meta and
 * vocabulary but keeps its threads as records); by default they are read from the document.
 */
export function annotatedArticle(
  doc: Y.Doc,
  filter: ExportFilter = {},
  resolved?: readonly ResolvedThread[],
): AnnotatedArticle {
  const index = articleIndex(doc);
  const { text } = index;
  const f = normalise(filter);
  const meta = readMeta(doc) ?? { title: 'Untitled', createdAt: 0, schemaVersion: 0 };
  const threads = (resolved ?? readResolvedThreads(doc, index))
    .filter((t) => passes(t, f))
    .map((t, i): AnnotatedThread => {
      const placed = t.start !== null && t.end !== null;
      return { ...t, number: i + 1, passage: placed ? quoteAt(text, t.start!, t.end!) : t.quote };
    });
  return { meta, text, blocks: articleBlocks(doc), vocabulary: readVocabulary(doc), threads, filter: f };
}

/** The comments an export shows: deleted ones are left out (the JSON dump keeps them). */
export function visibleComments(thread: Thread): Comment[] {
  return thread.comments.filter((c) => !c.deleted);
}

export type PlacedThread = AnnotatedThread & { start: number; end: number };

export function isPlaced(t: AnnotatedThread): t is PlacedThread {
  return t.start !== null && t.end !== null;
}

/** "2024-05-01 09:30 UTC": timezone-free, so an export reads the same wherever it is made. */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A tag's colour if it is a plain hex colour (vocabulary entries are user input), else a neutral one. */
export function tagColor(vocabulary: Record<string, TagDefinition>, tag: string | undefined): string {
  const color = tag === undefined ? undefined : vocabulary[tag]?.color;
  return color !== undefined && /^#[0-9a-fA-F]{6}$/.test(color) ? color.toLowerCase() : '#f2c94c';
}

/** Characters XML 1.0 cannot hold at all (and that mean nothing in an article or a comment). */
// eslint-disable-next-line no-control-regex -- that is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
export function stripControl(s: string): string {
  return s.replace(CONTROL, '');
}

/** A piece of a block: text of one format/link, and the threads covering it. */
export interface Piece {
  text: string;
  format: number;
  link?: string;
  /** Threads covering this piece, in export order. */
  threads: AnnotatedThread[];
  /** Threads that start at this piece's first character. */
  opens: AnnotatedThread[];
  /** Threads whose passage ends at this piece's last character. */
  closes: AnnotatedThread[];
}

/**
 * Cuts a block into pieces at every run edge and every passage edge inside it, so each format can wrap what a
 * passage covers without ever cutting a character twice. `threads` must be the placed threads, sorted by start.
 */
export function blockPieces(block: ArticleBlock, threads: readonly AnnotatedThread[]): Piece[] {
  const blockEnd = block.start + block.runs.reduce((n, r) => n + r.text.length, 0);
  const inBlock = threads.filter((t) => t.start! < blockEnd && t.end! > block.start);
  const cuts = new Set<number>([block.start, blockEnd]);
  let at = block.start;
  for (const run of block.runs) {
    cuts.add(at);
    at += run.text.length;
  }
  for (const t of inBlock) {
    if (t.start! > block.start) cuts.add(t.start!);
    if (t.end! < blockEnd) cuts.add(t.end!);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const pieces: Piece[] = [];
  let runIndex = 0;
  let runStart = block.start;
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i]!;
    const to = points[i + 1]!;
    while (runIndex < block.runs.length && runStart + block.runs[runIndex]!.text.length <= from) {
      runStart += block.runs[runIndex]!.text.length;
      runIndex++;
    }
    const run = block.runs[runIndex];
    if (!run) break;
    const covering = inBlock.filter((t) => t.start! < to && t.end! > from);
    pieces.push({
      text: run.text.slice(from - runStart, to - runStart),
      format: run.format,
      ...(run.link !== undefined ? { link: run.link } : {}),
      threads: covering,
      opens: covering.filter((t) => t.start! >= from),
      closes: covering.filter((t) => t.end! <= to),
    });
  }
  return pieces;
}

/** Placed threads sorted by start (then end), the order blockPieces wants. */
export function placedThreads(article: AnnotatedArticle): PlacedThread[] {
  return article.threads.filter(isPlaced).sort((a, b) => a.start - b.start || a.end - b.end || a.number - b.number);
}

export const FORMAT = {
  bold: 1,
  italic: 2,
  strikethrough: 4,
  underline: 8,
  code: 16,
  subscript: 32,
  superscript: 64,
  highlight: 128,
} as const;
