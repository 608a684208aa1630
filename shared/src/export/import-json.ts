/**
 * Reading a Marginalia dump (export format json) back: every thread with its status, tags and comments (deleted ones
 * stay deleted), ids kept. Where the dump's article held the passage, that text (with context from the dump) is the
 * quote to find, and its offsets the hint; an orphan in the dump is looked for by its stored quote.
 */
import { isUuid } from '../ids.js';
import { quoteAt } from '../anchor.js';
import { DUMP_FORMAT, DUMP_VERSION } from './json.js';
import {
  ImportFormatError,
  importedAuthorId,
  isObject,
  parseTime,
  str,
  type ImportPlan,
  type PlannedComment,
  type PlannedThread,
} from './import-plan.js';
import type { TagDefinition } from '../schema.js';

function comment(raw: unknown, now: number): PlannedComment | null {
  if (!isObject(raw) || !isUuid(raw.id) || typeof raw.authorId !== 'string' || raw.authorId === '') return null;
  const deleted = raw.deleted === true;
  const body = str(raw.body) ?? '';
  if (!deleted && body.trim() === '') return null;
  const createdAt = parseTime(raw.createdAt, now);
  return {
    id: raw.id,
    authorId: importedAuthorId(raw.authorId),
    authorName: str(raw.authorName) ?? '',
    body: deleted ? '' : body,
    createdAt,
    editedAt: raw.editedAt === null || raw.editedAt === undefined ? null : parseTime(raw.editedAt, createdAt),
    deleted,
  };
}

function vocabularyOf(raw: unknown): Record<string, TagDefinition> {
  const out: Record<string, TagDefinition> = {};
  if (!isObject(raw)) return out;
  for (const [name, def] of Object.entries(raw)) {
    if (isObject(def) && typeof def.color === 'string') {
      out[name] =
        typeof def.description === 'string' ? { color: def.color, description: def.description } : { color: def.color };
    }
  }
  return out;
}

export function planJsonImport(input: unknown, now: number): ImportPlan {
  if (!isObject(input) || input.format !== DUMP_FORMAT)
    throw new ImportFormatError(`expected a Marginalia dump ({ "format": "${DUMP_FORMAT}", … })`);
  if (input.version !== DUMP_VERSION)
    throw new ImportFormatError(
      `this server reads dump version ${DUMP_VERSION}; the file is version ${String(input.version)}`,
    );
  if (!Array.isArray(input.threads)) throw new ImportFormatError('the dump has no "threads" array');
  const document = isObject(input.document) ? input.document : {};
  const article = isObject(input.article) ? input.article : {};
  const text = typeof article.text === 'string' ? article.text : null;
  const plan: ImportPlan = { threads: [], replies: [], rejected: [], vocabulary: vocabularyOf(document.vocabulary) };
  for (const raw of input.threads) {
    if (!isObject(raw) || !isUuid(raw.id)) {
      plan.rejected.push({
        ...(isObject(raw) && typeof raw.id === 'string' ? { id: raw.id } : {}),
        reason: 'a thread needs a UUID id',
      });
      continue;
    }
    const stored =
      isObject(raw.quote) && typeof raw.quote.exact === 'string' && raw.quote.exact !== '' ? raw.quote : null;
    const start = raw.start;
    const end = raw.end;
    const placed =
      text !== null &&
      Number.isInteger(start) &&
      Number.isInteger(end) &&
      (start as number) < (end as number) &&
      (end as number) <= text.length;
    const quote = placed
      ? quoteAt(text, start as number, end as number)
      : stored
        ? { exact: stored.exact as string, prefix: str(stored.prefix) ?? '', suffix: str(stored.suffix) ?? '' }
        : null;
    if (!quote) {
      plan.rejected.push({ id: raw.id, reason: "the thread has neither a quote nor a passage in the dump's article" });
      continue;
    }
    const comments = (Array.isArray(raw.comments) ? raw.comments : [])
      .map((c) => comment(c, now))
      .filter((c): c is PlannedComment => c !== null);
    const tags = (Array.isArray(raw.tags) ? raw.tags : [])
      .filter((t): t is string => typeof t === 'string' && t.trim() !== '')
      .map((t) => t.trim());
    const resolved = raw.status === 'resolved';
    const thread: PlannedThread = {
      source: raw.id,
      id: raw.id,
      quote,
      position: placed ? { start: start as number, end: end as number } : null,
      tags: [...new Set(tags)],
      status: resolved ? 'resolved' : 'open',
      resolvedBy: resolved && typeof raw.resolvedBy === 'string' ? importedAuthorId(raw.resolvedBy) : null,
      resolvedAt: resolved ? parseTime(raw.resolvedAt, now) : null,
      comments,
    };
    plan.threads.push(thread);
  }
  return plan;
}
