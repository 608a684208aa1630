/**
 * The user's search text, read by us and never handed to an engine's query syntax: words (letters, digits and
 * marks; everything else separates them), "phrases in double quotes", and a trailing `*` for a prefix. Every term
 * must match. From the parsed terms each engine's query is written with nothing but quoted words, so no input can
 * be an operator; and the same terms find what to highlight in a result.
 */

/** One term: a word, or a phrase of words in order; `prefix`: the last word may be the start of a longer one. */
export interface QueryTerm {
  words: string[];
  prefix: boolean;
}

export const QUERY_LIMITS = { chars: 500, terms: 16 } as const;

export class QueryError extends Error {}

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

const wordsOf = (s: string): string[] => s.normalize('NFC').match(WORD) ?? [];

/** Parses the search text; an unclosed quote runs to the end. Throws QueryError when it is too long. */
export function parseQuery(q: string): QueryTerm[] {
  if (q.length > QUERY_LIMITS.chars) throw new QueryError(`q is at most ${QUERY_LIMITS.chars} characters`);
  const terms: QueryTerm[] = [];
  const add = (chunk: string, prefix: boolean) => {
    const words = wordsOf(chunk);
    if (words.length) terms.push({ words, prefix });
  };
  const re = /"([^"]*)"?(\*?)|([^\s"]+)/g;
  for (let m = re.exec(q); m; m = re.exec(q)) {
    if (m[3] !== undefined) add(m[3], m[3].endsWith('*'));
    else add(m[1]!, m[2] === '*');
  }
  if (terms.length > QUERY_LIMITS.terms) throw new QueryError(`q has at most ${QUERY_LIMITS.terms} words or phrases`);
  return terms;
}

/** FTS5: each term a quoted string (a phrase when it has several words), `*` after it for a prefix; all required. */
export function fts5Query(terms: readonly QueryTerm[]): string {
  return terms.map((t) => `"${t.words.join(' ')}"${t.prefix ? '*' : ''}`).join(' AND ');
}

/** tsquery text: each word a quoted lexeme, a phrase joined by `<->`, `:*` for a prefix; all required. */
export function tsQuery(terms: readonly QueryTerm[]): string {
  return terms
    .map((t) => {
      const words = t.words.map((w, i) => `'${w}'${t.prefix && i === t.words.length - 1 ? ':*' : ''}`);
      return `(${words.join(' <-> ')})`;
    })
    .join(' & ');
}

// ---- highlighting ----------------------------------------------------------------------------------------

/** Case and diacritics folded, as the engines fold them. */
const fold = (w: string): string => w.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/** A light English stem: enough to highlight what the engine's stemmer matched (figures ~ figure, discussed ~ discuss). */
function stem(w: string): string {
  let s = w;
  if (s.endsWith('sses')) s = s.slice(0, -2);
  else if (s.endsWith('ies') && s.length > 4) s = s.slice(0, -3) + 'y';
  else if (s.endsWith('s') && !s.endsWith('ss') && s.length > 3) s = s.slice(0, -1);
  if (s.endsWith('ing') && s.length > 5) s = s.slice(0, -3);
  else if (s.endsWith('ed') && s.length > 4) s = s.slice(0, -2);
  if (s.endsWith('y') && s.length > 3) s = s.slice(0, -1) + 'i';
  if (s.endsWith('e') && s.length > 3) s = s.slice(0, -1);
  return s;
}

function wordMatches(word: string, q: string, prefix: boolean): boolean {
  const w = fold(word);
  const f = fold(q);
  if (prefix && w.startsWith(stem(f))) return true;
  if (w === f) return true;
  const sw = stem(w);
  const sq = stem(f);
  return (
    sw === sq || (sw.startsWith(sq) && sw.length - sq.length <= 3) || (sq.startsWith(sw) && sq.length - sw.length <= 3)
  );
}

export type Span = [number, number];

/** Where the terms occur in the text (UTF-16 offsets), in order, not overlapping. */
export function highlightSpans(text: string, terms: readonly QueryTerm[]): Span[] {
  const words = [...text.matchAll(WORD)].map((m) => ({ word: m[0], start: m.index, end: m.index + m[0].length }));
  const spans: Span[] = [];
  for (const t of terms) {
    for (let i = 0; i + t.words.length <= words.length; i++) {
      const ok = t.words.every((q, j) => wordMatches(words[i + j]!.word, q, t.prefix && j === t.words.length - 1));
      if (ok) spans.push([words[i]!.start, words[i + t.words.length - 1]!.end]);
    }
  }
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: Span[] = [];
  for (const s of spans) {
    const last = merged.at(-1);
    if (last && s[0] < last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  return merged;
}

export const SNIPPET_CHARS = 200;

/**
 * A snippet of the text around its first highlight, cut at word boundaries (with `…` where it was cut), and the
 * highlights within it, as offsets into the snippet.
 */
export function snippet(text: string, spans: readonly Span[]): { snippet: string; highlights: Span[] } {
  const flat = text.replace(/\s+/g, ' ');
  // Whitespace runs collapse to one space: map the spans through the same collapse.
  const map: number[] = [];
  let j = 0;
  for (let i = 0; i < text.length; i++) {
    map.push(j);
    if (!(/\s/.test(text[i]!) && i > 0 && /\s/.test(text[i - 1]!))) j++;
  }
  map.push(j);
  const collapsed = spans.map(([s, e]): Span => [map[s]!, map[e]!]);
  if (flat.length <= SNIPPET_CHARS) return { snippet: flat, highlights: collapsed };
  const first = collapsed[0]?.[0] ?? 0;
  let start = Math.max(0, first - Math.floor(SNIPPET_CHARS / 3));
  let end = Math.min(flat.length, start + SNIPPET_CHARS);
  start = Math.max(0, Math.min(start, end - SNIPPET_CHARS));
  if (start > 0) {
    const space = flat.indexOf(' ', start);
    if (space !== -1 && space < first) start = space + 1;
  }
  if (end < flat.length) {
    const space = flat.lastIndexOf(' ', end);
    if (space > start && space > (collapsed[0]?.[1] ?? 0)) end = space;
  }
  const lead = start > 0 ? '… ' : '';
  const cut = flat.slice(start, end).trimEnd();
  const out = lead + cut + (end < flat.length ? ' …' : '');
  const shift = lead.length - start;
  const highlights = collapsed
    .filter(([s, e]) => s >= start && e <= start + cut.length)
    .map(([s, e]): Span => [s + shift, e + shift]);
  return { snippet: out, highlights };
}
