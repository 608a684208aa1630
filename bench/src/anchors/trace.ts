/**
 * One anchoring trace: annotate random passages of the article, edit the text through Lexical, then resolve every
 * anchor and judge it against the ground truth. The truth follows each original character through the edits (a
 * shadow copy of the text in which every character carries the index it had in the original), so "where the
 * passage is now" is the hull of its surviving original characters — independent of anchors and quotes.
 */
import * as Y from 'yjs';
import {
  AnchorError,
  anchorFromOffsets,
  articleIndex,
  articleText,
  bestOf,
  explainAnchor,
  MOVE_THRESHOLDS,
  similarity,
  type AnchorPositions,
  type MoveThresholds,
  type TextQuote,
} from '@marginalia/shared';
import { openArticleEditor, type ArticleEditor } from '../../../server/dist/article/headless.js';
import {
  caretOffsets,
  deleteRange,
  formatRange,
  insertTextAt,
  splitBlockAt,
} from '../../../server/dist/article/edit.js';

export type Verdict = 'exact' | 'moved-correct' | 'orphan' | 'wrong';

export interface Judged {
  verdict: Verdict;
  /** Whether the passage still existed, recognisably (surviving text within 0.8 similarity of the quote). */
  recoverable: boolean;
  state: 'exact' | 'moved' | 'orphan';
  quote: string;
  /** Whether the stored positions still pointed into the text. */
  alive: boolean;
  /** The best fuzzy candidate's features for non-exact anchors (for choosing thresholds). */
  candidate?: {
    near: boolean;
    errors: number;
    quoteSimilarity: number;
    contextSimilarity: number | null;
    distance: number | null;
    margin: number | null;
    correct: boolean;
  };
  detail?: string;
}

export interface TraceResult {
  /** Per threshold variant (the first is the one in use), per anchor. */
  anchors: Judged[][];
  ops: string[];
  /** Set when Lexical's text did not follow the shadow (the trace is then not judged). */
  diverged?: string;
}

/** mulberry32: small, fast, good enough for test data; one seed reproduces one trace. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'the',
  'Taliban',
  'Pakistan',
  'and',
  'new',
  'zorbit',
  'quell',
  'Kabul',
  'of',
  'minerals',
  'x',
  ' ',
  ',',
  'TTP',
];

interface Shadow {
  text: string;
  /** Original index of each character, or -1 for text added since. */
  ids: number[];
}

interface Annotation {
  anchor: AnchorPositions;
  quote: TextQuote;
  /** Original indices of the annotated characters. */
  ids: Set<number>;
}

/**
 * Is [start, end) on the passage? It must lie within the passage's hull (its surviving original characters and
 * whatever was typed between them), give or take as many characters as an approximate match may have wrong (1 in 5
 * of the quote, at least 2: an edit-distance-optimal match of a passage whose first letters were deleted may well
 * begin with the letters before it, "he rik-i-Taliban" for "Tehrik-i-Taliban"), and hold some original character.
 */
function onPassage(shadow: Shadow, ids: Set<number>, quoteLength: number, start: number, end: number): boolean {
  const survivors: number[] = [];
  shadow.ids.forEach((id, at) => {
    if (ids.has(id)) survivors.push(at);
  });
  if (survivors.length === 0) return false;
  const lo = survivors[0]!;
  const hi = survivors[survivors.length - 1]! + 1;
  const covered = survivors.filter((p) => p >= start && p < end).length;
  const outside = Math.max(0, lo - start) + Math.max(0, end - hi);
  return covered > 0 && outside <= Math.max(2, Math.ceil(0.2 * quoteLength));
}

/** Where the annotated characters are now: the hull of the survivors, or null when none survived. */
function truthSpan(shadow: Shadow, ids: Set<number>): [number, number] | null {
  let lo = -1;
  let hi = -1;
  shadow.ids.forEach((id, at) => {
    if (ids.has(id)) {
      if (lo === -1) lo = at;
      hi = at + 1;
    }
  });
  return lo === -1 ? null : [lo, hi];
}

export class TraceRunner {
  constructor(
    private readonly baseUpdate: Uint8Array,
    private readonly variants: readonly MoveThresholds[] = [MOVE_THRESHOLDS],
  ) {}

  async run(seed: number): Promise<TraceResult> {
    const random = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const doc = new Y.Doc();
    Y.applyUpdate(doc, this.baseUpdate);
    const article = openArticleEditor(doc);
    try {
      const text0 = articleText(doc);
      const shadow: Shadow = { text: text0, ids: Array.from(text0, (_, i) => i) };
      const annotations = this.annotate(doc, random, pick);
      const ops: string[] = [];
      const opCount = 1 + Math.floor(random() * 8);
      for (let k = 0; k < opCount; k++) {
        const op = await this.edit(article, shadow, annotations, random, pick);
        ops.push(op);
        const actual = articleText(doc);
        if (actual !== shadow.text) return { anchors: [], ops, diverged: `after ${op}` };
      }
      const index = articleIndex(doc);
      const anchors = this.variants.map((t) => annotations.map((a) => judge(index, shadow, a, t)));
      return { anchors, ops };
    } finally {
      article.destroy();
      doc.destroy();
    }
  }

  private annotate(doc: Y.Doc, random: () => number, pick: <T>(xs: readonly T[]) => T): Annotation[] {
    const index = articleIndex(doc);
    const text = index.text;
    const out: Annotation[] = [];
    const count = 1 + Math.floor(random() * 4);
    for (let i = 0; i < count; i++) {
      let start = Math.floor(random() * text.length);
      let end: number;
      if (random() < 0.6) {
        // Whole words, 1-6 of them.
        while (start > 0 && /\S/.test(text[start - 1]!)) start--;
        end = start;
        const words = 1 + Math.floor(random() * 6);
        for (let w = 0; w < words && end < text.length; w++) {
          while (end < text.length && /\s/.test(text[end]!)) end++;
          while (end < text.length && /\S/.test(text[end]!)) end++;
        }
      } else {
        const length = pick([1, 2, 3, 5, 8, 13, 30, 60, 120, 300]);
        end = Math.min(text.length, start + 1 + Math.floor(random() * length));
      }
      try {
        const a = anchorFromOffsets(index, start, end);
        const ids = new Set<number>();
        for (let c = a.start; c < a.end; c++) ids.add(c);
        out.push({ anchor: a.anchor, quote: a.quote, ids });
      } catch (e) {
        if (!(e instanceof AnchorError)) throw e;
      }
    }
    return out;
  }

  /** One random edit, often aimed at or near an annotation (where anchoring is tested). */
  private async edit(
    article: ArticleEditor,
    shadow: Shadow,
    annotations: Annotation[],
    random: () => number,
    pick: <T>(xs: readonly T[]) => T,
  ): Promise<string> {
    const stops = caretOffsets(article);
    const nearStop = (target: number): number => {
      let best = stops[0]!;
      for (const s of stops) if (Math.abs(s - target) < Math.abs(best - target)) best = s;
      return best;
    };
    const target = annotations.length > 0 && random() < 0.6 ? truthSpan(shadow, pick(annotations).ids) : null;
    const around = (): number => {
      if (target === null) return pick(stops);
      const [lo, hi] = target;
      return nearStop(lo - 8 + Math.floor(random() * (hi - lo + 16)));
    };
    const kind = random();
    if (kind < 0.3) {
      let at = around();
      const r = random();
      let insert: string;
      if (r < 0.25 && target !== null) {
        // A copy of the passage, away from it: a copy within its context window cannot be told from retyping it.
        insert = shadow.text.slice(target[0], target[1]);
        const away = stops.filter((x) => x < target[0] - 100 || x > target[1] + 100);
        if (away.length === 0) return 'noop';
        at = pick(away);
      } else if (r < 0.4) {
        const from = pick(stops);
        insert = shadow.text.slice(from, from + 1 + Math.floor(random() * 40)).replace(/\n/g, ' ');
      } else {
        insert = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(WORDS)).join(' ');
      }
      if (insert === '') insert = 'x';
      // Text that could slide (its first character equal to the one after it, or its last to the one before) has
      // several equally true histories — Lexical's diff may keep the old letters on either side — so the truth
      // would be a guess: mark its edges instead.
      if (insert[0] === shadow.text[at]) insert = '·' + insert;
      if (insert[insert.length - 1] === shadow.text[at - 1]) insert = insert + '·';
      await insertTextAt(article, at, insert);
      shadow.text = shadow.text.slice(0, at) + insert + shadow.text.slice(at);
      shadow.ids.splice(at, 0, ...Array.from(insert, () => -1));
      return `insert ${at} ${JSON.stringify(insert.slice(0, 20))}`;
    }
    if (kind < 0.6) {
      let from: number;
      let to: number;
      if (target !== null && random() < 0.3) {
        [from, to] = [nearStop(target[0]), nearStop(target[1])]; // the whole passage
      } else {
        from = around();
        to = nearStop(from + 1 + Math.floor(random() * pick([3, 10, 40, 200])));
      }
      if (to < from) [from, to] = [to, from];
      if (to === from || to - from > shadow.text.length / 2) return 'noop';
      // A deletion that could slide (same character before it as at its end, or at its start as after it) is as
      // ambiguous as sliding insertions; leave those out.
      if (shadow.text[from - 1] === shadow.text[to - 1] || shadow.text[from] === shadow.text[to]) return 'noop';
      await deleteRange(article, from, to);
      shadow.text = shadow.text.slice(0, from) + shadow.text.slice(to);
      shadow.ids.splice(from, to - from);
      return `delete ${from}-${to}`;
    }
    if (kind < 0.8) {
      const from = around();
      const to = nearStop(from + 1 + Math.floor(random() * 60));
      if (to <= from) return 'noop';
      await formatRange(article, from, to, pick(['bold', 'italic']));
      return `format ${from}-${to}`;
    }
    const at = around();
    await splitBlockAt(article, at);
    shadow.text = shadow.text.slice(0, at) + '\n\n' + shadow.text.slice(at);
    shadow.ids.splice(at, 0, -1, -1);
    return `split ${at}`;
  }
}

function judge(index: ReturnType<typeof articleIndex>, shadow: Shadow, a: Annotation, t: MoveThresholds): Judged {
  const truth = truthSpan(shadow, a.ids);
  const recoverable = truth !== null && similarity(shadow.text.slice(truth[0], truth[1]), a.quote.exact) >= 0.8;
  const { resolved, match, hint, positions } = explainAnchor(index, a, t);
  let candidate: Judged['candidate'];
  if (match) {
    const reach = t.nearby + a.quote.exact.length;
    const nearOnes = hint === null ? [] : match.candidates.filter((c) => c.distance !== null && c.distance <= reach);
    const near = nearOnes.length > 0;
    const { best, runnerUp } = bestOf(near ? nearOnes : match.candidates);
    if (best) {
      candidate = {
        near,
        errors: best.errors,
        quoteSimilarity: best.quoteSimilarity,
        contextSimilarity: best.contextSimilarity,
        distance: best.distance,
        margin: runnerUp ? best.score - runnerUp.score : null,
        correct: onPassage(shadow, a.ids, a.quote.exact.length, best.start, best.end),
      };
    }
  }
  const alive = positions.start !== null || positions.end !== null;
  const base = { recoverable, state: resolved.state, quote: a.quote.exact, alive, ...(candidate ? { candidate } : {}) };
  if (resolved.state === 'orphan') return { verdict: 'orphan', ...base };
  if (onPassage(shadow, a.ids, a.quote.exact.length, resolved.start, resolved.end))
    return { verdict: resolved.state === 'exact' ? 'exact' : 'moved-correct', ...base };
  return {
    verdict: 'wrong',
    ...base,
    detail: `${resolved.state} at ${resolved.start}-${resolved.end}, passage now at ${truth?.join('-') ?? 'nowhere'}`,
  };
}
