/**
 * A new revision of the article, applied as the smallest edit: the current article and the new one are compared
 * block by block (jsdiff's diffArrays over the blocks' texts), blocks that changed are paired with the most similar
 * new block and edited word by word (diffWordsWithSpace), blocks that went are deleted and new ones inserted.
 * Only the changed spans are touched, so the characters of unchanged passages stay the same Yjs items, and the
 * anchors of threads on them (RelativePositions) stay exact; anchors on changed passages re-find their quote
 * (moved) or become orphans by the usual rules (shared/src/anchor.ts).
 *
 * The edit is made by a headless Lexical editor on a COPY of the document's article (a live server document never
 * has an editor bound to it: article/headless.ts; the threads are left out of the copy, article-copy.ts), under a
 * client id of its own; the caller stores the difference through the live document's write path, so connected
 * clients receive it as any other change.
 */
import * as Y from 'yjs';
import { $createParagraphNode, $getRoot } from 'lexical';
import { diffArrays } from 'diff';
import {
  articleBlocks,
  articleIndex,
  articleText,
  readThreadHead,
  resolveAnchor,
  threadsMap,
} from '@marginalia/shared';
import { openArticleEditor, type ArticleEditor } from '../article/headless.js';
import { deleteRange, insertRawTextAt, splitBlockAt } from '../article/edit.js';
import { importArticle, type ArticleFormat } from '../article/import.js';
import { wordReplacements } from './word-changes.js';
import { articleCopy } from './article-copy.js';

export interface AnchorCounts {
  exact: number;
  moved: number;
  orphaned: number;
}

export interface Revision {
  /** What changed, as one Yjs update written under `clientId` (empty of structs when nothing changed). */
  update: Uint8Array;
  /** The article's text after the revision. */
  text: string;
  /** Where the threads' anchors resolve after it (zeros when not counted). */
  anchors: AnchorCounts;
  /** Whether the article changed at all. */
  changed: boolean;
}

/** The texts of the article's blocks (as `articleText` joins them with "\n\n"). */
export function blockTexts(doc: Y.Doc): string[] {
  return articleBlocks(doc).map((b) => b.runs.map((r) => r.text).join(''));
}

/** The blocks of an article given as text, Markdown or HTML (ImportError when it holds no article). */
export async function revisionBlocks(format: ArticleFormat, content: string): Promise<string[]> {
  const doc = new Y.Doc();
  try {
    await importArticle(doc, format, content);
    return blockTexts(doc);
  } finally {
    doc.destroy();
  }
}

/**
 * Where the threads of `doc` resolve in the article of `article` (by default `doc` itself): the threads' anchors
 * are RelativePositions into the article's items, which a copy of the article holds under the same ids. Reads
 * only what resolving needs (not the comments), with one article index for all.
 */
export function anchorCounts(doc: Y.Doc, article: Y.Doc = doc): AnchorCounts {
  const counts: AnchorCounts = { exact: 0, moved: 0, orphaned: 0 };
  const index = articleIndex(article);
  threadsMap(doc).forEach((value) => {
    const thread = value instanceof Y.Map ? readThreadHead(value) : null;
    if (!thread) return;
    const state = resolveAnchor(index, thread).state;
    if (state === 'exact') counts.exact++;
    else if (state === 'moved') counts.moved++;
    else counts.orphaned++;
  });
  return counts;
}

/**
 * Revises the article of `source` (a document, or a document's full state) to hold the blocks `target`, writing
 * under `clientId`. Nothing is changed anywhere: the result says what to store. The edit is made on a copy of the
 * article alone; the anchors are counted (unless `countAnchors` is false) with the threads of `source` resolved in
 * the revised copy. `source` is only read: synchronously at the start, and when counting.
 */
export async function reviseArticle(
  source: Y.Doc | Uint8Array,
  target: readonly string[],
  clientId: number,
  opts: { countAnchors?: boolean } = {},
): Promise<Revision> {
  let doc: Y.Doc;
  if (source instanceof Y.Doc) {
    doc = source;
  } else {
    doc = new Y.Doc({ gc: false });
    Y.applyUpdate(doc, source);
  }
  const copy = articleCopy(doc);
  copy.clientID = clientId;
  // What the revision writes, transaction by transaction (never the copy's whole state: see article-copy.ts).
  const updates: Uint8Array[] = [];
  copy.on('update', (u: Uint8Array) => updates.push(u));
  try {
    const editor = openArticleEditor(copy, { id: `revision-${clientId}` });
    try {
      await applyPlan(editor, planEdits(layout(copy), target));
      await editor.settle();
    } finally {
      editor.destroy();
    }
    const update = updates.length ? Y.mergeUpdates(updates) : Y.encodeStateAsUpdate(new Y.Doc());
    const text = articleText(copy);
    // Resolving every thread is the costly part on a large document: skipped when the caller counts elsewhere.
    const anchors = opts.countAnchors === false ? { exact: 0, moved: 0, orphaned: 0 } : anchorCounts(doc, copy);
    return { update, text, anchors, changed: updates.length > 0 };
  } finally {
    copy.destroy();
    if (doc !== source) doc.destroy();
  }
}

interface Block {
  text: string;
  start: number;
  end: number;
}

function layout(doc: Y.Doc): Block[] {
  return articleBlocks(doc).map((b) => {
    const text = b.runs.map((r) => r.text).join('');
    return { text, start: b.start, end: b.start + text.length };
  });
}

/** One edit, in the coordinates of the article before the revision. Applied from the end backwards. */
type Edit =
  | { kind: 'replace'; start: number; end: number; text: string }
  | { kind: 'remove-block'; start: number; end: number; first?: boolean }
  | { kind: 'insert-blocks'; at: number; before: boolean; texts: string[] };

/** How alike two blocks are: the share of the longer one's characters in words they have in common. */
function similarity(a: string, b: string): number {
  if (a === b) return 1;
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1;
  const removed = wordReplacements(a, b).reduce((n, r) => n + r.removed.length, 0);
  return (a.length - removed) / longer;
}

const PAIR_THRESHOLD = 0.4;

function planEdits(old: Block[], target: readonly string[]): Edit[] {
  const edits: Edit[] = [];
  const oldTexts = old.map((b) => b.text);
  let o = 0;
  let n = 0;
  const changes = diffArrays(oldTexts, [...target]);
  for (let c = 0; c < changes.length; c++) {
    const change = changes[c]!;
    if (!change.added && !change.removed) {
      o += change.count;
      n += change.count;
      continue;
    }
    // A run of removed and added blocks (in either order): pair each added block with the most similar removed
    // one after the last paired, in order; the rest are removed or inserted.
    let removed = 0;
    let added = 0;
    while (c < changes.length && (changes[c]!.added || changes[c]!.removed)) {
      if (changes[c]!.removed) removed += changes[c]!.count;
      else added += changes[c]!.count;
      c++;
    }
    c--;
    const pairedWith = new Map<number, number>(); // old index -> new index
    let next = o;
    for (let k = n; k < n + added; k++) {
      let best = -1;
      let bestScore = PAIR_THRESHOLD;
      for (let j = next; j < o + removed; j++) {
        const score = similarity(old[j]!.text, target[k]!);
        if (score > bestScore) {
          best = j;
          bestScore = score;
        }
      }
      if (best >= 0) {
        pairedWith.set(best, k);
        next = best + 1;
      }
    }
    // Walk the new blocks in order; each unpaired one is inserted after the last surviving old block before it.
    let lastSurvivor = o - 1;
    const pending: string[] = [];
    const flushInsert = () => {
      if (!pending.length) return;
      edits.push(insertAfter(old, lastSurvivor, pending.splice(0)));
    };
    const newToOld = new Map([...pairedWith].map(([j, k]) => [k, j]));
    for (let k = n; k < n + added; k++) {
      const j = newToOld.get(k);
      if (j === undefined) {
        pending.push(target[k]!);
        continue;
      }
      flushInsert();
      lastSurvivor = j;
      edits.push(...wordEdits(old[j]!, target[k]!));
    }
    flushInsert();
    for (let j = o; j < o + removed; j++) if (!pairedWith.has(j)) edits.push(removeBlock(old, j));
    o += removed;
    n += added;
  }
  return edits;
}

function insertAfter(old: Block[], index: number, texts: string[]): Edit {
  if (index >= 0) return { kind: 'insert-blocks', at: old[index]!.end, before: false, texts };
  return { kind: 'insert-blocks', at: 0, before: true, texts };
}

/**
 * A block's removal: from the end of the block before it to its own end, so the block before keeps its node and
 * the block after is untouched. The first block is emptied, then its node removed (deleting up to the next
 * block's start would merge that block into it, moving its text).
 */
function removeBlock(old: Block[], j: number): Edit {
  if (j > 0) return { kind: 'remove-block', start: old[j - 1]!.end, end: old[j]!.end };
  return { kind: 'remove-block', start: 0, end: old[0]!.end, first: old.length > 1 };
}

function wordEdits(block: Block, text: string): Edit[] {
  // Offsets into the current article: each edit is applied from the last to the first (see applyPlan).
  return wordReplacements(block.text, text).map(({ atOld, removed, added }) => ({
    kind: 'replace',
    start: block.start + atOld,
    end: block.start + atOld + removed.length,
    text: added,
  }));
}

/** Applies edits from the end of the article backwards, so each one's offsets are still those of the old text. */
async function applyPlan(editor: ArticleEditor, edits: Edit[]): Promise<void> {
  const key = (e: Edit) => (e.kind === 'insert-blocks' ? e.at : e.start);
  // At one offset, block edits go first: an insertion after a block splits at its end before words are added there.
  // Blocks put before the first one go last: the first block's own word edits at offset 0 are made while it still
  // starts there.
  const rank = (e: Edit) => (e.kind === 'remove-block' ? 0 : e.kind === 'insert-blocks' ? (e.before ? 3 : 1) : 2);
  const ordered = [...edits].sort((a, b) => key(b) - key(a) || rank(a) - rank(b));
  // The first block's node, when every other block went too: emptied but kept (the root needs a block), then
  // filled by the last of the blocks put before it.
  let emptiedFirst = false;
  for (const e of ordered) {
    if (e.kind === 'replace') {
      if (e.end > e.start) await deleteRange(editor, e.start, e.end);
      if (e.text) await insertRawTextAt(editor, e.start, e.text);
    } else if (e.kind === 'remove-block') {
      if (e.end > e.start) await deleteRange(editor, e.start, e.end);
      if (e.first) {
        await editor.update(() => {
          const root = $getRoot();
          if (root.getChildrenSize() > 1) root.getFirstChild()?.remove();
          else emptiedFirst = true;
        });
      }
    } else if (e.before) {
      // New blocks before the first: an empty paragraph is put before it (splitting the first block at its start
      // would move its text into a new node), then filled, last first.
      for (const text of [...e.texts].reverse()) {
        if (emptiedFirst) {
          emptiedFirst = false;
          if (text) await insertRawTextAt(editor, 0, text);
          continue;
        }
        await editor.update(() => {
          const root = $getRoot();
          const paragraph = $createParagraphNode();
          const first = root.getFirstChild();
          if (first) first.insertBefore(paragraph);
          else root.append(paragraph);
        });
        if (text) await insertRawTextAt(editor, 0, text);
      }
    } else {
      for (const text of [...e.texts].reverse()) {
        await splitBlockAt(editor, e.at);
        if (text) await insertRawTextAt(editor, e.at + 2, text);
      }
    }
  }
}
