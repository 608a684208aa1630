/**
 * A fuzzer for the article's collaborative editing: 3–5 headless Lexical editors, each bound to its own Y.Doc through
 * the project's binding set-up (server/src/article/headless.ts), make the edits the client allows (type, delete a
 * range, paste paragraphs, Enter, Backspace at a block's start, bold/italic, link, heading/list/paragraph) on a
 * seeded random schedule, while their updates travel through an in-memory network with partitions and reordered
 * delivery. After everything is delivered the invariants are checked:
 *
 * - converged: every replica's Y.Doc holds the same article;
 * - editor-matches-doc: every editor's state equals what a fresh editor loading its own doc shows;
 * - letters-kept: every character typed or in the base article, and not deliberately deleted by some user, is
 *   present exactly once (each character is a distinct code point, so each is tracked on its own); a deleted one is
 *   present at most once;
 * - anchors-honest: each thread made on the base article resolves exact or moved onto what is left of its own
 *   passage, or is an orphan, never onto other text.
 *
 * Shared by the `npm test` property (tests/shared/lexical-collab-fuzz.test.ts) and the long drill
 * (bench/src/drill-editing.ts); it imports the server's article modules by relative path so that the drill can
 * compile them in.
 */
import fc from 'fast-check';
import * as Y from 'yjs';
import {
  $createParagraphNode,
  $createTextNode,
  $getRoot,
  $getSelection,
  $isRangeSelection,
  $isTextNode,
  $parseSerializedNode,
  type TextFormatType,
} from 'lexical';
import { $setBlocksType } from '@lexical/selection';
import { $createHeadingNode } from '@lexical/rich-text';
import { $insertList } from '@lexical/list';
import { $toggleLink } from '@lexical/link';
import { articleIndex, articleText, createThread, readThreads, resolveAnchor } from '@marginalia/shared';
import { openArticleEditor } from '../../server/src/article/headless.js';
import { $caretMap, deleteRange, formatRange, splitBlockAt } from '../../server/src/article/edit.js';
import { importArticle } from '../../server/src/article/import.js';
import { openArticleEditorV2, v2Root, type ArticleEditorV2 } from './headless-v2.js';

// ---------------------------------------------------------------------------------------------------------------
// Bindings

/**
 * Which @lexical/yjs binding the editors use: `v1` is the project's own set-up (server/src/article/headless.ts, the
 * shipped schema); `v2` is 0.52's `createBindingV2__EXPERIMENTAL` (tests/support/headless-v2.ts), measured against
 * the same schedules only. For v2 the anchor invariant is skipped: threads anchor to the v1 article (shared/src reads
 * the `root` XmlText), and v2 writes another layout, so the base has no threads there.
 */
export type BindingKind = 'v1' | 'v2';

export interface RunOptions {
  binding?: BindingKind;
}

/** What the fuzzer needs of an editor, whatever its binding. */
type FuzzEditor = ArticleEditorV2;

function openEditor(doc: Y.Doc, binding: BindingKind): FuzzEditor {
  return binding === 'v1' ? openArticleEditor(doc) : openArticleEditorV2(doc);
}

/** The article's text as a fresh editor loading `doc` shows it (for v1, as the server reads it). */
function docText(doc: Y.Doc, binding: BindingKind): string {
  if (binding === 'v1') return articleText(doc);
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  const fresh = openArticleEditorV2(copy);
  try {
    return fresh.read(() => $getRoot().getTextContent());
  } finally {
    fresh.destroy();
    copy.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Schedules

export type Op =
  | { kind: 'type'; at: number; len: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'paste'; at: number; paragraphs: number[] }
  | { kind: 'enter'; at: number }
  | { kind: 'backspace'; block: number }
  | { kind: 'format'; at: number; len: number; format: 'bold' | 'italic' }
  | { kind: 'link'; at: number; len: number }
  | { kind: 'block'; block: number; to: 'h2' | 'paragraph' | 'bullet' };

export type Step =
  | { kind: 'edit'; r: number; op: Op }
  | { kind: 'deliver'; from: number; to: number; count: number; pick: number }
  | { kind: 'partition'; groups: number[] }
  | { kind: 'heal' };

export interface Schedule {
  editors: number;
  steps: Step[];
}

/** Which operations a schedule may use (the drill and the test can narrow them, e.g. to one class). */
export type OpKind = Op['kind'];
export const ALL_OPS: readonly OpKind[] = ['type', 'delete', 'paste', 'enter', 'backspace', 'format', 'link', 'block'];

function opArbitrary(kinds: readonly OpKind[]): fc.Arbitrary<Op> {
  const at = fc.nat(200);
  const all: Record<OpKind, { weight: number; arbitrary: fc.Arbitrary<Op> }> = {
    type: { weight: 6, arbitrary: fc.record({ kind: fc.constant('type'), at, len: fc.integer({ min: 1, max: 3 }) }) },
    delete: {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('delete'), at, len: fc.integer({ min: 1, max: 12 }) }),
    },
    paste: {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('paste'),
        at,
        paragraphs: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 3 }),
      }),
    },
    enter: { weight: 2, arbitrary: fc.record({ kind: fc.constant('enter'), at }) },
    backspace: { weight: 1, arbitrary: fc.record({ kind: fc.constant('backspace'), block: fc.nat(10) }) },
    format: {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('format'),
        at,
        len: fc.integer({ min: 1, max: 8 }),
        format: fc.constantFrom('bold', 'italic'),
      }),
    },
    link: { weight: 1, arbitrary: fc.record({ kind: fc.constant('link'), at, len: fc.integer({ min: 1, max: 6 }) }) },
    block: {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('block'),
        block: fc.nat(10),
        to: fc.constantFrom('h2', 'paragraph', 'bullet'),
      }),
    },
  };
  return fc.oneof(...kinds.map((k) => all[k]));
}

export function scheduleArbitrary(
  options: { ops?: readonly OpKind[]; minEditors?: number; maxEditors?: number; maxSteps?: number } = {},
): fc.Arbitrary<Schedule> {
  const { ops = ALL_OPS, minEditors = 3, maxEditors = 5, maxSteps = 30 } = options;
  const r = fc.nat(maxEditors - 1);
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('edit' as const), r, op: opArbitrary(ops) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('deliver' as const),
        from: r,
        to: r,
        count: fc.integer({ min: 1, max: 3 }),
        // 0: in order; otherwise which queued update goes first (reordered delivery).
        pick: fc.oneof(fc.constant(0), fc.nat(7)),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('partition' as const),
        groups: fc.array(fc.nat(1), { minLength: maxEditors, maxLength: maxEditors }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'heal' as const }) },
  );
  return fc.record({
    editors: fc.integer({ min: minEditors, max: maxEditors }),
    steps: fc.array(step, { minLength: 1, maxLength: maxSteps }),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The base article: every character a distinct code point, so that each one can be followed through the run.

/** Base text letters come from Latin Extended (U+0100…), typed letters from CJK (U+4E00…): never the same. */
const BASE_FIRST = 0x100;
const TYPED_FIRST = 0x4e00;

function baseMarkdown(): string {
  let next = BASE_FIRST;
  const word = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCodePoint(next++);
    return s;
  };
  return [
    `# ${word(6)}`,
    '',
    `${word(5)} **${word(4)}** ${word(6)}`,
    '',
    `- ${word(5)}`,
    `- ${word(4)}`,
    '',
    `${word(4)} [${word(4)}](https://example.org/a) ${word(3)}`,
  ].join('\n');
}

let baseCache: Uint8Array | null = null;
let baseCacheV2: Uint8Array | null = null;

/** The base article for a binding: for v2, the same Lexical content written through a v2 editor (no threads). */
export async function baseUpdate(binding: BindingKind = 'v1'): Promise<Uint8Array> {
  if (binding === 'v2') return (baseCacheV2 ??= await baseUpdateV2());
  if (baseCache) return baseCache;
  const doc = new Y.Doc();
  doc.clientID = 1;
  await importArticle(doc, 'markdown', baseMarkdown());
  const text = articleText(doc);
  const span = (from: number, len: number) => ({ start: from, end: Math.min(text.length, from + len) });
  createThread(doc, { ...span(9, 6), createdBy: 'u', authorName: 'U', body: 'first' });
  createThread(doc, { ...span(text.length - 9, 6), createdBy: 'u', authorName: 'U', body: 'second' });
  baseCache = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return baseCache;
}

async function baseUpdateV2(): Promise<Uint8Array> {
  const v1 = new Y.Doc();
  Y.applyUpdate(v1, await baseUpdate('v1'));
  const reader = openArticleEditor(v1);
  const children = reader.editor.getEditorState().toJSON().root.children;
  reader.destroy();
  v1.destroy();
  const doc = new Y.Doc();
  doc.clientID = 1;
  const writer = openArticleEditorV2(doc);
  await writer.update(() => {
    const root = $getRoot();
    root.clear();
    for (const child of children) root.append($parseSerializedNode(child));
  });
  writer.destroy();
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

function isTracked(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  return c >= BASE_FIRST && c !== 0x0a && c !== 0x20;
}

// ---------------------------------------------------------------------------------------------------------------
// The network

const NETWORK = Symbol('network');

class Network {
  readonly docs: Y.Doc[] = [];
  readonly editors: FuzzEditor[] = [];
  private readonly queues = new Map<string, Uint8Array[]>();
  private groups: number[] | null = null;

  constructor(count: number, base: Uint8Array, binding: BindingKind) {
    for (let i = 0; i < count; i++) {
      const doc = new Y.Doc();
      doc.clientID = 100 + i;
      Y.applyUpdate(doc, base, NETWORK);
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin === NETWORK) return;
        for (let j = 0; j < count; j++) if (j !== i) this.queue(i, j).push(update);
      });
      this.docs.push(doc);
      this.editors.push(openEditor(doc, binding));
    }
  }

  get size(): number {
    return this.docs.length;
  }

  private queue(from: number, to: number): Uint8Array[] {
    const key = `${from}>${to}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    return q;
  }

  partition(groups: number[]): void {
    this.groups = groups;
  }

  heal(): void {
    this.groups = null;
  }

  /** Delivers up to `count` updates from -> to; `pick` > 0 takes them out of order (Yjs holds back what it cannot
   * integrate yet until the missing updates arrive). */
  async deliver(from: number, to: number, count: number, pick: number): Promise<void> {
    if (from === to) return;
    if (this.groups && (this.groups[from] ?? 0) !== (this.groups[to] ?? 0)) return;
    const q = this.queue(from, to);
    let n = 0;
    for (; n < count && q.length > 0; n++) {
      const [update] = q.splice(pick % q.length, 1);
      Y.applyUpdate(this.docs[to]!, update!, NETWORK);
    }
    if (n > 0) await this.editors[to]!.settle();
  }

  pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Heals and delivers everything (including what editors write in reaction) until nothing is left to send. */
  async deliverAll(): Promise<void> {
    this.heal();
    for (let round = 0; round < 50; round++) {
      for (const e of this.editors) await e.settle();
      if (this.pending() === 0) return;
      for (let from = 0; from < this.size; from++) {
        for (let to = 0; to < this.size; to++) await this.deliver(from, to, Number.POSITIVE_INFINITY, 0);
      }
    }
    throw new Error('replicas did not go quiet after 50 delivery rounds');
  }

  destroy(): void {
    for (const e of this.editors) e.destroy();
    for (const d of this.docs) d.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Running a schedule

export type InvariantName = 'converged' | 'editor-matches-doc' | 'letters-kept' | 'anchors-honest' | 'crash';

export interface Violation {
  invariant: InvariantName;
  detail: string;
}

/** What an edit did, for the classification of failures. */
/** An edit's kind as it turned out: a deletion over a block boundary is a `merge`. */
export type EditKind = OpKind | 'merge';

export interface EditRecord {
  /** Index of the step in the schedule. */
  step: number;
  r: number;
  kind: EditKind;
  /** Whether the edit changed the doc at all (an edit that turned out a no-op causes nothing). */
  wrote: boolean;
  /** The state vector of the editor's doc just before the edit, and its own clock just after. */
  before: Map<number, number>;
  client: number;
  clockAfter: number;
}

export interface RunResult {
  violations: Violation[];
  edits: EditRecord[];
  finalText: string;
}

/** Letters handed out to typing in one run; each is a distinct code point. */
class Letters {
  private next = TYPED_FIRST;
  take(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCodePoint(this.next++);
    return s;
  }
}

function stopsOf(editor: FuzzEditor): { stops: number[]; blocks: number[]; text: string } {
  return editor.read(() => {
    const map = $caretMap();
    return { stops: [...map.stops.keys()].sort((a, b) => a - b), blocks: map.blockStarts, text: map.text };
  });
}

/** Applies one edit through the editor; returns the letters it deliberately deleted. */
async function applyOp(editor: FuzzEditor, op: Op, letters: Letters): Promise<string> {
  const { stops, blocks, text } = stopsOf(editor);
  if (stops.length === 0) return '';
  const k = 'at' in op ? op.at % stops.length : 0;
  const from = stops[k]!;
  const to = stops[Math.min(stops.length - 1, k + ('len' in op ? op.len : 0))]!;
  switch (op.kind) {
    case 'type': {
      const typed = letters.take(op.len);
      await editor.update(() => {
        const selection = selectAt(from, from);
        // A caret a user places takes the format of the text it is in (as the browser's selection does), so
        // typing inside bold text stays one bold node.
        const node = selection.anchor.getNode();
        if ($isTextNode(node)) {
          selection.format = node.getFormat();
          selection.style = node.getStyle();
        }
        selection.insertText(typed);
      });
      return '';
    }
    case 'delete':
      if (from === to) return '';
      await deleteRange(editor, from, to);
      return text.slice(from, to);
    case 'enter':
      await splitBlockAt(editor, from);
      return '';
    case 'backspace': {
      const b = blocks[op.block % blocks.length]!;
      if (b === 0) return '';
      // The caret at a block's start, Backspace: merges it into the block before ("\n\n" joins them).
      await deleteRange(editor, b - 2, b);
      return '';
    }
    case 'paste': {
      const paragraphs = op.paragraphs.map((n) => letters.take(n));
      await editor.update(() => {
        const selection = selectAt(from, from);
        selection.insertNodes(paragraphs.map((p) => $createParagraphNode().append($createTextNode(p))));
      });
      return '';
    }
    case 'format':
      if (from === to) return '';
      await formatRange(editor, from, to, op.format as TextFormatType);
      return '';
    case 'link':
      if (from === to) return '';
      await editor.update(() => {
        selectAt(from, to);
        $toggleLink('https://example.org/fuzz');
      });
      return '';
    case 'block': {
      const b = blocks[op.block % blocks.length]!;
      await editor.update(() => {
        selectAt(b, b);
        if (op.to === 'bullet') $insertList('bullet');
        else {
          const selection = $getSelection();
          if ($isRangeSelection(selection)) {
            $setBlocksType(selection, () => (op.to === 'h2' ? $createHeadingNode('h2') : $createParagraphNode()));
          }
        }
      });
      return '';
    }
  }
}

/** Selects text[start, end) by caret offsets (inside an update). */
function selectAt(start: number, end: number) {
  const map = $caretMap();
  const a = map.stops.get(start)!;
  const b = map.stops.get(end)!;
  const root = $getRoot();
  const selection = root.select(0, 0);
  selection.anchor.set(a.key, a.offset, a.type);
  selection.focus.set(b.key, b.offset, b.type);
  return selection;
}

function stateVector(doc: Y.Doc): Map<number, number> {
  return Y.decodeStateVector(Y.encodeStateVector(doc));
}

/** What a serialized node shows a reader; leaves out what Lexical derives from the selection or the last edit
 * (a block's `textFormat`/`textStyle`, `direction`), which a reload does not restore and no user sees. */
const SHOWN = ['type', 'tag', 'listType', 'start', 'value', 'checked', 'url', 'text', 'format', 'style', 'indent'];

function shown(node: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = {};
  for (const k of SHOWN) if (k in node) out[k] = node[k];
  if (Array.isArray(node.children)) out.children = (node.children as Record<string, unknown>[]).map(shown);
  return out;
}

/** The editor's state as plain data (no node keys), for comparing two editors. */
function editorJson(editor: FuzzEditor): string {
  return JSON.stringify(shown(editor.editor.getEditorState().toJSON().root as unknown as Record<string, unknown>));
}

/** The article's Y tree as plain data, for comparing replicas. */
function treeOf(x: Y.XmlText): unknown {
  return {
    attrs: x.getAttributes(),
    children: (x.toDelta() as { insert: unknown; attributes?: unknown }[]).map(({ insert }) => {
      if (insert instanceof Y.XmlText) return treeOf(insert);
      if (insert instanceof Y.Map) return { node: sortKeys(insert.toJSON()) };
      if (insert instanceof Y.XmlElement) return { decorator: insert.toString() };
      return insert;
    }),
  };
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The v2 article's Y tree as plain data: elements with their attributes, text runs with their attributes. */
function treeOfV2(x: Y.XmlElement): unknown {
  return {
    name: x.nodeName,
    attrs: sortKeys(x.getAttributes() as Record<string, unknown>),
    children: x.toArray().map((child) =>
      child instanceof Y.XmlText
        ? (child.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[]).map((op) => ({
            insert: op.insert,
            attributes: sortKeys(op.attributes ?? {}),
          }))
        : child instanceof Y.XmlElement
          ? treeOfV2(child)
          : String(child),
    ),
  };
}

function treeJson(doc: Y.Doc, binding: BindingKind): string {
  return JSON.stringify(binding === 'v1' ? treeOf(doc.get('root', Y.XmlText) as Y.XmlText) : treeOfV2(v2Root(doc)));
}

/** Runs a schedule and checks the invariants; never throws (a crash is a violation). */
export async function runSchedule(schedule: Schedule, options: RunOptions = {}): Promise<RunResult> {
  const binding = options.binding ?? 'v1';
  const base = await baseUpdate(binding);
  const net = new Network(schedule.editors, base, binding);
  const letters = new Letters();
  const deleted = new Set<string>();
  const edits: EditRecord[] = [];
  const violations: Violation[] = [];
  let finalText = '';
  try {
    for (const [index, step] of schedule.steps.entries()) {
      if (step.kind === 'partition') net.partition(step.groups);
      else if (step.kind === 'heal') net.heal();
      else if (step.kind === 'deliver') {
        await net.deliver(step.from % net.size, step.to % net.size, step.count, step.pick);
      } else {
        const r = step.r % net.size;
        const doc = net.docs[r]!;
        const before = stateVector(doc);
        let wrote = false;
        const onUpdate = (): void => {
          wrote = true;
        };
        doc.on('update', onUpdate);
        let removed: string;
        try {
          removed = await applyOp(net.editors[r]!, step.op, letters);
        } finally {
          doc.off('update', onUpdate);
        }
        for (const ch of removed) if (isTracked(ch)) deleted.add(ch);
        // A deletion adds no item, so the clock would not show it: a marker outside the article does, and lets
        // the classification tell which edits another replica had seen.
        if (wrote) doc.getMap('fuzz').set('edits', index);
        const clockAfter = Y.getState(doc.store, doc.clientID);
        edits.push({
          step: index,
          r,
          kind: step.op.kind === 'delete' && removed.includes('\n') ? 'merge' : step.op.kind,
          wrote,
          before,
          client: doc.clientID,
          clockAfter,
        });
      }
    }
    await net.deliverAll();
    check(net, base, deleted, violations, binding);
    finalText = docText(net.docs[0]!, binding);
  } catch (error) {
    violations.push({ invariant: 'crash', detail: String((error as Error).stack ?? error) });
  } finally {
    net.destroy();
  }
  return { violations, edits, finalText };
}

function check(net: Network, base: Uint8Array, deleted: Set<string>, out: Violation[], binding: BindingKind): void {
  // converged
  const trees = net.docs.map((d) => treeJson(d, binding));
  for (let i = 1; i < trees.length; i++) {
    if (trees[i] !== trees[0]) {
      out.push({ invariant: 'converged', detail: `replica ${i} differs from replica 0` });
      break;
    }
  }
  // editor-matches-doc
  for (let i = 0; i < net.size; i++) {
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(net.docs[i]!));
    const fresh = openEditor(copy, binding);
    try {
      const live = editorJson(net.editors[i]!);
      const reloaded = editorJson(fresh);
      if (live !== reloaded) {
        const liveText = net.editors[i]!.read(() => $getRoot().getTextContent());
        const docText = fresh.read(() => $getRoot().getTextContent());
        let at = 0;
        while (at < live.length && live[at] === reloaded[at]) at++;
        const around = (json: string): string => json.slice(Math.max(0, at - 60), at + 60);
        out.push({
          invariant: 'editor-matches-doc',
          detail:
            liveText === docText
              ? `replica ${i}: same text, editor …${around(live)}… / reload …${around(reloaded)}…`
              : `replica ${i}: editor ${JSON.stringify(liveText)} / reload ${JSON.stringify(docText)}`,
        });
      }
    } finally {
      fresh.destroy();
      copy.destroy();
    }
  }
  // letters-kept, on replica 0 (the others equal it, or `converged` says otherwise)
  const text = docText(net.docs[0]!, binding);
  const counts = new Map<string, number>();
  for (const ch of text) if (isTracked(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const expected = new Set<string>();
  const baseDoc = new Y.Doc();
  Y.applyUpdate(baseDoc, base);
  for (const ch of docText(baseDoc, binding)) if (isTracked(ch)) expected.add(ch);
  // Letters typed: every typed code point up to the highest one seen or deleted was handed out in this run.
  let maxTyped = TYPED_FIRST - 1;
  for (const ch of [...counts.keys(), ...deleted]) maxTyped = Math.max(maxTyped, ch.codePointAt(0)!);
  for (let c = TYPED_FIRST; c <= maxTyped; c++) expected.add(String.fromCodePoint(c));
  const lost: string[] = [];
  const doubled: string[] = [];
  for (const ch of expected) {
    const n = counts.get(ch) ?? 0;
    if (n > 1) doubled.push(ch);
    else if (n === 0 && !deleted.has(ch)) lost.push(ch);
  }
  if (lost.length > 0 || doubled.length > 0) {
    out.push({
      invariant: 'letters-kept',
      detail: `lost ${JSON.stringify(lost.join(''))}, doubled ${JSON.stringify(doubled.join(''))} in ${JSON.stringify(text)}`,
    });
  }
  // anchors-honest (v1 only: see BindingKind)
  if (binding !== 'v1') {
    baseDoc.destroy();
    return;
  }
  const baseText = articleText(baseDoc);
  const baseThreads = readThreads(baseDoc);
  baseDoc.destroy();
  const index = articleIndex(net.docs[0]!);
  for (const t of readThreads(net.docs[0]!, index)) {
    const original = baseThreads.find((b) => b.id === t.id);
    if (!original) continue;
    const res = resolveAnchor(index, t);
    if (res.state === 'orphan') continue;
    const own = new Set([...t.quote.exact].filter(isTracked));
    const got = [...index.text.slice(res.start, res.end)];
    const ok =
      res.state === 'exact' ? index.text.slice(res.start, res.end) === t.quote.exact : got.some((ch) => own.has(ch));
    if (!ok) {
      out.push({
        invariant: 'anchors-honest',
        detail: `thread on ${JSON.stringify(t.quote.exact)} (base ${JSON.stringify(baseText.length)} chars) resolved ${res.state} onto ${JSON.stringify(got.join(''))}`,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Known classes of failure

/** Two edits made without either having seen the other. */
function concurrent(a: EditRecord, b: EditRecord): boolean {
  const aSawB = (a.before.get(b.client) ?? 0) >= b.clockAfter;
  const bSawA = (b.before.get(a.client) ?? 0) >= a.clockAfter;
  return a.r !== b.r && !aSawB && !bSawA;
}

export interface KnownClass {
  name: string;
  /** What goes wrong and why, for the report. */
  description: string;
  /** The edits that cause it: a failing run is in the class when one of these ran concurrently with another
   * user's edit, and the same schedule without these edits passes. */
  causes: EditKind[];
  /** Instead of edits, out-of-order delivery causes it: the run is in the class when the same schedule with every
   * delivery in order passes. */
  reordering?: boolean;
}

/**
 * Failure classes of @lexical/yjs 0.52 (collab v1) that are known and not fixed yet. Each is recognised, counted and
 * reported by the fuzzer's callers, never ignored: a failing run is put in a class only when removing that class's
 * causing edits from the schedule makes it pass (they are necessary), and one of them ran concurrently with another
 * user's edit. Anything else is a new failure and fails the run.
 */
export const KNOWN_CLASSES: KnownClass[] = [
  {
    name: 'split-by-format',
    description:
      'Formatting part of a text node splits it. The patched binding writes a plain split as new maps with the ' +
      'letters left in place; a split it cannot see as one (a link, which wraps the letters in a new element; a ' +
      'split that also changes text) is still written as deleting letters and inserting copies, so two users ' +
      'doing it double the letters and a letter deleted concurrently comes back in the copy.',
    causes: ['format', 'link'],
  },
  {
    name: 'move-between-blocks',
    description:
      'Enter, paste, Backspace at a block start, a deletion over a block boundary and a block-type change move ' +
      'text nodes into another block; the binding writes a move as deleting the letters and inserting copies. ' +
      'Concurrent moves double the text, and a letter typed concurrently into a block that is removed as a whole ' +
      '(merged into the one before, or re-created with another type) goes with it.',
    causes: ['enter', 'paste', 'backspace', 'merge', 'block'],
  },
  {
    name: 'dangling-text',
    description:
      'A deletion removes a whole text node (or makes Lexical merge the text nodes around it) while another user ' +
      'types into it: the typed letters survive in the doc without their node. The patched binding keeps them ' +
      '(in the previous text node, or a new one); what remains of this class are cases where the letters land ' +
      'in a neighbouring node of another format, so an editor and a reload disagree on their format.',
    causes: ['delete'],
  },
  {
    name: 'batched-remote-changes',
    description:
      "Delivered out of order, one user's successive changes wait in Yjs until the missing one arrives and are " +
      'then integrated as one transaction (as a reconnecting client receives them); the binding applies some such ' +
      "batches to the editor differently from the author's, writes a repair, and the editors then differ from the " +
      'doc.',
    causes: [],
    reordering: true,
  },
];

export interface Classified {
  /** The known classes it belongs to (one, or several that only together cause it), or [] for a new failure. */
  known: KnownClass[];
  violations: Violation[];
}

/** The schedule with every delivery in order. */
function inOrder(schedule: Schedule): Schedule {
  return {
    editors: schedule.editors,
    steps: schedule.steps.map((s) => (s.kind === 'deliver' && s.pick !== 0 ? { ...s, pick: 0 } : s)),
  };
}

/** The schedule without the edits at the given step indexes (positions are modular, so the rest still applies). */
function withoutSteps(schedule: Schedule, steps: Set<number>): Schedule {
  return { editors: schedule.editors, steps: schedule.steps.filter((_, i) => !steps.has(i)) };
}

export async function classify(schedule: Schedule, result: RunResult, options: RunOptions = {}): Promise<Classified> {
  const causing = (classes: KnownClass[]): EditRecord[] =>
    result.edits.filter(
      (a) =>
        a.wrote &&
        classes.some((k) => k.causes.includes(a.kind)) &&
        result.edits.some((b) => b !== a && b.wrote && concurrent(a, b)),
    );
  const tries: KnownClass[][] = [...KNOWN_CLASSES.map((k) => [k]), KNOWN_CLASSES];
  for (const classes of tries) {
    if (classes.length === 0) continue;
    let ablated: Schedule = schedule;
    if (classes.some((k) => k.reordering)) ablated = inOrder(ablated);
    if (classes.some((k) => k.causes.length > 0)) {
      if (causing(classes).length === 0 && !classes.some((k) => k.reordering)) continue;
      const removed = new Set(
        result.edits.filter((e) => classes.some((k) => k.causes.includes(e.kind))).map((e) => e.step),
      );
      ablated = withoutSteps(ablated, removed);
    }
    if (ablated === schedule) continue;
    const rerun = await runSchedule(ablated, options);
    if (rerun.violations.length === 0) return { known: classes, violations: result.violations };
  }
  return { known: [], violations: result.violations };
}

export function describeSchedule(schedule: Schedule): string {
  return JSON.stringify(schedule);
}
