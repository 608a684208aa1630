/**
 * Concurrency properties of the annotation model, with fast-check: replicas (each a Y.Doc with its own headless
 * article editor) make random annotation and text operations, and exchange their updates in random order, through
 * partitions and re-joins. Seeded: set MARGINALIA_PROPERTY_SEED to replay (fast-check prints seed and path).
 *
 * "The text the text operations alone make" is the text of a second network that gets the same text operations
 * through the same schedule, without any annotation. So that the schedules are the same, annotation updates reach
 * every replica at once (Yjs would hold an article change back behind its author's earlier reply to a thread the
 * receiver lacks); annotation against annotation under partitions is the second property's subject. (What Lexical's collab v1 binding itself does to
 * concurrent text edits is the subject of lexical-collab.test.ts and lexical-collab-fuzz.test.ts.)
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  MOVE_THRESHOLDS,
  ModelError,
  addComment,
  articleIndex,
  articleText,
  createThread,
  deleteComment,
  editComment,
  readResolvedThreads,
  readThreads,
  resolveAnchor,
  setThreadStatus,
  setThreadTags,
  similarity,
} from '@marginalia/shared';
import * as Y from 'yjs';
import {
  ReplicaNetwork,
  articleUpdate,
  canonical,
  caretOffsets,
  deleteRange,
  formatRange,
  insertTextAt,
  snapshot,
  splitBlockAt,
} from '../support/lexical.js';

const SEED = Number(process.env.MARGINALIA_PROPERTY_SEED ?? 20251125);
const ARTICLE = [
  '# Kandahar and Islamabad',
  '',
  'The fall of the **Taliban** regime in Afghanistan in 2001 marked a turning point in the [country’s](https://example.org) history.',
  '',
  'Pakistan lobbied for the recognition of the Taliban. It explores the reconciliation meetings in Kabul.',
  '',
  '- The TTP resettled in Khyber Pakhtunkhwa.',
  '- Minerals in the Pashtun and Baloch areas.',
  '',
  'The relationship between Kandahar and Islamabad remains complex.',
].join('\n');

type Step =
  | { kind: 'create'; r: number; at: number; len: number }
  | { kind: 'reply' | 'edit' | 'delete' | 'resolve' | 'tag'; r: number; pick: number; sub: number }
  | { kind: 'insert'; r: number; at: number; text: string }
  | { kind: 'remove' | 'bold'; r: number; at: number; len: number }
  | { kind: 'split'; r: number; at: number }
  | { kind: 'deliver'; from: number; to: number; max: number }
  | { kind: 'partition'; groups: number[] }
  | { kind: 'heal' };

const r = fc.nat(5);
const annotationStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      r,
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 40 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('reply' as const, 'edit' as const, 'delete' as const, 'resolve' as const, 'tag' as const),
      r,
      pick: fc.nat(),
      sub: fc.nat(),
    }),
  },
);
const textStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      r,
      at: fc.nat(),
      text: fc.constantFrom('x', ' new ', 'Kabul', 'the Taliban', '—', '“q”'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('remove' as const, 'bold' as const),
      r,
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 25 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('split' as const), r, at: fc.nat() }) },
);
const networkStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('deliver' as const),
      from: r,
      to: r,
      max: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('partition' as const),
      groups: fc.array(fc.nat(1), { minLength: 6, maxLength: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'heal' as const }) },
);

type TextStep = Extract<Step, { kind: 'insert' | 'remove' | 'bold' | 'split' }>;

function isText(step: Step): step is TextStep {
  return step.kind === 'insert' || step.kind === 'remove' || step.kind === 'bold' || step.kind === 'split';
}

/** Runs one step on the network; annotation steps only when `annotations`. */
async function apply(net: ReplicaNetwork, step: Step, annotations: boolean): Promise<void> {
  if (step.kind === 'deliver') return void (await net.deliver(step.from % net.size, step.to % net.size, step.max));
  if (step.kind === 'partition') return net.partition(step.groups);
  if (step.kind === 'heal') return net.heal();
  const i = step.r % net.size;
  const { doc, editor } = net.replicas[i]!;
  const user = `user-${i}`;
  if (isText(step)) {
    if (!editor) return;
    const stops = caretOffsets(editor);
    const k = ('at' in step ? step.at : 0) % stops.length;
    const from = stops[k]!;
    const to = stops[Math.min(stops.length - 1, k + ('len' in step ? step.len : 0))]!;
    if (step.kind === 'insert') await insertTextAt(editor, from, step.text);
    else if (step.kind === 'split') await splitBlockAt(editor, from);
    else if (from < to)
      await (step.kind === 'remove' ? deleteRange(editor, from, to) : formatRange(editor, from, to, 'bold'));
    return;
  }
  if (!annotations) return;
  try {
    if (step.kind === 'create') {
      const length = articleText(doc).length;
      const start = step.at % (length + 1);
      createThread(doc, {
        start,
        end: Math.min(length, start + step.len),
        createdBy: user,
        authorName: `User ${i}`,
        body: `note ${step.at}`,
      });
      return;
    }
    const threads = readThreads(doc);
    if (threads.length === 0) return;
    const thread = threads[step.pick % threads.length]!;
    const comment = thread.comments[step.sub % thread.comments.length]!;
    if (step.kind === 'reply')
      addComment(doc, thread.id, { authorId: user, authorName: `User ${i}`, body: `reply ${step.sub}` });
    else if (step.kind === 'edit') editComment(doc, thread.id, comment.id, `edited ${step.sub}`);
    else if (step.kind === 'delete') deleteComment(doc, thread.id, comment.id);
    else if (step.kind === 'resolve') setThreadStatus(doc, thread.id, step.sub % 2 ? 'resolved' : 'open', user);
    else
      setThreadTags(
        doc,
        thread.id,
        ['claim', 'source', 'check'].filter((_, b) => (step.sub >> b) & 1),
      );
  } catch (e) {
    // A span with no text or a comment deleted meanwhile: the model refused, as it should; nothing was written.
    if (!(e instanceof ModelError)) throw e;
  }
}

function expectAllEqual(net: ReplicaNetwork): void {
  const states = net.replicas.map((x) => canonical(snapshot(x.doc)));
  for (const s of states) expect(s).toBe(states[0]);
}

/** Length of a longest common subsequence of a and b. */
function commonSubsequence(a: string, b: string): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++)
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Every thread is exact (on its quote), moved onto text within the threshold of its quote or onto what remains of
 * it (at least 80% of the text the quote's letters in order), or an orphan.
 */
function expectAnchorsHonest(doc: Y.Doc): void {
  const index = articleIndex(doc);
  for (const t of readThreads(doc, index)) {
    const r = resolveAnchor(index, t);
    if (r.state === 'exact') expect(index.text.slice(r.start, r.end)).toBe(t.quote.exact);
    if (r.state === 'moved') {
      const text = index.text.slice(r.start, r.end);
      const close = similarity(text, t.quote.exact) >= MOVE_THRESHOLDS.minQuoteSimilarity;
      const remains = commonSubsequence(t.quote.exact, text) >= 0.8 * text.length;
      expect({ text, quote: t.quote.exact, close, remains }).toMatchObject({ text, quote: t.quote.exact });
      expect(close || remains).toBe(true);
    }
  }
}

let base: Uint8Array;
beforeAll(async () => {
  base = await articleUpdate(ARTICLE, 'markdown');
  console.log(`concurrency properties: seed ${SEED} (replay with MARGINALIA_PROPERTY_SEED=${SEED})`);
});

describe('concurrent annotation and editing', () => {
  it('converges; the text is what the text operations alone make; no anchor lands on other words', async () => {
    const scenario = fc.record({
      replicas: fc.integer({ min: 3, max: 6 }),
      steps: fc.array(
        fc.oneof(
          { weight: 2, arbitrary: annotationStep },
          { weight: 2, arbitrary: textStep },
          { weight: 3, arbitrary: networkStep },
        ),
        {
          minLength: 10,
          maxLength: 40,
        },
      ),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ replicas, steps }) => {
        const all = new ReplicaNetwork(replicas, base);
        const textOnly = new ReplicaNetwork(replicas, base);
        try {
          for (const step of steps) {
            await apply(all, step, true);
            all.deliverAnnotations();
            await apply(textOnly, step, false);
          }
          await all.deliverAll();
          await textOnly.deliverAll();
          expectAllEqual(all);
          expectAllEqual(textOnly);
          all.replicas.forEach((x, i) => {
            const text = articleText(x.doc);
            expect(text).toBe(articleText(textOnly.replicas[i]!.doc));
            expectAnchorsHonest(x.doc);
          });
          const views = all.replicas.map((x) => canonical(readResolvedThreads(x.doc)));
          for (const v of views) expect(v).toBe(views[0]);
        } finally {
          all.destroy();
          textOnly.destroy();
        }
      }),
      { seed: SEED, numRuns: Number(process.env.MARGINALIA_PROPERTY_RUNS ?? 200) },
    );
  });
});

describe('concurrent annotation only', () => {
  it('leaves every anchor exact on every replica (500 seeded runs)', async () => {
    const scenario = fc.record({
      replicas: fc.integer({ min: 3, max: 6 }),
      steps: fc.array(fc.oneof({ weight: 3, arbitrary: annotationStep }, { weight: 2, arbitrary: networkStep }), {
        minLength: 5,
        maxLength: 30,
      }),
    });
    const text = await (async () => {
      const d = new Y.Doc();
      Y.applyUpdate(d, base);
      const t = articleText(d);
      d.destroy();
      return t;
    })();
    let anchors = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ replicas, steps }) => {
        const net = new ReplicaNetwork(replicas, base);
        try {
          for (const step of steps) await apply(net, step, true);
          await net.deliverAll();
          expectAllEqual(net);
          for (const { doc } of net.replicas) {
            expect(articleText(doc)).toBe(text);
            for (const t of readResolvedThreads(doc)) {
              anchors++;
              expect(t.anchorState).toBe('exact');
              expect(text.slice(t.start!, t.end!)).toBe(t.quote.exact);
            }
          }
        } finally {
          net.destroy();
        }
      }),
      { seed: SEED + 1, numRuns: 500, endOnFailure: true },
    );
    expect(anchors).toBeGreaterThan(1000);
  });
});
