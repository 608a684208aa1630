/**
 * Placing imported threads into a document: each passage is found again by its quote (prefix/suffix to tell
 * occurrences apart, the position as a hint), approximately if the text has changed (the same rules as a moved
 * anchor). A passage that cannot be found is stored anyway, as an orphan thread — the discussion is kept and
 * listed apart, never drawn on the wrong words — and reported with the reason. A thread whose id the document
 * already has is not created again (its new comments are added), so importing the same file twice changes nothing.
 */
import * as Y from 'yjs';
import { articleIndex, encodeRelative, type ArticleIndex } from '../article.js';
import { anchorFromOffsets, findQuote, placeQuoteNear } from '../anchor.js';
import { AnchorError } from '../errors.js';
import { threadsMap, type AnchorPositions, type TextQuote } from '../schema.js';
import { addComment, createThread, deleteComment, editComment, readThread, setThreadStatus } from '../threads.js';
import { readVocabulary, setTag } from '../vocabulary.js';
import { TEXT_LIMITS } from '../rules.js';
import type { ImportPlan, PlannedComment, PlannedThread, Rejection } from './import-plan.js';

export interface ImportOptions {
  /** Who is importing (resolvedBy of threads the source marks resolved without saying by whom). */
  importerId: string;
  /** May tags missing from the vocabulary be added to it (editors and owners)? Otherwise they are dropped. */
  mayDefineTags: boolean;
  now?: number;
}

export interface OrphanReport {
  id?: string;
  exact: string;
  reason: string;
}

export interface ImportResult {
  /** Threads created (including those stored as orphans). */
  imported: number;
  /** Of those, the ones whose passage was not found, with why. */
  orphaned: OrphanReport[];
  /** Threads already in the document (same id): not created again. */
  skipped: number;
  /** Comments written, replies to existing threads included. */
  comments: number;
  /** What could not be imported at all. */
  rejected: Rejection[];
  /** Tags left off because the importer may not add them to the vocabulary. */
  droppedTags: string[];
}

export const IMPORTED_TAG_COLOR = '#8c959f';

/**
 * A RelativePosition naming an item no client will ever write (clock 2^53 - 1): it resolves to nothing, so a thread
 * anchored with it is found by its quote alone — or listed as an orphan.
 */
function unplacedAnchor(): AnchorPositions {
  const nowhere = encodeRelative(
    Y.createRelativePositionFromJSON({ item: { client: 0, clock: Number.MAX_SAFE_INTEGER } }),
  );
  return { start: nowhere, end: nowhere };
}

type Placement =
  | { kind: 'offsets'; start: number; end: number }
  | { kind: 'moved'; anchor: AnchorPositions; quote: TextQuote }
  | { kind: 'orphan'; quote: TextQuote; reason: string };

function validSpan(
  index: ArticleIndex,
  p: { start: number; end: number } | null,
): { start: number; end: number } | null {
  if (!p || p.start < 0 || p.end > index.text.length || p.start >= p.end) return null;
  try {
    const a = anchorFromOffsets(index, p.start, p.end);
    return { start: a.start, end: a.end };
  } catch (e) {
    if (e instanceof AnchorError) return null;
    throw e;
  }
}

function place(index: ArticleIndex, t: PlannedThread): Placement {
  const { text } = index;
  const span = validSpan(index, t.position);
  if (!t.quote)
    return span
      ? { kind: 'offsets', ...span }
      : { kind: 'orphan', quote: { exact: '', prefix: '', suffix: '' }, reason: 'no passage' };
  const quote: TextQuote = { exact: t.quote.exact, prefix: t.quote.prefix ?? '', suffix: t.quote.suffix ?? '' };
  if (t.position && text.slice(t.position.start, t.position.end) === quote.exact && span)
    return { kind: 'offsets', ...span };
  const found = findQuote(text, quote, t.position?.start);
  if (!('error' in found)) return { kind: 'offsets', start: found.start, end: found.end };
  if (found.error === 'ambiguous')
    return { kind: 'orphan', quote, reason: 'the quote occurs several times and its context does not tell which' };
  // An imported position is a hint from another copy of the text, not a stored anchor: it says where to look,
  // not how far the passage may reach.
  const near = placeQuoteNear(index, quote, span?.start ?? t.position?.start ?? null);
  if (near.state !== 'orphan') {
    return { kind: 'moved', anchor: anchorFromOffsets(index, near.start, near.end).anchor, quote };
  }
  return { kind: 'orphan', quote, reason: 'the quote is not in the article' };
}

function writeComments(doc: Y.Doc, threadId: string, comments: readonly PlannedComment[], have: Set<string>): number {
  let written = 0;
  for (const c of comments) {
    if (have.has(c.id)) continue;
    addComment(doc, threadId, {
      id: c.id,
      authorId: c.authorId,
      authorName: c.authorName,
      body: c.deleted ? '(deleted)' : c.body,
      now: c.createdAt,
    });
    finishComment(doc, threadId, c);
    have.add(c.id);
    written++;
  }
  return written;
}

/** Edit time and deletion, which the mutators set only as changes after creation. */
function finishComment(doc: Y.Doc, threadId: string, c: PlannedComment): void {
  if (c.deleted) deleteComment(doc, threadId, c.id, c.editedAt ?? c.createdAt);
  else if (c.editedAt !== null) editComment(doc, threadId, c.id, c.body, c.editedAt);
}

/**
 * The limits clients are held to (TEXT_LIMITS) hold for imports too: a comment whose body is longer is rejected, a
 * thread whose quote is longer is rejected, a quote's context is cut to its limit, and a longer tag is dropped.
 */
const BODY_TOO_LONG = `a comment body of more than ${TEXT_LIMITS.body} characters`;
const QUOTE_TOO_LONG = `a quote of more than ${TEXT_LIMITS.quote} characters`;

function clipQuote(t: PlannedThread): PlannedThread {
  if (!t.quote) return t;
  const max = TEXT_LIMITS.quoteContext;
  const { exact, prefix = '', suffix = '' } = t.quote;
  if (prefix.length <= max && suffix.length <= max) return t;
  return { ...t, quote: { exact, prefix: prefix.slice(-max), suffix: suffix.slice(0, max) } };
}

/** Writes the plan into the document (call inside one transaction, e.g. a live document's `change`). */
export function applyImport(doc: Y.Doc, plan: ImportPlan, options: ImportOptions): ImportResult {
  const now = options.now ?? Date.now();
  const result: ImportResult = {
    imported: 0,
    orphaned: [],
    skipped: 0,
    comments: 0,
    rejected: [...plan.rejected],
    droppedTags: [],
  };
  const index = articleIndex(doc);
  const vocabulary = readVocabulary(doc);
  const allowTag = (tag: string): boolean => {
    if (tag.length > TEXT_LIMITS.tag) {
      if (!result.droppedTags.includes(tag)) result.droppedTags.push(tag);
      return false;
    }
    if (tag in vocabulary) return true;
    if (!options.mayDefineTags) {
      if (!result.droppedTags.includes(tag)) result.droppedTags.push(tag);
      return false;
    }
    const def = plan.vocabulary[tag];
    vocabulary[tag] = def && /^#[0-9a-fA-F]{6}$/.test(def.color) ? def : { color: IMPORTED_TAG_COLOR };
    setTag(doc, tag, vocabulary[tag]);
    return true;
  };
  const withinLimits = (c: PlannedComment): boolean => {
    if (c.body.length <= TEXT_LIMITS.body) return true;
    result.rejected.push({ id: c.id, reason: BODY_TOO_LONG });
    return false;
  };
  for (const planned of plan.threads) {
    const t = { ...clipQuote(planned), comments: planned.comments.filter(withinLimits) };
    if (t.quote && t.quote.exact.length > TEXT_LIMITS.quote) {
      result.rejected.push({ ...(t.source ? { id: t.source } : {}), reason: QUOTE_TOO_LONG });
      continue;
    }
    const existing = readThread(doc, t.id);
    if (existing) {
      result.skipped++;
      result.comments += writeComments(doc, t.id, t.comments, new Set(existing.comments.map((c) => c.id)));
      continue;
    }
    if (threadsMap(doc).has(t.id)) {
      // an entry no reader can read (stored before new threads had to arrive whole): not filled in, not replaced
      result.rejected.push({
        ...(t.source ? { id: t.source } : {}),
        reason: 'its id is taken by an entry that is no readable thread',
      });
      continue;
    }
    const [first, ...rest] = t.comments;
    if (!first) {
      result.rejected.push({ ...(t.source ? { id: t.source } : {}), reason: 'no comment to open the thread with' });
      continue;
    }
    const where = place(index, t);
    if (where.kind === 'orphan' && where.quote.exact === '') {
      result.rejected.push({
        ...(t.source ? { id: t.source } : {}),
        reason: 'its position is not within the article and it has no quote',
      });
      continue;
    }
    const target =
      where.kind === 'offsets'
        ? { start: where.start, end: where.end }
        : { anchor: where.kind === 'moved' ? where.anchor : unplacedAnchor(), quote: where.quote };
    createThread(doc, {
      ...target,
      id: t.id,
      commentId: first.id,
      createdBy: first.authorId,
      authorName: first.authorName,
      body: first.deleted ? '(deleted)' : first.body,
      tags: t.tags.filter(allowTag),
      now: first.createdAt,
    });
    finishComment(doc, t.id, first);
    result.imported++;
    result.comments += 1 + writeComments(doc, t.id, rest, new Set([first.id]));
    if (t.status === 'resolved')
      setThreadStatus(doc, t.id, 'resolved', t.resolvedBy ?? options.importerId, t.resolvedAt ?? now);
    if (where.kind === 'orphan')
      result.orphaned.push({ ...(t.source ? { id: t.source } : {}), exact: where.quote.exact, reason: where.reason });
  }
  for (const r of plan.replies) {
    const existing = threadsMap(doc).has(r.threadId) ? readThread(doc, r.threadId) : null;
    if (!existing) {
      result.rejected.push({
        ...(r.source ? { id: r.source } : {}),
        reason: 'a reply to an annotation that is neither in the import nor in the document',
      });
      continue;
    }
    const have = new Set(existing.comments.map((c) => c.id));
    if (have.has(r.comment.id) || !withinLimits(r.comment)) continue;
    result.comments += writeComments(doc, r.threadId, [r.comment], have);
  }
  return result;
}
