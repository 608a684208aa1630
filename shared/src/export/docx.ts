/**
 * Word export with real comments: every thread's passage is a comment range, its first comment the comment and
 * each further comment a reply (threaded by paraIdParent), with authors, initials and dates; every comment of a
 * resolved thread is marked done. Comment ids follow the export's thread order, so ranges open in document order.
 * Overlapping passages are ranges that overlap, which Word supports: the text is written once. Threads whose
 * passage is gone are listed at the end, each on its stored quote. A document without comments gets no comment
 * parts at all.
 *
 * The parts are written by docx-xml.ts (strings, no object tree) and zipped with fflate: isomorphic, and fast
 * enough for tens of thousands of comments. That module is loaded on first use, so that browser bundles of
 * `shared` carry it (and fflate) only where a Word export is made.
 */
import type { ArticleBlock } from '../article.js';
import {
  FORMAT,
  blockPieces,
  placedThreads,
  stripControl,
  visibleComments,
  type AnnotatedArticle,
  type AnnotatedThread,
  type Piece,
} from './annotated.js';
import type * as DocxXml from './docx-xml.js';
import { isSafeLink } from './links.js';

type Xml = typeof DocxXml;

export interface DocxOptions {
  /** The export's time (epoch ms): the document's "modified" property. */
  now: number;
}

const LINE = /\r\n|\r|\n/;

function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .filter((w) => /^\p{L}/u.test(w))
      .slice(0, 3)
      .map((w) => [...w][0]!.toUpperCase())
      .join('') || '?'
  );
}

interface Comments {
  /** Word comment ids of a thread: its first comment, then its replies. */
  byThread: Map<string, number[]>;
  list: DocxXml.WordComment[];
}

function buildComments(threads: readonly AnnotatedThread[]): Comments {
  const byThread = new Map<string, number[]>();
  const list: DocxXml.WordComment[] = [];
  const initialsOf = new Map<string, string>();
  for (const t of threads) {
    const visible = visibleComments(t);
    if (visible.length === 0) continue;
    const first = list.length;
    const ids: number[] = [];
    const notes = [
      t.tags.length > 0 ? `Tags: ${t.tags.join(', ')}` : '',
      t.anchorState === 'moved' ? 'Passage moved since it was annotated' : '',
    ]
      .filter(Boolean)
      .join(' · ');
    visible.forEach((c, i) => {
      const id = list.length;
      const name = stripControl(c.authorName || c.authorId);
      let short = initialsOf.get(name);
      if (short === undefined) initialsOf.set(name, (short = initials(name)));
      const paragraphs: DocxXml.WordComment['paragraphs'] = c.body.split(LINE).map((text) => ({ text }));
      if (i === 0 && notes) paragraphs.unshift({ text: notes, italic: true });
      list.push({
        id,
        author: name,
        initials: short,
        date: c.createdAt,
        paragraphs,
        ...(i === 0 ? {} : { parent: first }),
        done: t.status === 'resolved',
      });
      ids.push(id);
    });
    byThread.set(t.id, ids);
  }
  return { byThread, list };
}

/** Writes the body: paragraphs with comment ranges, links collected as relationships. */
class BodyWriter {
  readonly out: string[] = [];
  readonly links = new Map<string, string>();
  private readonly linkIds = new Map<string, string>();
  private readonly rPr = new Map<string, string>();
  /** Threads whose range has started; and those of them not yet ended. */
  readonly opened = new Set<string>();
  private readonly open = new Map<string, AnnotatedThread>();

  constructor(
    private readonly x: Xml,
    private readonly comments: Comments,
  ) {}

  private runProperties(format: number, style?: string): string {
    const key = `${format}|${style ?? ''}`;
    let p = this.rPr.get(key);
    if (p === undefined) {
      p = this.x.runProperties({
        bold: (format & FORMAT.bold) !== 0,
        italic: (format & FORMAT.italic) !== 0,
        strike: (format & FORMAT.strikethrough) !== 0,
        underline: (format & FORMAT.underline) !== 0,
        code: (format & FORMAT.code) !== 0,
        ...(style ? { style } : {}),
      });
      this.rPr.set(key, p);
    }
    return p;
  }

  private linkId(url: string): string {
    let id = this.linkIds.get(url);
    if (id === undefined) {
      id = `rIdLink${this.linkIds.size + 1}`;
      this.linkIds.set(url, id);
      this.links.set(id, url);
    }
    return id;
  }

  /**
   * Ends a thread's ranges: every end first, then every reference (interleaving them is reported to keep Word from
   * threading a comment with two or more replies).
   */
  private close(t: AnnotatedThread): string {
    const ids = this.comments.byThread.get(t.id)!;
    this.open.delete(t.id);
    let s = '';
    for (const id of ids) s += this.x.commentRangeEnd(id);
    for (const id of ids) s += this.x.commentReference(id);
    return s;
  }

  /**
   * A piece: the ranges of threads covering it that have not started yet (a passage starting at this piece, or in
   * the gap before the block), its text, then the ends of the passages ending with it.
   */
  piece(piece: Piece): string {
    let s = '';
    let starting: number[] | undefined;
    for (const t of piece.threads) {
      if (this.opened.has(t.id)) continue;
      const ids = this.comments.byThread.get(t.id);
      if (!ids) continue;
      this.opened.add(t.id);
      this.open.set(t.id, t);
      (starting ??= []).push(...ids);
    }
    if (starting) for (const id of starting.sort((a, b) => a - b)) s += this.x.commentRangeStart(id);
    if (piece.link !== undefined && isSafeLink(piece.link)) {
      s += `<w:hyperlink r:id="${this.linkId(piece.link.trim())}" w:history="1">${this.x.textRuns(piece.text, this.runProperties(piece.format, 'Hyperlink'))}</w:hyperlink>`;
    } else {
      s += this.x.textRuns(piece.text, this.runProperties(piece.format));
    }
    for (const t of piece.closes) if (this.open.has(t.id)) s += this.close(t);
    return s;
  }

  /** Ends, at the end of the current paragraph, every open range whose passage ends before `next` (in a gap). */
  closeBefore(next: number): string {
    let s = '';
    for (const t of [...this.open.values()]) if (t.end === null || t.end <= next) s += this.close(t);
    return s;
  }

  paragraph(style: DocxXml.ParagraphStyle, content: string): void {
    this.out.push(`<w:p>${this.x.paragraphProperties(style)}${content}</w:p>`);
  }
}

function blockStyle(block: ArticleBlock, listInstance: number, x: Xml): DocxXml.ParagraphStyle {
  switch (block.type) {
    case 'heading': {
      const level = Math.min(6, Math.max(1, Number(block.tag?.slice(1) ?? 1) || 1));
      return { style: `Heading${level}` };
    }
    case 'quote':
      return { style: 'MarginaliaQuote' };
    case 'code':
      return { style: 'MarginaliaCode' };
    case 'listitem': {
      const level = Math.min(8, Math.max(0, block.depth ?? 0));
      const numId = block.listType === 'number' ? x.numberedNumId(listInstance) : x.BULLET_NUM_ID;
      return { style: 'ListParagraph', list: { numId, level } };
    }
    default:
      return {};
  }
}

/** The article with its threads as a .docx file. */
export async function exportDocx(article: AnnotatedArticle, options: DocxOptions): Promise<Uint8Array> {
  const x = await import('./docx-xml.js');
  const comments = buildComments(article.threads);
  const placed = placedThreads(article);
  const body = new BodyWriter(x, comments);

  const first = article.blocks[0];
  const firstText = first?.runs
    .map((r) => r.text)
    .join('')
    .trim();
  if (!(first?.type === 'heading' && firstText === article.meta.title.trim())) {
    body.paragraph({ style: 'Title' }, x.textRuns(article.meta.title, ''));
  }
  let listInstance = 0;
  let previous: ArticleBlock | undefined;
  article.blocks.forEach((block, i) => {
    const numbered = block.type === 'listitem' && block.listType === 'number';
    const continues = previous?.type === 'listitem' && (previous.listType === 'number' || (previous.depth ?? 0) > 0);
    if (numbered && !continues) listInstance++;
    let content = '';
    for (const piece of blockPieces(block, placed)) content += body.piece(piece);
    content += body.closeBefore(article.blocks[i + 1]?.start ?? Infinity);
    body.paragraph(blockStyle(block, listInstance, x), content);
    previous = block;
  });

  // Orphans, and any thread whose passage had no character to hold its range (nothing was written for it above).
  const rest = article.threads.filter((t) => comments.byThread.has(t.id) && !body.opened.has(t.id));
  if (rest.length > 0) {
    body.paragraph({ style: 'Heading2' }, x.textRuns('Threads whose passage is no longer in the article', ''));
    for (const t of rest) {
      const piece: Piece = {
        text: `“${t.passage.exact}”`,
        format: FORMAT.italic,
        threads: [t],
        opens: [t],
        closes: [t],
      };
      body.paragraph({}, body.piece(piece));
    }
  }

  return x.packDocx({
    body: body.out.join(''),
    core: {
      title: article.meta.title,
      creator: article.meta.author ?? 'Marginalia',
      created: article.meta.createdAt,
      modified: options.now,
    },
    links: body.links,
    numberedLists: listInstance,
    comments: comments.list,
  });
}
