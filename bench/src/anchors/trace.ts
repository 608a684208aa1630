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
  explainAnchor,
  similarity,
  type AnchorPositions,
  type TextQuote,
} from '@marginalia/shared';
import { openArticleEditor, type ArticleEditor } from '../../../server/dist/article/headless.js';
import { caretOffsets, deleteRange, formatRange, insertTextAt, splitBlockAt } from '../../../server/dist/article/edit.js';

export type Verdict = 'exact' | 'moved-correct' | 'orphan' | 'wrong';

export interface Judged {
  verdict: Verdict;
  /** Whether the passage still existed, recognisably (surviving text within 0.8 similarity of the quote). */
  recoverable: boolean;
  state: 'exact' | 'moved' | 'orphan';
  quote: string;
  /** The best fuzzy candidate's features for non-exact anchors (for choosing thresholds). */
  candidate?: { quoteSimilarity: number; contextSimilarity: number | null; distance: number | null; margin: number | null; correct: boolean };
  detail?: string;
}

export interface TraceResult {
  anchors: Judged[];
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

const WORDS = ['the', 'Taliban', 'Pakistan', 'and', 'new', 'zorbit', 'quell', 'Kabul', 'of', 'minerals', 'x', ' ', ',', 'TTP'];

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

function iou(a: [number, number], b: [number, number]): number {
  const inter = Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0]));
  const union = Math.max(a[1], b[1]) - Math.min(a[0], b[0]);
  return union === 0 ? 0 : inter / union;
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
  constructor(private readonly baseUpdate: Uint8Array) {}

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
      const anchors = annotations.map((a) => judge(index, shadow, a));
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
      const at = around();
      const r = random();
      let insert: string;
      if (r < 0.25 && target !== null) insert = shadow.text.slice(target[0], target[1]); // a copy of the passage
      else if (r < 0.4) {
        const from = pick(stops);
        insert = shadow.text.slice(from, from + 1 + Math.floor(random() * 40)).replace(/\n/g, ' ');
      } else {
        insert = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(WORDS)).join(' ');
      }
      if (insert === '') insert = 'x';
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

function judge(index: ReturnType<typeof articleIndex>, shadow: Shadow, a: Annotation): Judged {
  const truth = truthSpan(shadow, a.ids);
  const recoverable = truth !== null && similarity(shadow.text.slice(truth[0], truth[1]), a.quote.exact) >= 0.8;
  const { resolved, match } = explainAnchor(index, a);
  let candidate: Judged['candidate'];
  if (match?.best) {
    const { best, runnerUp } = match;
    candidate = {
      quoteSimilarity: best.quoteSimilarity,
      contextSimilarity: best.contextSimilarity,
      distance: best.distance,
      margin: runnerUp ? best.score - runnerUp.score : null,
      correct: truth !== null && iou([best.start, best.end], truth) >= 0.5,
    };
  }
  const base = { recoverable, state: resolved.state, quote: a.quote.exact, ...(candidate ? { candidate } : {}) };
  if (resolved.state === 'orphan') return { verdict: 'orphan', ...base };
  const span: [number, number] = [resolved.start, resolved.end];
  if (truth !== null && iou(span, truth) >= 0.5) return { verdict: resolved.state === 'exact' ? 'exact' : 'moved-correct', ...base };
  return { verdict: 'wrong', ...base, detail: `${resolved.state} at ${span.join('-')}, passage now at ${truth?.join('-') ?? 'nowhere'}` };
}
