/**
 * Marginalia's own dump: everything a document holds, as plain JSON — the backup format, and importable
 * (POST …/import?format=json re-finds each thread's passage in the target article by its quote and position).
 * Unlike the other formats it ignores no comment: deleted ones are kept, marked deleted.
 */
import { isoTime, type AnnotatedArticle } from './annotated.js';
import type { ArticleBlock } from '../article.js';
import type { AnchorState } from '../anchor.js';
import type { Meta, TagDefinition, Thread } from '../schema.js';

export const DUMP_FORMAT = 'marginalia-dump';
export const DUMP_VERSION = 1;

export interface DumpThread extends Thread {
  anchorState: AnchorState;
  start: number | null;
  end: number | null;
}

export interface Dump {
  format: typeof DUMP_FORMAT;
  version: typeof DUMP_VERSION;
  exportedAt: string;
  document: { id: string; meta: Meta; vocabulary: Record<string, TagDefinition> };
  article: { text: string; blocks: ArticleBlock[] };
  threads: DumpThread[];
}

export function exportJson(article: AnnotatedArticle, options: { docId: string; now: number }): string {
  const dump: Dump = {
    format: DUMP_FORMAT,
    version: DUMP_VERSION,
    exportedAt: isoTime(options.now),
    document: { id: options.docId, meta: article.meta, vocabulary: article.vocabulary },
    article: { text: article.text, blocks: article.blocks },
    threads: article.threads.map(({ number: _number, passage: _passage, ...t }) => t),
  };
  return JSON.stringify(dump, null, 2) + '\n';
}
