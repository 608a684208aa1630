/**
 * What an annotation import will write, whatever format it came in: threads with a target (quote and/or position),
 * tags, status and comments, each with the id it will have. Parsers (W3C, JSON dump) produce it; `applyImport`
 * places it into a document.
 */
import { ModelError } from '../errors.js';
import type { TagDefinition, ThreadStatus } from '../schema.js';

export interface PlannedComment {
  id: string;
  authorId: string;
  authorName: string;
  body: string;
  createdAt: number;
  editedAt: number | null;
  deleted: boolean;
}

export interface PlannedThread {
  /** The id it had where it came from (annotation id or thread id), for the report. */
  source?: string;
  id: string;
  quote: { exact: string; prefix?: string; suffix?: string } | null;
  position: { start: number; end: number } | null;
  tags: string[];
  status: ThreadStatus;
  resolvedBy: string | null;
  resolvedAt: number | null;
  comments: PlannedComment[];
}

/** A reply whose thread is not in the import; it is added if a thread with that id exists in the document. */
export interface PlannedReply {
  source?: string;
  threadId: string;
  comment: PlannedComment;
}

export interface Rejection {
  id?: string;
  reason: string;
}

export interface ImportPlan {
  threads: PlannedThread[];
  replies: PlannedReply[];
  rejected: Rejection[];
  /** Tag definitions the source carried (a dump's vocabulary), used for tags the document does not have yet. */
  vocabulary: Record<string, TagDefinition>;
}

/** The import's content is not something we can read (422 at the REST edge). */
export class ImportFormatError extends ModelError {
  override name = 'ImportFormatError';
  constructor(message: string) {
    super('invalid', message);
  }
}

/** Imported authors never pass for local users: their ids carry the `import:` prefix (once). */
export function importedAuthorId(id: string): string {
  return id.startsWith('import:') ? id : `import:${id}`;
}

export function parseTime(value: unknown, fallback: number): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') return fallback;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : fallback;
}

export const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

export const asArray = (x: unknown): unknown[] => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);

export const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
