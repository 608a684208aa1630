/**
 * CSV export (RFC 4180): one row per comment, CRLF line ends, fields quoted when they hold a quote, comma or line
 * break, UTF-8 with a byte-order mark so that spreadsheet tools read accents and quotes correctly.
 *
 * Spreadsheets run a cell that starts with = + - @ (or a tab or CR, which some strip first) as a formula, which lets
 * a comment like `=cmd|' /C calc'!A0` run code on the reader's machine. Such cells get a leading apostrophe, as
 * OWASP recommends: the text stays readable and is never evaluated.
 */
import { isoTime, stripControl, visibleComments, type AnnotatedArticle } from './annotated.js';

export const CSV_COLUMNS = [
  'thread_id',
  'status',
  'tags',
  'quote',
  'start',
  'end',
  'comment_id',
  'author',
  'created',
  'edited',
  'body',
] as const;

const BOM = '\ufeff';

/** A cell that a spreadsheet would evaluate, made inert. */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function field(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = neutraliseFormula(stripControl(value.replace(/\r\n?/g, '\n')).replace(/\n/g, '\r\n'));
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

export function exportCsv(article: AnnotatedArticle): string {
  const rows: string[] = [CSV_COLUMNS.join(',')];
  for (const t of article.threads) {
    for (const c of visibleComments(t)) {
      rows.push(
        [
          t.id,
          t.status,
          t.tags.join('; '),
          t.passage.exact,
          t.start,
          t.end,
          c.id,
          c.authorName || c.authorId,
          isoTime(c.createdAt),
          c.editedAt === null ? null : isoTime(c.editedAt),
          c.body,
        ]
          .map(field)
          .join(','),
      );
    }
  }
  return BOM + rows.join('\r\n') + '\r\n';
}
