/**
 * Finding a quote again in text that has changed: candidates from exact occurrences, an approximate search near
 * the old position and an approximate search for the quote with its context; each scored by how well the quote,
 * its prefix, its suffix and its nearness to the old position agree. The thresholds that turn the best candidate
 * into a "moved" anchor (or an orphan) live in anchor.ts, with the drill's evidence.
 */
import search from 'approx-string-match';
import type { TextQuote } from './schema.js';

export interface QuoteCandidate {
  start: number;
  end: number;
  /** Edit distance between the quote and text[start, end). */
  errors: number;
  /** 1 - errors / quote length. */
  quoteSimilarity: number;
  /** Similarity of the stored prefix/suffix with the text around the candidate (mean of those stored), or null if none. */
  contextSimilarity: number | null;
  /** Distance in characters from the hint (the old position), or null without a hint. */
  distance: number | null;
  /** Weighted score in 0..1: quote 50, prefix 20, suffix 20, nearness 2 (Hypothesis' weights). */
  score: number;
}

export interface QuoteMatch {
  /** Every place considered, best score first. */
  candidates: QuoteCandidate[];
}

export interface BestCandidate {
  best: QuoteCandidate | null;
  /** The best candidate that does not overlap `best`: a near tie means the quote cannot be placed reliably. */
  runnerUp: QuoteCandidate | null;
}

/** The best of some candidates (sorted best first) and its best non-overlapping rival. */
export function bestOf(sorted: readonly QuoteCandidate[]): BestCandidate {
  const best = sorted[0] ?? null;
  const runnerUp = best === null ? null : (sorted.find((c) => c.end <= best.start || c.start >= best.end) ?? null);
  return { best, runnerUp };
}

/** Errors allowed when looking for candidates, as a share of the quote length (acceptance is stricter). */
export const CANDIDATE_ERROR_RATE = 0.35;
const MAX_CANDIDATES = 200;
const WEIGHT = { quote: 50, prefix: 20, suffix: 20, position: 2 };

/** Levenshtein distance; used on the short context strings only. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** 1 for identical strings, 0 for nothing in common (edit distance over the longer length). */
export function similarity(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  return n === 0 ? 1 : 1 - editDistance(a, b) / n;
}

/** All exact occurrences of `needle` in `text` (at most `limit`). */
export function occurrences(text: string, needle: string, limit = Number.POSITIVE_INFINITY): number[] {
  const found: number[] = [];
  if (needle.length === 0) return found;
  for (let i = text.indexOf(needle); i !== -1 && found.length < limit; i = text.indexOf(needle, i + 1)) found.push(i);
  return found;
}

/**
 * How well the stored context agrees with the text around [start, end). The prefix is compared with the text that
 * ends at `start`, the suffix with the text that starts at `end`; an empty stored prefix means the quote began the
 * article, so it agrees only with a candidate at 0 (and likewise an empty suffix at the end).
 */
function contextSimilarity(
  text: string,
  quote: TextQuote,
  start: number,
  end: number,
): { prefix: number; suffix: number } {
  const before = text.slice(Math.max(0, start - quote.prefix.length), start);
  const after = text.slice(end, end + quote.suffix.length);
  const prefix = quote.prefix.length > 0 ? similarity(quote.prefix, before) : start === 0 ? 1 : 0;
  const suffix = quote.suffix.length > 0 ? similarity(quote.suffix, after) : end === text.length ? 1 : 0;
  return { prefix, suffix };
}

/** Blocks are joined with this in the article's text (see articleText). */
const BLOCK_BREAK = '\n\n';

/**
 * How well the stored context agrees with the text around [start, end) within the passage's own block: the parts
 * of the stored prefix and suffix on the block's side of a block break, against the same block's text now. Null
 * when that in-block context is shorter than `minLength` (a short paragraph quoted whole says nothing by it).
 * A kept paragraph whose neighbours changed keeps this context while its full context is lost.
 */
export function blockContextSimilarity(
  text: string,
  quote: TextQuote,
  start: number,
  end: number,
  minLength: number,
): number | null {
  const p = quote.prefix.lastIndexOf(BLOCK_BREAK);
  const storedBefore = p >= 0 ? quote.prefix.slice(p + BLOCK_BREAK.length) : quote.prefix;
  const q = quote.suffix.indexOf(BLOCK_BREAK);
  const storedAfter = q >= 0 ? quote.suffix.slice(0, q) : quote.suffix;
  if (storedBefore.length + storedAfter.length < minLength) return null;
  const blockStart = text.lastIndexOf(BLOCK_BREAK, start - BLOCK_BREAK.length);
  const from = blockStart >= 0 ? blockStart + BLOCK_BREAK.length : 0;
  const blockEnd = text.indexOf(BLOCK_BREAK, end);
  const to = blockEnd >= 0 ? blockEnd : text.length;
  // A stored side that reached the block's edge is compared with all of the block's text on that side; one cut
  // short by the context length, with as much of it as was stored.
  const before = text.slice(p >= 0 ? from : Math.max(from, start - storedBefore.length), start);
  const after = text.slice(end, q >= 0 ? to : Math.min(to, end + storedAfter.length));
  return (similarity(storedBefore, before) + similarity(storedAfter, after)) / 2;
}

/** Scores text[start, end) as a place for `quote`, given its edit distance to the quote. */
export function scoreSpan(
  text: string,
  quote: TextQuote,
  start: number,
  end: number,
  errors: number,
  hint: number | null,
): QuoteCandidate {
  const length = Math.max(1, quote.exact.length);
  const quoteSimilarity = Math.max(0, 1 - errors / length);
  const ctx = contextSimilarity(text, quote, start, end);
  const distance = hint === null ? null : Math.abs(start - hint);
  const nearness = distance === null ? 0.5 : 1 - Math.min(1, distance / Math.max(1, text.length));
  const score =
    (WEIGHT.quote * quoteSimilarity +
      WEIGHT.prefix * ctx.prefix +
      WEIGHT.suffix * ctx.suffix +
      WEIGHT.position * nearness) /
    (WEIGHT.quote + WEIGHT.prefix + WEIGHT.suffix + WEIGHT.position);
  const hasContext = quote.prefix.length > 0 || quote.suffix.length > 0;
  return {
    start,
    end,
    errors,
    quoteSimilarity,
    contextSimilarity: hasContext ? (ctx.prefix + ctx.suffix) / 2 : null,
    distance,
    score,
  };
}

/** Approximate matches of `pattern` in text[from, to), shifted to text offsets. */
function searchIn(text: string, pattern: string, from: number, to: number, maxErrors: number) {
  const lo = Math.max(0, from);
  const slice = text.slice(lo, Math.min(text.length, to));
  return search(slice, pattern, maxErrors).map((m) => ({ start: m.start + lo, end: m.end + lo, errors: m.errors }));
}

/**
 * Scores every plausible place for `quote` in `text`. `hint` is the old position; `reach` how far from it to look
 * for approximate matches (a search over the whole text reports only the best matches anywhere).
 */
export function matchQuote(text: string, quote: TextQuote, hint: number | null, reach = 256): QuoteMatch {
  const exact = quote.exact;
  if (exact.length === 0 || text.length === 0) return { candidates: [] };
  const maxErrors = Math.floor(exact.length * CANDIDATE_ERROR_RATE);
  const found = new Map<string, { start: number; end: number; errors: number }>();
  const add = (m: { start: number; end: number; errors: number }): void => {
    const key = `${m.start}:${m.end}`;
    const had = found.get(key);
    if (found.size < MAX_CANDIDATES && (had === undefined || had.errors > m.errors)) found.set(key, m);
  };

  // 1. Every exact occurrence.
  for (const at of occurrences(text, exact, MAX_CANDIDATES / 2)) add({ start: at, end: at + exact.length, errors: 0 });

  if (maxErrors > 0) {
    // 2. The best approximate matches near the old position, in a wide and a tight window (each search reports
    //    only its lowest-error matches, so a verbatim repeat nearby would hide the edited passage itself).
    if (hint !== null) {
      for (const r of [reach, 32])
        for (const m of searchIn(text, exact, hint - r, hint + exact.length + r, maxErrors)) add(m);
    }
    // 3. The quote with its context, then the quote inside each such region.
    const withContext = quote.prefix + exact + quote.suffix;
    if (withContext.length > exact.length) {
      const regions = search(text, withContext, Math.floor(withContext.length * CANDIDATE_ERROR_RATE)).slice(0, 20);
      for (const r of regions) {
        for (const m of searchIn(text, exact, r.start - 8, r.end + 8, maxErrors)) add(m);
      }
    }
    // 4. Without any exact occurrence, the best approximate matches anywhere.
    if (found.size === 0) for (const m of search(text, exact, maxErrors)) add(m);
  }

  const candidates = [...found.values()].map((m) => scoreSpan(text, quote, m.start, m.end, m.errors, hint));
  candidates.sort((a, b) => b.score - a.score || a.start - b.start);
  return { candidates };
}

/** Longest quote or span aligned letter by letter (the table is quote length x span length). */
const MAX_ALIGN = 2000;

/**
 * Follows one optimal (edit-distance) alignment of `quote` with `span` and scores every letter of the span: +1 where
 * it matches the quote, -1 where it is an error; a quote letter missing from the span counts -1 against the span
 * letter it falls before. Null when either string is empty or longer than MAX_ALIGN.
 */
export function alignmentGains(quote: string, span: string): Int32Array | null {
  const n = quote.length;
  const m = span.length;
  if (n === 0 || m === 0 || n > MAX_ALIGN || m > MAX_ALIGN) return null;
  const width = m + 1;
  const d = new Uint16Array((n + 1) * width);
  for (let j = 0; j <= m; j++) d[j] = j;
  for (let i = 1; i <= n; i++) {
    d[i * width] = i;
    for (let j = 1; j <= m; j++) {
      const cost = quote.charCodeAt(i - 1) === span.charCodeAt(j - 1) ? 0 : 1;
      d[i * width + j] = Math.min(
        d[(i - 1) * width + j]! + 1,
        d[i * width + j - 1]! + 1,
        d[(i - 1) * width + j - 1]! + cost,
      );
    }
  }
  const gain = new Int32Array(m);
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const here = d[i * width + j]!;
    if (
      i > 0 &&
      j > 0 &&
      here === d[(i - 1) * width + j - 1]! + (quote.charCodeAt(i - 1) === span.charCodeAt(j - 1) ? 0 : 1)
    ) {
      gain[j - 1]! += here === d[(i - 1) * width + j - 1]! ? 1 : -1;
      i--;
      j--;
    } else if (j > 0 && here === d[i * width + j - 1]! + 1) {
      gain[j - 1]! -= 1;
      j--;
    } else {
      gain[Math.min(m - 1, j)]! -= 1;
      i--;
    }
  }
  return gain;
}

/**
 * Tightens a match to the part that really aligns with the quote. An edit-distance-optimal match of a passage that
 * lost its first (or last) letters may cover the letters beside it, as substitutions cost no more than deletions.
 * Along an optimal alignment, an edge stretch with more errors than matching letters is cut off.
 * Returns the (possibly) tightened span with its edit distance.
 */
export function trimToAlignment(
  quote: string,
  text: string,
  start: number,
  end: number,
): { start: number; end: number; errors: number } {
  const gains = alignmentGains(quote, text.slice(start, end));
  if (gains === null) return { start, end, errors: editDistance(quote, text.slice(start, end)) };
  const m = gains.length;
  let run = 0;
  let worst = 0;
  let cutLeft = 0;
  for (let k = 0; k < m; k++) {
    run += gains[k]!;
    if (run < worst) {
      worst = run;
      cutLeft = k + 1;
    }
  }
  run = 0;
  worst = 0;
  let cutRight = 0;
  for (let k = m - 1; k >= cutLeft; k--) {
    run += gains[k]!;
    if (run < worst) {
      worst = run;
      cutRight = m - k;
    }
  }
  const s = start + cutLeft;
  const e = end - cutRight;
  return { start: s, end: e, errors: editDistance(quote, text.slice(s, e)) };
}
