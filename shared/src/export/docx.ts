/**
 * Word export with real comments (npm `docx` >= 9.15): every thread's passage is a comment range, its first comment
 * the comment and each further comment a reply (parentId), with authors and dates; a resolved thread is marked done.
 * Comment ids follow document order. Overlapping passages are ranges that overlap, which Word supports: the text is
 * written once. A document without comments gets no comments part at all.
 *
 * `docx` is loaded on first use, so that browser bundles of `shared` carry it only where a Word export is made.
 * Packing uses `toArrayBuffer`, which works without Node's Buffer.
 */
import type * as Docx from 'docx';
import type { ArticleBlock } from '../article.js';
import {
  FORMAT,
  blockPieces,
  isPlaced,
  placedThreads,
  stripControl,
  visibleComments,
  type AnnotatedArticle,
  type AnnotatedThread,
  type Piece,
} from './annotated.js';
import { isSafeLink } from './links.js';

type DocxModule = typeof Docx;
type Child = Docx.ParagraphChild;

export interface DocxOptions {
  /** The export's time (epoch ms): the document's "modified" property. */
  now: number;
}

/**
 * `docx` writes commentsExtended.xml (threading and the done flags) only when some comment has a parentId. A
 * parentId that names no comment switches that on for a thread's first comment without giving it a parent, so
 * every comment gets its done flag even in a document with no replies.
 */
const NO_PARENT = -1;

const HEADINGS = ['HEADING_1', 'HEADING_2', 'HEADING_3', 'HEADING_4', 'HEADING_5', 'HEADING_6'] as const;

interface CommentIds {
  /** Word comment ids of a thread: its first comment, then its replies. */
  byThread: Map<string, number[]>;
  comments: Docx.ICommentOptions[];
}

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

function commentParagraphs(d: DocxModule, body: string, lead?: string): Docx.Paragraph[] {
  const paragraphs = stripControl(body)
    .split(/\r?\n/)
    .map((line) => new d.Paragraph({ children: [new d.TextRun(line)] }));
  if (lead) paragraphs.unshift(new d.Paragraph({ children: [new d.TextRun({ text: lead, italics: true })] }));
  return paragraphs;
}

function buildComments(d: DocxModule, threads: readonly AnnotatedThread[]): CommentIds {
  const byThread = new Map<string, number[]>();
  const comments: Docx.ICommentOptions[] = [];
  for (const t of threads) {
    const visible = visibleComments(t);
    if (visible.length === 0) continue;
    const ids: number[] = [];
    const resolved = t.status === 'resolved';
    visible.forEach((c, i) => {
      const id = comments.length;
      const notes = [t.tags.length > 0 ? `Tags: ${t.tags.join(', ')}` : '', t.anchorState === 'moved' ? 'Passage moved since it was annotated' : '']
        .filter(Boolean)
        .join(' · ');
      const name = stripControl(c.authorName || c.authorId);
      comments.push({
        id,
        author: name,
        initials: initials(name),
        date: new Date(c.createdAt),
        parentId: i === 0 ? NO_PARENT : ids[0]!,
        resolved,
        children: commentParagraphs(d, c.body, i === 0 && notes ? notes : undefined),
      });
      ids.push(id);
    });
    byThread.set(t.id, ids);
  }
  return { byThread, comments };
}

function textRuns(d: DocxModule, text: string, format: number, style?: string): Docx.TextRun[] {
  return stripControl(text)
    .split('\n')
    .map(
      (line, i) =>
        new d.TextRun({
          text: line,
          ...(i > 0 ? { break: 1 } : {}),
          ...(format & FORMAT.bold ? { bold: true } : {}),
          ...(format & FORMAT.italic ? { italics: true } : {}),
          ...(format & FORMAT.strikethrough ? { strike: true } : {}),
          ...(format & FORMAT.underline ? { underline: {} } : {}),
          ...(format & FORMAT.code ? { font: 'Courier New' } : {}),
          ...(style ? { style } : {}),
        }),
    );
}

function pieceChildren(d: DocxModule, piece: Piece, ids: CommentIds): Child[] {
  const out: Child[] = [];
  for (const t of piece.opens) for (const id of ids.byThread.get(t.id) ?? []) out.push(new d.CommentRangeStart(id));
  if (piece.link !== undefined && isSafeLink(piece.link)) {
    out.push(new d.ExternalHyperlink({ link: piece.link.trim(), children: textRuns(d, piece.text, piece.format, 'Hyperlink') }));
  } else {
    out.push(...textRuns(d, piece.text, piece.format));
  }
  for (const t of piece.closes) {
    for (const id of ids.byThread.get(t.id) ?? []) {
      out.push(new d.CommentRangeEnd(id), new d.TextRun({ children: [new d.CommentReference(id)] }));
    }
  }
  return out;
}

function blockParagraph(d: DocxModule, block: ArticleBlock, children: Child[], listInstance: number): Docx.Paragraph {
  switch (block.type) {
    case 'heading': {
      const level = Math.min(6, Math.max(1, Number(block.tag?.slice(1) ?? 1)));
      return new d.Paragraph({ heading: d.HeadingLevel[HEADINGS[level - 1]!], children });
    }
    case 'quote':
      return new d.Paragraph({ style: 'MarginaliaQuote', children });
    case 'code':
      return new d.Paragraph({ style: 'MarginaliaCode', children });
    case 'listitem': {
      const level = Math.min(8, block.depth ?? 0);
      return block.listType === 'number'
        ? new d.Paragraph({ numbering: { reference: 'marginalia-numbered', level, instance: listInstance }, children })
        : new d.Paragraph({ bullet: { level }, children });
    }
    default:
      return new d.Paragraph({ children });
  }
}

function w3cdtf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function xmlText(s: string): string {
  return stripControl(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Core properties with the document's own dates (docx would stamp the wall clock, and no two exports would agree). */
function coreProperties(article: AnnotatedArticle, now: number): string {
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ' +
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ' +
    'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<dc:title>${xmlText(article.meta.title)}</dc:title>` +
    `<dc:creator>${xmlText(article.meta.author ?? 'Marginalia')}</dc:creator>` +
    '<cp:lastModifiedBy>Marginalia</cp:lastModifiedBy>' +
    `<dcterms:created xsi:type="dcterms:W3CDTF">${w3cdtf(article.meta.createdAt)}</dcterms:created>` +
    `<dcterms:modified xsi:type="dcterms:W3CDTF">${w3cdtf(now)}</dcterms:modified>` +
    '</cp:coreProperties>'
  );
}

/** The article with its threads as a .docx file. */
export async function exportDocx(article: AnnotatedArticle, options: DocxOptions): Promise<Uint8Array> {
  const d = await import('docx');
  const ids = buildComments(d, article.threads);
  const placed = placedThreads(article);
  const paragraphs: Docx.Paragraph[] = [];
  const first = article.blocks[0];
  const firstText = first?.runs.map((r) => r.text).join('').trim();
  if (!(first?.type === 'heading' && firstText === article.meta.title.trim())) {
    paragraphs.push(new d.Paragraph({ heading: d.HeadingLevel.TITLE, children: textRuns(d, article.meta.title, 0) }));
  }
  let listInstance = 0;
  let previous: ArticleBlock | undefined;
  for (const block of article.blocks) {
    const numbered = block.type === 'listitem' && block.listType === 'number';
    const continues = previous?.type === 'listitem' && (previous.listType === 'number' || (previous.depth ?? 0) > 0);
    if (numbered && !continues) listInstance++;
    const children = blockPieces(block, placed).flatMap((p) => pieceChildren(d, p, ids));
    paragraphs.push(blockParagraph(d, block, children, listInstance));
    previous = block;
  }
  const orphans = article.threads.filter((t) => !isPlaced(t) && ids.byThread.has(t.id));
  if (orphans.length > 0) {
    paragraphs.push(new d.Paragraph({ heading: d.HeadingLevel.HEADING_2, children: [new d.TextRun('Threads whose passage is no longer in the article')] }));
    for (const t of orphans) {
      const piece: Piece = { text: `“${t.passage.exact}”`, format: FORMAT.italic, threads: [t], opens: [t], closes: [t] };
      paragraphs.push(new d.Paragraph({ children: pieceChildren(d, piece, ids) }));
    }
  }
  const document = new d.Document({
    creator: article.meta.author ?? 'Marginalia',
    title: article.meta.title,
    ...(ids.comments.length > 0 ? { comments: { children: ids.comments } } : {}),
    styles: {
      default: { document: { paragraph: { spacing: { after: 120, line: 276 } }, run: { size: 22 } } },
      paragraphStyles: [
        { id: 'MarginaliaQuote', name: 'Quote', basedOn: 'Normal', run: { italics: true, color: '555555' }, paragraph: { indent: { left: 720 } } },
        { id: 'MarginaliaCode', name: 'Code', basedOn: 'Normal', run: { font: 'Courier New', size: 20 } },
      ],
    },
    numbering: {
      config: [
        {
          reference: 'marginalia-numbered',
          levels: Array.from({ length: 9 }, (_, level) => ({
            level,
            format: d.LevelFormat.DECIMAL,
            text: `%${level + 1}.`,
            alignment: d.AlignmentType.START,
            style: { paragraph: { indent: { left: 720 * (level + 1), hanging: 360 } } },
          })),
        },
      ],
    },
    sections: [{ children: paragraphs }],
  });
  const packed = await d.Packer.toArrayBuffer(document, false, [{ path: 'docProps/core.xml', data: coreProperties(article, options.now) }]);
  return new Uint8Array(packed);
}
