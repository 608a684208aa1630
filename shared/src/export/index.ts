/**
 * Exports and imports of annotated text: one intermediate (`annotatedArticle`) and one module per format. Every
 * format is pure and runs the same on the server, in the CLI and in a browser.
 */
import type * as Y from 'yjs';
import type { ResolvedThread } from '../thread-read.js';
import { annotatedArticle, type AnnotatedArticle, type ExportFilter } from './annotated.js';
import { withMentionNames } from '../mentions.js';
import { exportCsv } from './csv.js';
import { exportDocx } from './docx.js';
import { exportHtml } from './html.js';
import { exportJson } from './json.js';
import { exportMarkdown } from './markdown.js';
import { exportW3c } from './w3c.js';
import { applyImport, type ImportOptions, type ImportResult } from './import.js';
import { planJsonImport } from './import-json.js';
import { planW3cImport } from './import-w3c.js';

export * from './annotated.js';
export { exportCsv, neutraliseFormula, CSV_COLUMNS } from './csv.js';
export { exportDocx, type DocxOptions } from './docx.js';
export { exportHtml, escapeHtml, type HtmlOptions } from './html.js';
export { exportJson, DUMP_FORMAT, DUMP_VERSION, type Dump, type DumpThread } from './json.js';
export { exportMarkdown } from './markdown.js';
export {
  exportW3c,
  w3cUrls,
  ANNO_CONTEXT,
  STATUS_OPEN,
  STATUS_RESOLVED,
  type W3cOptions,
  type W3cUrls,
} from './w3c.js';
export { applyImport, IMPORTED_TAG_COLOR, type ImportOptions, type ImportResult, type OrphanReport } from './import.js';
export { planW3cImport } from './import-w3c.js';
export { planJsonImport } from './import-json.js';
export {
  ImportFormatError,
  importedAuthorId,
  type ImportPlan,
  type PlannedThread,
  type PlannedComment,
} from './import-plan.js';
export { nameUuid, uuidIn, importedId } from './ids.js';

export const EXPORT_FORMATS = {
  md: { contentType: 'text/markdown; charset=utf-8', extension: 'md' },
  html: { contentType: 'text/html; charset=utf-8', extension: 'html' },
  w3c: { contentType: 'application/ld+json; charset=utf-8', extension: 'jsonld' },
  csv: { contentType: 'text/csv; charset=utf-8', extension: 'csv' },
  docx: { contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', extension: 'docx' },
  json: { contentType: 'application/json; charset=utf-8', extension: 'json' },
} as const;

export type ExportFormat = keyof typeof EXPORT_FORMATS;

export function isExportFormat(x: unknown): x is ExportFormat {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(EXPORT_FORMATS, x);
}

export const IMPORT_FORMATS = ['w3c', 'json'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ExportRequest extends ExportFilter {
  docId: string;
  /** The server's public origin, for the ids and the target source of W3C annotations. */
  baseUrl: string;
  /** The export's clock (epoch ms); now by default. */
  now?: number;
  /**
   * Names of the people comments mention (user id -> { username, name }): readable exports show their mentions as
   * `@Name`. The JSON dump keeps the text as written.
   */
  people?: ReadonlyMap<string, { username: string; name: string }>;
  /**
   * The document's threads already read and resolved in its article (by default they are read from the document):
   * a version is exported from its read copy, whose threads are plain records.
   */
  threads?: readonly ResolvedThread[];
}

/** Runs one export of a document: text for every format but docx, bytes for docx. */
export async function exportDocument(
  doc: Y.Doc,
  format: ExportFormat,
  request: ExportRequest,
): Promise<string | Uint8Array> {
  const written = annotatedArticle(doc, request, request.threads);
  const article = format === 'json' || !request.people ? written : withMentionsNamed(written, request.people);
  const now = request.now ?? Date.now();
  switch (format) {
    case 'md':
      return exportMarkdown(article);
    case 'html':
      return exportHtml(article, { now });
    case 'w3c':
      return exportW3c(article, { baseUrl: request.baseUrl, docId: request.docId, now });
    case 'csv':
      return exportCsv(article);
    case 'docx':
      return exportDocx(article, { now });
    case 'json':
      return exportJson(article, { docId: request.docId, now });
  }
}

/** The article with each comment's mentions of known people written as `@Name`. */
function withMentionsNamed(
  article: AnnotatedArticle,
  people: ReadonlyMap<string, { username: string; name: string }>,
): AnnotatedArticle {
  return {
    ...article,
    threads: article.threads.map((t) => ({
      ...t,
      comments: t.comments.map((c) => {
        if (c.mentions.length === 0) return c;
        const names = new Map(
          c.mentions.flatMap((id) => {
            const p = people.get(id);
            return p ? [[p.username, p.name] as const] : [];
          }),
        );
        return { ...c, body: withMentionNames(c.body, names) };
      }),
    })),
  };
}

/** Reads an annotation file and writes it into the document (call inside one transaction). */
export function importAnnotations(
  doc: Y.Doc,
  format: ImportFormat,
  input: unknown,
  options: ImportOptions,
): ImportResult {
  const now = options.now ?? Date.now();
  const plan = format === 'w3c' ? planW3cImport(input, now) : planJsonImport(input, now);
  return applyImport(doc, plan, { ...options, now });
}

/** A file name safe in a Content-Disposition header and on every file system: "<title>.<ext>". */
export function exportFilename(title: string, format: ExportFormat): string {
  const base = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9 ._-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+|[.\s]+$/g, '')
    .slice(0, 100)
    .trim();
  return `${base || 'marginalia-export'}.${EXPORT_FORMATS[format].extension}`;
}
