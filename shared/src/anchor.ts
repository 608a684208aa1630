/**
 * Anchors: where a thread sits in the article. Stand-off (the article is never touched): a pair of Yjs
 * RelativePositions plus a W3C TextQuoteSelector to find the passage again when the text around it changes.
 *
 * Resolving an anchor:
 * - 'exact'  the passage reads exactly as `quote.exact`: the characters the RelativePositions are attached to
 *            (first and last of the passage) still exist and span the quote, or the quote stands verbatim at the
 *            positions after its edge letters were written again (an undo), or it was found again verbatim;
 * - 'moved'  it was found again but reads differently: approximately, with enough agreement of the quote, its
 *            context and its old position (MOVE_THRESHOLDS, evidence in bench/RESULTS.md), or as what remains
 *            between the positions of a passage part of which was deleted (`remnant`);
 * - 'orphan' otherwise: start and end are null, and the thread must not be drawn on any words.
 */
import type * as Y from 'yjs';
import { articleIndex, decodeRelative, encodeRelative, type ArticleIndex } from './article.js';
import { AnchorError } from './errors.js';
import {
  alignmentGains,
  bestOf,
  blockContextSimilarity,
  editDistance,
  matchQuote,
  occurrences,
  scoreSpan,
  similarity,
  trimToAlignment,
  type BestCandidate,
  type QuoteCandidate,
  type QuoteMatch,
} from './match.js';
import type { AnchorPositions, TextQuote, Thread } from './schema.js';

/** Characters of context kept either side of a quote (W3C TextQuoteSelector prefix/suffix). */
export const QUOTE_CONTEXT = 32;

/**
 * When a quote found again counts as the same passage ('moved'); the evidence is in bench/RESULTS.md.
 *
 * 1. The text between the stored positions, if it still resembles the quote (quote similarity >= minQuoteSimilarity,
 *    i.e. at most 1 edit in 5 characters) in context (>= minContextSimilarity for its length).
 * 2. Else, while a stored position still points into the text: the best approximate match within `nearby`
 *    characters (plus the quote's length) of it, cut to the positions and to what aligns with the quote, with the
 *    same two similarities, and no other non-overlapping nearby candidate within minMargin of its score. Nothing is
 *    looked for further away: the passage was edited here beyond recognition, and a look-alike elsewhere (a title
 *    repeated at the end, a phrase used twice) is other words.
 * 3. Only when both positions went with their blocks (a merge, a split) may the passage be found anywhere, and then
 *    only verbatim, in context >= minFarContextSimilarity, with no rival within minMargin.
 */
export const MOVE_THRESHOLDS: MoveThresholds = {
  minQuoteSimilarity: 0.8,
  /** By quote length: a short quote says little by itself, so its context must say more. */
  minContextSimilarity: [
    { shorterThan: 4, min: 0.99 },
    { shorterThan: 16, min: 0.75 },
    { shorterThan: Number.POSITIVE_INFINITY, min: 0.5 },
  ],
  nearby: 256,
  minFarContextSimilarity: 0.9,
  minMargin: 0.05,
  /**
   * Exact needs, for quotes shorter than this, at least minExactContextSimilarity of context: Lexical's text diff
   * can hand the identity of a short string to an equal one elsewhere (two paragraphs merged that both end in "s.").
   */
  exactContextBelowLength: 16,
  minExactContextSimilarity: 0.5,
  /**
   * Or the context within the passage's own block agrees as a moved quote's must (minContextSimilarity), when at
   * least this many characters of the stored context lie in it: a kept paragraph between changed ones (a revision)
   * keeps its short quotes exact.
   */
  minExactBlockContext: 8,
  /** Longest quote compared in full with the text between its stored positions (edit distance is quadratic). */
  maxPositionsCompare: 2000,
};

export interface MoveThresholds {
  minQuoteSimilarity: number;
  minContextSimilarity: ReadonlyArray<{ shorterThan: number; min: number }>;
  nearby: number;
  minFarContextSimilarity: number;
  minMargin: number;
  exactContextBelowLength: number;
  minExactContextSimilarity: number;
  minExactBlockContext: number;
  maxPositionsCompare: number;
}

export type AnchorState = 'exact' | 'moved' | 'orphan';

export type ResolvedAnchor =
  | { state: 'exact'; start: number; end: number }
  | { state: 'moved'; start: number; end: number; similarity: number }
  | { state: 'orphan'; start: null; end: null };

export type DocOrIndex = Y.Doc | ArticleIndex;

function indexOf(source: DocOrIndex): ArticleIndex {
  return 'toRelative' in source ? source : articleIndex(source);
}

/** Drops a lone surrogate left at either edge of a slice, so a context never holds half a character. */
function wholeCharacters(s: string): string {
  let from = 0;
  let to = s.length;
  if (to > 0 && /[\uDC00-\uDFFF]/.test(s[0]!)) from = 1;
  if (to > from && /[\uD800-\uDBFF]/.test(s[to - 1]!)) to -= 1;
  return s.slice(from, to);
}

/** The quote selector of text[start, end) with up to QUOTE_CONTEXT characters of context either side. */
export function quoteAt(text: string, start: number, end: number): TextQuote {
  return {
    exact: text.slice(start, end),
    prefix: wholeCharacters(text.slice(Math.max(0, start - QUOTE_CONTEXT), start)),
    suffix: wholeCharacters(text.slice(end, end + QUOTE_CONTEXT)),
  };
}

/**
 * Anchors text[start, end) of the article (offsets as in `articleText`, end exclusive). The span is first trimmed
 * of the blank lines between blocks at its edges (they are not content and have no position of their own).
 * Throws AnchorError: 'out-of-range' (bad offsets), 'empty' (nothing left), 'whitespace' (only whitespace).
 */
export function anchorFromOffsets(
  source: DocOrIndex,
  start: number,
  end: number,
): { anchor: AnchorPositions; quote: TextQuote; start: number; end: number } {
  const index = indexOf(source);
  const { text } = index;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > text.length || start > end) {
    throw new AnchorError('out-of-range', `span ${start}..${end} is not within the article (0..${text.length})`);
  }
  let s = start;
  let e = end;
  while (s < e && !index.isContent(s)) s++;
  while (e > s && !index.isContent(e - 1)) e--;
  if (s >= e) throw new AnchorError('empty', `span ${start}..${end} holds no article text`);
  if (text.slice(s, e).trim() === '')
    throw new AnchorError('whitespace', `span ${start}..${end} holds only whitespace`);
  const anchor = { start: encodeRelative(index.toRelative(s, 0)), end: encodeRelative(index.toRelative(e, -1)) };
  return { anchor, quote: quoteAt(text, s, e), start: s, end: e };
}

export type QuoteQuery = { exact: string; prefix?: string | undefined; suffix?: string | undefined };

/** Is the occurrence preceded by the whole given prefix and followed by the whole given suffix? */
function inContext(text: string, at: number, length: number, q: QuoteQuery): boolean {
  const prefix = q.prefix ?? '';
  const suffix = q.suffix ?? '';
  return (
    text.slice(Math.max(0, at - prefix.length), at) === prefix &&
    text.slice(at + length, at + length + suffix.length) === suffix
  );
}

/**
 * Finds where a quote is in the text, verbatim. A quote that occurs once is found whatever its context says. Of
 * several occurrences, those preceded by the whole given prefix and followed by the whole given suffix remain; one
 * left is found, several are told apart by nearness to `hint` when given, else (or none left) 'ambiguous'.
 */
export function findQuote(
  text: string,
  query: QuoteQuery,
  hint?: number,
): { start: number; end: number } | { error: 'not-found' | 'ambiguous' } {
  const { exact } = query;
  if (exact.length === 0) return { error: 'not-found' };
  const found = occurrences(text, exact);
  if (found.length === 0) return { error: 'not-found' };
  const fitting = found.length === 1 ? found : found.filter((at) => inContext(text, at, exact.length, query));
  if (fitting.length === 0) return { error: 'ambiguous' };
  if (fitting.length > 1) {
    if (hint === undefined) return { error: 'ambiguous' };
    fitting.sort((a, b) => Math.abs(a - hint) - Math.abs(b - hint));
    if (Math.abs(fitting[0]! - hint) === Math.abs(fitting[1]! - hint)) return { error: 'ambiguous' };
  }
  return { start: fitting[0]!, end: fitting[0]! + exact.length };
}

/** Anchors a quote found verbatim in the article; throws AnchorError 'quote-not-found' or 'quote-ambiguous'. */
export function anchorFromQuote(source: DocOrIndex, query: QuoteQuery) {
  const index = indexOf(source);
  const found = findQuote(index.text, query);
  if ('error' in found) {
    throw found.error === 'not-found'
      ? new AnchorError('quote-not-found', 'the quote does not occur in the article')
      : new AnchorError(
          'quote-ambiguous',
          'the quote occurs several times; give a prefix or suffix that singles one out',
        );
  }
  return anchorFromOffsets(index, found.start, found.end);
}

/** How an anchor was resolved: the stored positions as offsets now, the hint used, and the fuzzy match if any. */
export interface AnchorExplanation {
  resolved: ResolvedAnchor;
  /** The stored RelativePositions as offsets now (null: the block they pointed into is gone). */
  positions: { start: number | null; end: number | null };
  /** Where the passage was, from the positions (null when both went with their blocks). */
  hint: number | null;
  /** The fuzzy search's candidates (absent when the anchor was exact). */
  match?: QuoteMatch;
}

/** Where a thread's passage is now. Never places it on text that is not (approximately) its quote. */
export function resolveAnchor(source: DocOrIndex, thread: Pick<Thread, 'anchor' | 'quote'>): ResolvedAnchor {
  return explainAnchor(source, thread).resolved;
}

function decodeBoth(anchor: AnchorPositions): [Y.RelativePosition, Y.RelativePosition] | null {
  try {
    return [decodeRelative(anchor.start), decodeRelative(anchor.end)];
  } catch (err) {
    // A malformed stored anchor counts as positions lost; the quote may still find the passage.
    if (err instanceof Error) return null;
    throw err;
  }
}

/** resolveAnchor with its evidence, for diagnostics and the drill (which also tries other thresholds). */
export function explainAnchor(
  source: DocOrIndex,
  thread: Pick<Thread, 'anchor' | 'quote'>,
  t: MoveThresholds = MOVE_THRESHOLDS,
): AnchorExplanation {
  const index = indexOf(source);
  const { text } = index;
  const { quote } = thread;
  const L = quote.exact.length;
  const rel = decodeBoth(thread.anchor);
  const s = rel && index.fromRelative(rel[0]);
  const e = rel && index.fromRelative(rel[1]);
  const positions = { start: s, end: e };
  const startLive = rel !== null && index.isLive(rel[0]);
  const endLive = rel !== null && index.isLive(rel[1]);

  // Exact only while the first and last annotated characters themselves survive: positions whose characters were
  // deleted slide to a neighbour, and may then span look-alike text by chance (a one-letter quote, a split word).
  if (startLive && endLive && s !== null && e !== null && s < e && text.slice(s, e) === quote.exact) {
    if (exactContextAgrees(text, quote, s, e, t)) {
      return { resolved: { state: 'exact', start: s, end: e }, positions, hint: s };
    }
  }
  // Deleted letters written again at the passage's edge (an undone deletion): exact again where its quote is.
  if (s !== null && e !== null && s <= e && (startLive || endLive || L >= t.exactContextBelowLength)) {
    const again = verbatimAtPositions(index, quote, s, e, startLive, endLive, t);
    if (again) return { resolved: again, positions, hint: s };
  }
  // The text between the stored positions, when it still resembles the quote, is the passage with its exact edges
  // (an approximate match of a passage that lost its first words may take the words before it instead).
  if (
    s !== null &&
    e !== null &&
    s < e &&
    L <= t.maxPositionsCompare &&
    Math.abs(e - s - L) <= L * (1 - t.minQuoteSimilarity)
  ) {
    const between = acceptBetween(scoreSpan(text, quote, s, e, editDistance(quote.exact, text.slice(s, e)), s), L, t);
    if (between) return { resolved: between, positions, hint: s };
  }
  const hint = s ?? (e === null ? null : Math.max(0, e - L));
  const match = matchQuote(text, quote, hint, t.nearby);
  const bounds: [Bound | null, Bound | null] = [
    s === null ? null : { at: s, hard: startLive },
    e === null ? null : { at: e, hard: endLive },
  ];
  const resolved = acceptMove(index, match, quote, hint, bounds, t) ??
    (s !== null && e !== null && (startLive || endLive)
      ? remnant(index, quote, [s, e], [startLive, endLive], t)
      : null) ?? {
      state: 'orphan',
      start: null,
      end: null,
    };
  return { resolved: asExactWhenEqual(text, quote, resolved), positions, hint, match };
}

/** A passage found again that reads exactly as its quote is exact: nothing of it moved or changed. */
function asExactWhenEqual(text: string, quote: TextQuote, r: ResolvedAnchor): ResolvedAnchor {
  return r.state === 'moved' && text.slice(r.start, r.end) === quote.exact
    ? { state: 'exact', start: r.start, end: r.end }
    : r;
}

/**
 * The quote verbatim where the positions say the passage is, when a position's character was deleted and written
 * again (an undone deletion or split: Y.UndoManager restores deleted letters as new ones, and only the replica that
 * undid knows they are the old ones). It must begin at a live start and end at a live end, overlap or touch the
 * span between the positions, and for a short quote its context must agree as an exact one's must.
 */
function verbatimAtPositions(
  index: ArticleIndex,
  quote: TextQuote,
  s: number,
  e: number,
  startLive: boolean,
  endLive: boolean,
  t: MoveThresholds,
): ResolvedAnchor | null {
  const { text } = index;
  const L = quote.exact.length;
  if (L === 0 || (startLive && endLive)) return null;
  let best: number | null = null;
  const from = Math.max(0, Math.min(s, e) - L);
  for (
    let at = text.indexOf(quote.exact, from);
    at !== -1 && at <= Math.max(s, e);
    at = text.indexOf(quote.exact, at + 1)
  ) {
    const end = at + L;
    if ((startLive && at !== s) || (endLive && end !== e) || end < Math.min(s, e)) continue;
    if (L < t.exactContextBelowLength && !exactContextAgrees(text, quote, at, end, t)) continue;
    if (best === null || Math.abs(at - s) < Math.abs(best - s)) best = at;
  }
  return best === null ? null : { state: 'exact', start: best, end: best + L };
}

/** Whether a short quote's context agrees enough for it to count as exact (see MOVE_THRESHOLDS). */
function exactContextAgrees(text: string, quote: TextQuote, s: number, e: number, t: MoveThresholds): boolean {
  const L = quote.exact.length;
  if (L >= t.exactContextBelowLength) return true;
  if ((scoreSpan(text, quote, s, e, 0, s).contextSimilarity ?? 1) >= t.minExactContextSimilarity) return true;
  return (blockContextSimilarity(text, quote, s, e, t.minExactBlockContext) ?? 0) >= minContextFor(L, t);
}

/** Share of a remnant's letters that must be letters of the quote, in the quote's order… */
const REMNANT_MATCH = 0.8;
/** …in runs of at least this many letters that follow each other in the quote too. */
const REMNANT_RUN = 3;

/**
 * What is left of a passage part of which was deleted (called while one of its edge characters lives: when both
 * went, Lexical may have written neighbouring letters again between them): the text between the stored positions (which slide to the
 * surviving edges when the characters they were attached to go), when it is made of the quote's letters in the
 * quote's order (at least REMNANT_MATCH of it, after cutting edges that are mostly other letters). The positions
 * alone say this is the passage's place: text typed at its edges stays outside them, and Yjs puts text typed where
 * deleted edge letters were after those letters, so what lies between is the passage's survivors and what was
 * typed among them.
 */
function remnant(
  index: ArticleIndex,
  quote: TextQuote,
  [s, e]: [number, number],
  [startLive, endLive]: [boolean, boolean],
  t: MoveThresholds,
): ResolvedAnchor | null {
  const { text } = index;
  const L = quote.exact.length;
  // What lies between the positions of a partly deleted passage is at most its own length and what was typed
  // among its survivors; far more means other text came between them (a paragraph merged in).
  if (s >= e || L > t.maxPositionsCompare || e - s > 2 * L) return null;
  const matched = remnantLetters(quote.exact, text.slice(s, e), startLive, endLive);
  // Cut each edge where letters not from the quote outnumber those from it (as trimToAlignment does).
  let run = 0;
  let worst = 0;
  let cutLeft = 0;
  for (let k = 0; k < matched.length; k++) {
    run += matched[k] ? 1 : -1;
    if (run < worst) [worst, cutLeft] = [run, k + 1];
  }
  run = 0;
  worst = 0;
  let cutRight = 0;
  for (let k = matched.length - 1; k >= cutLeft; k--) {
    run += matched[k] ? 1 : -1;
    if (run < worst) [worst, cutRight] = [run, matched.length - k];
  }
  // A living edge character is a survivor for certain: a remnant without it is other letters.
  if ((startLive && cutLeft > 0) || (endLive && cutRight > 0)) return null;
  let start = s + cutLeft;
  let end = e - cutRight;
  while (start < end && (!index.isContent(start) || /\s/.test(text[start]!))) start++;
  while (end > start && (!index.isContent(end - 1) || /\s/.test(text[end - 1]!))) end--;
  if (end - start < Math.min(REMNANT_RUN, L)) return null;
  let inQuote = 0;
  for (let k = start; k < end; k++) if (matched[k - s]) inQuote++;
  if (inQuote < REMNANT_MATCH * (end - start)) return null;
  // On the side of an edge character that lives, the text beyond must still be the stored context: Lexical's text
  // diff can hand the identity of a letter to an equal one elsewhere (two paragraphs merged that both end in "s.").
  const before = text.slice(Math.max(0, start - quote.prefix.length), start);
  const after = text.slice(end, end + quote.suffix.length);
  if (startLive && similarity(quote.prefix, before) < t.minExactContextSimilarity) return null;
  if (endLive && similarity(quote.suffix, after) < t.minExactContextSimilarity) return null;
  const c = scoreSpan(text, quote, start, end, editDistance(quote.exact, text.slice(start, end)), s);
  return moved(c);
}

/**
 * Which letters of `span` are pieces of `quote`, in the quote's order: from left to right, the longest run of the
 * span that occurs in the quote after the previous piece, when at least REMNANT_RUN letters long (single letters
 * in common with the quote say nothing: "et" of "Nightjet" is in "sleeper trains to Lisbon" too). What is cut out of
 * the quote between pieces costs nothing: a remnant is the quote with parts deleted.
 */
function remnantLetters(quote: string, span: string, startLive: boolean, endLive: boolean): boolean[] {
  const m = span.length;
  const n = quote.length;
  const used = new Array<boolean>(m).fill(false);
  // A living edge character is the quote's own first (last) letter: what follows it (precedes it) as in the quote
  // is the passage, however short.
  let head = 0;
  if (startLive) while (head < m && head < n && span[head] === quote[head]) head++;
  let tail = 0;
  if (endLive) while (tail < m - head && tail < n - head && span[m - 1 - tail] === quote[n - 1 - tail]) tail++;
  used.fill(true, 0, head);
  used.fill(true, m - tail, m);
  const inner = quote.slice(0, n - tail);
  const minRun = Math.min(REMNANT_RUN, n);
  let after = head;
  for (let k = head; k < m - tail;) {
    let length = minRun;
    let at = k + length <= m - tail ? inner.indexOf(span.slice(k, k + length), after) : -1;
    if (at === -1) {
      k++;
      continue;
    }
    for (; k + length < m - tail; length++) {
      const next = inner.indexOf(span.slice(k, k + length + 1), after);
      if (next === -1) break;
      at = next;
    }
    used.fill(true, k, k + length);
    after = at + length;
    k += length;
  }
  return used;
}

/**
 * Places a quote near an offset that is only a hint (an imported TextPositionSelector from another copy of the
 * text): the same acceptance rules as a moved anchor, but no stored positions bound where the passage may be.
 */
export function placeQuoteNear(
  source: DocOrIndex,
  quote: TextQuote,
  hint: number | null,
  t: MoveThresholds = MOVE_THRESHOLDS,
): ResolvedAnchor {
  const index = indexOf(source);
  const match = matchQuote(index.text, quote, hint, t.nearby);
  return acceptMove(index, match, quote, hint, [null, null], t) ?? { state: 'orphan', start: null, end: null };
}

export function minContextFor(quoteLength: number, t: MoveThresholds = MOVE_THRESHOLDS): number {
  return t.minContextSimilarity.find((tier) => quoteLength < tier.shorterThan)?.min ?? 0;
}

function moved(c: QuoteCandidate): ResolvedAnchor {
  return { state: 'moved', start: c.start, end: c.end, similarity: c.quoteSimilarity };
}

/** A stored position bounding the passage: hard while its character lives, soft once it was deleted. */
interface Bound {
  at: number;
  hard: boolean;
}

/** Share of an overhang past a soft bound that must match the quote letter for letter… */
const OVERHANG_MATCH = 0.9;
/** …and how well the stored context on that side must agree beyond it. */
const OVERHANG_CONTEXT = 0.5;

/**
 * The candidate cut to the stored positions and tightened to what aligns with the quote (trimToAlignment). The
 * passage never reaches past a position whose character still lives. Past one whose character was deleted it may
 * (Lexical re-creates the letters it splits into another block, or wraps in a link, after the old ones) but then only with text that matches
 * the quote almost letter for letter, and with the stored context on that side still beyond it: a look-alike beside
 * a deleted edge ("Afghan Taliban.\n\nPakistan" for "Afghanistan. Pakistan", or "…ion to the" after "relief" when
 * "relief to the Afghan people" lost its end) must not extend the passage into other words.
 */
function tightened(
  index: ArticleIndex,
  quote: TextQuote,
  c: QuoteCandidate,
  hint: number | null,
  lo: Bound | null,
  hi: Bound | null,
): QuoteCandidate | null {
  const { text } = index;
  let start = c.start;
  let end = c.end;
  const gains = alignmentGains(quote.exact, text.slice(c.start, c.end));
  // The blank line of a block split inside the passage is not an error of the overhang.
  const faithful = (from: number, to: number): boolean => {
    if (gains === null) return false;
    let sum = 0;
    let letters = 0;
    for (let k = from; k < to; k++) {
      if (!index.isContent(k)) continue;
      sum += gains[k - c.start]!;
      letters++;
    }
    return sum >= (2 * OVERHANG_MATCH - 1) * letters;
  };
  const suffixAgrees = (): boolean =>
    similarity(quote.suffix, text.slice(end, end + quote.suffix.length)) >= OVERHANG_CONTEXT;
  const prefixAgrees = (): boolean =>
    similarity(quote.prefix, text.slice(Math.max(0, start - quote.prefix.length), start)) >= OVERHANG_CONTEXT;
  if (hi !== null && end > hi.at && (hi.hard || !faithful(Math.max(start, hi.at), end) || !suffixAgrees()))
    end = Math.max(start, hi.at);
  if (lo !== null && start < lo.at && (lo.hard || !faithful(start, Math.min(end, lo.at)) || !prefixAgrees()))
    start = Math.min(end, lo.at);
  if (start >= end) return null;
  const t = trimToAlignment(quote.exact, text, start, end);
  if (t.start >= t.end) return null;
  return t.start === c.start && t.end === c.end ? c : scoreSpan(text, quote, t.start, t.end, t.errors, hint);
}

function acceptBetween(c: QuoteCandidate, quoteLength: number, t: MoveThresholds): ResolvedAnchor | null {
  if (c.quoteSimilarity < t.minQuoteSimilarity) return null;
  return (c.contextSimilarity ?? 1) >= minContextFor(quoteLength, t) ? moved(c) : null;
}

/** Applies MOVE_THRESHOLDS (see there). */
function acceptMove(
  index: ArticleIndex,
  match: QuoteMatch,
  quote: TextQuote,
  hint: number | null,
  [lo, hi]: [Bound | null, Bound | null],
  t: MoveThresholds,
): ResolvedAnchor | null {
  const clear = ({ best, runnerUp }: BestCandidate): boolean =>
    runnerUp === null || best!.score - runnerUp.score >= t.minMargin;
  if (hint !== null) {
    const reach = t.nearby + quote.exact.length;
    const near = bestOf(match.candidates.filter((c) => c.distance !== null && c.distance <= reach));
    // The passage was here: take what is still recognisable of it here, or nothing (never a look-alike elsewhere).
    if (near.best === null || near.best.quoteSimilarity < t.minQuoteSimilarity) return null;
    const best = tightened(index, quote, near.best, hint, lo, hi);
    if (best === null || best.quoteSimilarity < t.minQuoteSimilarity) return null;
    const inContext = best.contextSimilarity === null || best.contextSimilarity >= minContextFor(quote.exact.length, t);
    return inContext && clear(near) ? moved(best) : null;
  }
  const far = bestOf(match.candidates);
  const best = far.best;
  // Far away, only a verbatim quote (nothing to tighten), in its context up to the article's edge.
  if (best === null || best.errors > 0 || !clear(far)) return null;
  if ((edgeContextSimilarity(index.text, quote, best.start, best.end) ?? 1) < t.minFarContextSimilarity) return null;
  return moved(best);
}

/**
 * How well the stored context agrees around [start, end), where a stored side shorter than QUOTE_CONTEXT said the
 * passage was that close to the article's edge (quoteAt stores less only there): that side is compared with as much
 * as a full context of the text now, so a look-alike further from the edge (a title repeated at the end, after
 * "One thought on “") does not agree by its last few letters alone. Null when no context was stored.
 */
function edgeContextSimilarity(text: string, quote: TextQuote, start: number, end: number): number | null {
  if (quote.prefix === '' && quote.suffix === '') return null;
  const before = text.slice(Math.max(0, start - Math.max(quote.prefix.length, QUOTE_CONTEXT)), start);
  const after = text.slice(end, end + Math.max(quote.suffix.length, QUOTE_CONTEXT));
  return (similarity(quote.prefix, before) + similarity(quote.suffix, after)) / 2;
}
