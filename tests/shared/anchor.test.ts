import { afterEach, describe, expect, it } from '@jest/globals';
import * as Y from 'yjs';
import { createUndoManager } from '@lexical/yjs';
import {
  AnchorError,
  MOVE_THRESHOLDS,
  anchorFromOffsets,
  anchorFromQuote,
  articleIndex,
  articleText,
  findQuote,
  quoteAt,
  reattachThread,
  readThread,
  resolveAnchor,
  rootText,
  createThread,
  similarity,
} from '@marginalia/shared';
import { $toggleLink } from '@lexical/link';
import { $createRangeSelection, $setSelection } from 'lexical';
import {
  $caretMap,
  articleDoc,
  deleteRange,
  formatRange,
  insertTextAt,
  openArticleEditor,
  splitBlockAt,
  type ArticleEditor,
} from '../support/lexical.js';
import { thrownBy } from '../support/errors.js';

const ARTICLE = [
  'Afghanistan After Takeover Of Taliban: Relationships Between Kandahar And Islamabad',
  'The fall of the Taliban regime in Afghanistan in 2001 marked a turning point in the country’s history.',
  'Pakistan, under the leadership of former Prime Minister Imran Khan, lobbied for the recognition of the Taliban.',
  'The Tehrik-i-Taliban Pakistan (TTP) resettled in Khyber Pakhtunkhwa. The TTP remains a threat.',
  'One thought on “Afghanistan After Takeover Of Taliban: Relationships Between Kandahar And Islamabad”',
].join('\n\n');

const opened: { doc: Y.Doc; editor: ArticleEditor }[] = [];
async function open(content = ARTICLE) {
  const doc = await articleDoc(content);
  const editor = openArticleEditor(doc);
  opened.push({ doc, editor });
  return { doc, editor };
}
afterEach(() => {
  for (const { doc, editor } of opened.splice(0)) {
    editor.destroy();
    doc.destroy();
  }
});

function spanOf(text: string, needle: string, nth = 0): [number, number] {
  let at = -1;
  for (let i = 0; i <= nth; i++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`${needle} not in text`);
  return [at, at + needle.length];
}

describe('quoteAt', () => {
  it('keeps the exact text with 32 characters of context either side', () => {
    const text = 'a'.repeat(40) + 'QUOTE' + 'b'.repeat(40);
    expect(quoteAt(text, 40, 45)).toEqual({ exact: 'QUOTE', prefix: 'a'.repeat(32), suffix: 'b'.repeat(32) });
    expect(quoteAt('xxQUOTEyy', 2, 7)).toEqual({ exact: 'QUOTE', prefix: 'xx', suffix: 'yy' });
  });

  it('never cuts a surrogate pair in half at the edge of the context', () => {
    const text = '😀'.repeat(20) + 'Q' + '😀'.repeat(20);
    const q = quoteAt(text, 40, 41);
    expect(q.prefix.length % 2).toBe(0);
    expect(q.suffix.length % 2).toBe(0);
  });
});

describe('anchorFromOffsets', () => {
  it('anchors a span and records its quote', async () => {
    const { doc } = await open();
    const [s, e] = spanOf(articleText(doc), 'turning point');
    const a = anchorFromOffsets(doc, s, e);
    expect(a.quote.exact).toBe('turning point');
    expect(resolveAnchor(doc, a)).toEqual({ state: 'exact', start: s, end: e });
  });

  it('drops the blank line between blocks at the edges of a span', async () => {
    const { doc } = await open();
    const text = articleText(doc);
    const [, e] = spanOf(text, 'Islamabad');
    const a = anchorFromOffsets(doc, e, e + 2 + 3); // "\n\nThe"
    expect(a.quote.exact).toBe('The');
    expect(a.start).toBe(e + 2);
  });

  it.each([
    ['out-of-range', -1, 3],
    ['out-of-range', 5, 4],
    ['out-of-range', 0, 1e9],
    ['out-of-range', 0.5, 3],
    ['empty', 7, 7],
  ])('throws AnchorError %s for span %p..%p', async (reason, s, e) => {
    const { doc } = await open();
    const err = thrownBy(() => anchorFromOffsets(doc, s, e));
    expect(err).toBeInstanceOf(AnchorError);
    expect(err).toMatchObject({ reason, code: 'invalid' });
  });

  it('throws AnchorError empty for the blank line between blocks and whitespace for spaces only', async () => {
    const { doc } = await open();
    const [, e] = spanOf(articleText(doc), 'Islamabad');
    expect(thrownBy(() => anchorFromOffsets(doc, e, e + 2))).toMatchObject({ reason: 'empty' });
    const space = articleText(doc).indexOf(' ');
    expect(thrownBy(() => anchorFromOffsets(doc, space, space + 1))).toMatchObject({ reason: 'whitespace' });
  });
});

describe('findQuote', () => {
  const text = 'the cat sat on the mat; the cat ran to the hat';

  it('finds a quote that occurs once', () => {
    expect(findQuote(text, { exact: 'mat' })).toEqual({ start: 19, end: 22 });
  });

  it('reports not-found for a quote that does not occur, or an empty one', () => {
    expect(findQuote(text, { exact: 'dog' })).toEqual({ error: 'not-found' });
    expect(findQuote(text, { exact: '' })).toEqual({ error: 'not-found' });
  });

  it('reports ambiguous for a repeated quote without context that singles one out', () => {
    expect(findQuote(text, { exact: 'the cat' })).toEqual({ error: 'ambiguous' });
    expect(findQuote(text, { exact: 'the cat', prefix: 'zzz ' })).toEqual({ error: 'ambiguous' });
  });

  it('lets prefix or suffix single out one occurrence', () => {
    expect(findQuote(text, { exact: 'the cat', prefix: 'mat; ' })).toEqual({ start: 24, end: 31 });
    expect(findQuote(text, { exact: 'the cat', suffix: ' sat' })).toEqual({ start: 0, end: 7 });
  });

  it('breaks a tie by nearness to the hint when one is given', () => {
    expect(findQuote(text, { exact: 'the cat' }, 30)).toEqual({ start: 24, end: 31 });
  });
});

describe('anchorFromQuote', () => {
  it('anchors a verbatim quote, and throws quote-not-found / quote-ambiguous otherwise', async () => {
    const { doc } = await open();
    expect(anchorFromQuote(doc, { exact: 'turning point' }).quote.exact).toBe('turning point');
    expect(thrownBy(() => anchorFromQuote(doc, { exact: 'not in the article' }))).toMatchObject({
      reason: 'quote-not-found',
    });
    expect(thrownBy(() => anchorFromQuote(doc, { exact: 'Taliban' }))).toMatchObject({ reason: 'quote-ambiguous' });
    expect(anchorFromQuote(doc, { exact: 'Taliban', suffix: ' regime' }).quote.suffix.startsWith(' regime')).toBe(true);
  });
});

describe('resolveAnchor', () => {
  async function annotated(needle: string, nth = 0) {
    const { doc, editor } = await open();
    const [s, e] = spanOf(articleText(doc), needle, nth);
    const thread = anchorFromOffsets(doc, s, e);
    return { doc, editor, thread, s, e };
  }

  it('is exact after edits elsewhere, at the shifted offsets', async () => {
    const { doc, editor, thread, s, e } = await annotated('turning point');
    await insertTextAt(editor, 0, 'Breaking: ');
    await deleteRange(editor, articleText(doc).length - 5, articleText(doc).length);
    expect(resolveAnchor(doc, thread)).toEqual({ state: 'exact', start: s + 10, end: e + 10 });
  });

  it('keeps text typed right before or after the passage outside it', async () => {
    const { doc, editor, thread, s, e } = await annotated('turning point');
    await insertTextAt(editor, e, '!');
    await insertTextAt(editor, s, '¡');
    const r = resolveAnchor(doc, thread);
    expect(r).toEqual({ state: 'exact', start: s + 1, end: e + 1 });
  });

  it('is exact on the same words after they are made a link (Lexical re-creates the letters it wraps)', async () => {
    const { doc, editor, thread, s, e } = await annotated('turning point');
    await editor.update(() => {
      const map = $caretMap();
      const selection = $createRangeSelection();
      const [a, b] = [map.stops.get(s + 3)!, map.stops.get(e)!];
      selection.anchor.set(a.key, a.offset, a.type);
      selection.focus.set(b.key, b.offset, b.type);
      $setSelection(selection);
      $toggleLink('https://example.org/');
    });
    expect(resolveAnchor(doc, thread)).toEqual({ state: 'exact', start: s, end: e });
  });

  it('stays exact after the words are bolded (the patched binding keeps the letters it formats)', async () => {
    const { doc, editor, thread, s, e } = await annotated('turning point');
    await formatRange(editor, s + 3, e, 'bold');
    expect(resolveAnchor(doc, thread)).toEqual({ state: 'exact', start: s, end: e });
  });

  it('is moved across a paragraph split inside the passage', async () => {
    const { doc, editor, thread, s, e } = await annotated('marked a turning point in');
    await splitBlockAt(editor, s + 9);
    const r = resolveAnchor(doc, thread);
    expect(r).toMatchObject({ state: 'moved', start: s, end: e + 2 });
  });

  it('is moved onto a lightly edited passage, within the quote threshold', async () => {
    const { doc, editor, thread, s } = await annotated('leadership of former Prime Minister Imran Khan');
    await formatRange(editor, s, s + 10, 'italic');
    await insertTextAt(editor, s + 21, 'then-');
    const r = resolveAnchor(doc, thread);
    expect(r.state).toBe('moved');
    const text = articleText(doc);
    expect(similarity(text.slice(r.start!, r.end!), thread.quote.exact)).toBeGreaterThanOrEqual(
      MOVE_THRESHOLDS.minQuoteSimilarity,
    );
  });

  it('is an orphan once the passage is deleted, even though the same words occur elsewhere', async () => {
    const { doc, editor, thread, s, e } = await annotated('Relationships Between Kandahar And Islamabad');
    await deleteRange(editor, s, e);
    expect(articleText(doc)).toContain('Relationships Between Kandahar And Islamabad”'); // the copy at the end
    expect(resolveAnchor(doc, thread)).toEqual({ state: 'orphan', start: null, end: null });
  });

  it('is an orphan once the passage is rewritten beyond the threshold', async () => {
    const { doc, editor, thread, s, e } = await annotated('turning point');
    await deleteRange(editor, s, e);
    await insertTextAt(editor, s, 'watershed');
    expect(resolveAnchor(doc, thread).state).toBe('orphan');
  });

  it('does not move a short quote onto a neighbouring look-alike', async () => {
    const { doc, editor, thread, s, e } = await annotated('TTP', 1);
    await deleteRange(editor, s, e);
    expect(resolveAnchor(doc, thread).state).toBe('orphan');
  });

  it('finds a passage by its verbatim quote (exact) when the stored positions are unreadable', async () => {
    const { doc, thread, s, e } = await annotated('turning point');
    const broken = { ...thread, anchor: { start: '!!', end: '??' } };
    expect(resolveAnchor(doc, broken)).toEqual({ state: 'exact', start: s, end: e });
  });

  it('takes no far look-alike for a passage near the start: its short prefix reached the start of the article', async () => {
    // The title is repeated at the end ("One thought on “Afghanistan After…”"); "hanistan" in the first one has
    // only "Afg" before it, which the copy at the end has too.
    const { doc, editor, thread } = await annotated('hanistan');
    expect(thread.quote.prefix).toBe('Afg');
    // Positions lost (both blocks gone): found only far, verbatim, in context. Words typed before it break its
    // prefix; the copy at the end agrees with "Afg" but not with the start of the article before it.
    await insertTextAt(editor, 3, 'zorbit ');
    const lost = { ...thread, anchor: { start: '!!', end: '??' } };
    expect(resolveAnchor(doc, lost)).toEqual({ state: 'orphan', start: null, end: null });
  });

  it('resolves many anchors against one index', async () => {
    const { doc, thread, s, e } = await annotated('turning point');
    const index = articleIndex(doc);
    for (let i = 0; i < 3; i++) expect(resolveAnchor(index, thread)).toEqual({ state: 'exact', start: s, end: e });
  });
});

describe('resolveAnchor: a passage part of which is deleted stays on what remains', () => {
  const PASSAGE = 'leadership of former Prime Minister Imran Khan';

  async function annotated(needle = PASSAGE) {
    const { doc, editor } = await open();
    const [s, e] = spanOf(articleText(doc), needle);
    return { doc, editor, thread: anchorFromOffsets(doc, s, e), s, e };
  }

  /** The resolved anchor and the text it is drawn on. */
  function placed(doc: Y.Doc, thread: ReturnType<typeof anchorFromOffsets>) {
    const r = resolveAnchor(doc, thread);
    return { state: r.state, text: r.start === null ? null : articleText(doc).slice(r.start, r.end) };
  }

  it('after its first words are deleted', async () => {
    const { doc, editor, thread, s } = await annotated();
    await deleteRange(editor, s, s + 'leadership of former '.length);
    expect(articleText(doc)).toContain('under the Prime Minister Imran Khan,');
    expect(placed(doc, thread)).toEqual({ state: 'moved', text: 'Prime Minister Imran Khan' });
  });

  it('after its last words are deleted, also with the text after them', async () => {
    const { doc, editor, thread, e } = await annotated();
    await deleteRange(editor, e - ' Minister Imran Khan'.length, e + ', lobbied'.length);
    expect(placed(doc, thread)).toEqual({ state: 'moved', text: 'leadership of former Prime' });
  });

  it('after words in its middle are deleted', async () => {
    const { doc, editor, thread, s } = await annotated();
    const from = s + 'leadership of '.length;
    await deleteRange(editor, from, from + 'former Prime Minister '.length);
    expect(placed(doc, thread)).toEqual({ state: 'moved', text: 'leadership of Imran Khan' });
  });

  it('an overlapping thread stays on its own words when the other passage is deleted', async () => {
    const { doc, editor } = await open();
    const [as, ae] = spanOf(articleText(doc), 'fall of the Taliban regime');
    const [bs, be] = spanOf(articleText(doc), 'Taliban regime in Afghanistan in 2001');
    const a = anchorFromOffsets(doc, as, ae);
    const b = anchorFromOffsets(doc, bs, be);
    await deleteRange(editor, as, ae);
    expect(articleText(doc)).toContain('The  in Afghanistan in 2001 marked');
    expect(placed(doc, a)).toEqual({ state: 'orphan', text: null });
    expect(placed(doc, b)).toEqual({ state: 'moved', text: 'in Afghanistan in 2001' });
  });

  it('returns to exact when the deleted words are typed back', async () => {
    const { doc, editor, thread, s, e } = await annotated();
    await deleteRange(editor, s, s + 'leadership '.length);
    expect(placed(doc, thread).state).toBe('moved');
    await insertTextAt(editor, s, 'leadership ');
    expect(resolveAnchor(doc, thread)).toEqual({ state: 'exact', start: s, end: e });
  });

  it('is an orphan once nothing of it is left, or only letters that are not its own', async () => {
    const { doc, editor, thread, s, e } = await annotated();
    await deleteRange(editor, s, e);
    expect(placed(doc, thread)).toEqual({ state: 'orphan', text: null });
    await insertTextAt(editor, s, 'zzz qqq');
    expect(placed(doc, thread)).toEqual({ state: 'orphan', text: null });
  });
});

describe('reattachThread', () => {
  it('puts an orphan on a new passage, where it is exact', async () => {
    const { doc, editor } = await open();
    const [s, e] = spanOf(articleText(doc), 'turning point');
    const { threadId } = createThread(doc, { start: s, end: e, createdBy: 'u-ada', authorName: 'Ada', body: 'Why?' });
    await deleteRange(editor, s, e);
    expect(resolveAnchor(doc, readThread(doc, threadId)!).state).toBe('orphan');
    const [ns, ne] = spanOf(articleText(doc), 'Khyber Pakhtunkhwa');
    reattachThread(doc, threadId, { start: ns, end: ne });
    const moved = readThread(doc, threadId)!;
    expect(moved.quote.exact).toBe('Khyber Pakhtunkhwa');
    expect(resolveAnchor(doc, moved)).toEqual({ state: 'exact', start: ns, end: ne });
    // By a verbatim quote, too; and a passage that cannot be anchored changes nothing.
    reattachThread(doc, threadId, { exact: 'Imran Khan' });
    expect(readThread(doc, threadId)!.quote.exact).toBe('Imran Khan');
    expect(thrownBy(() => reattachThread(doc, threadId, { exact: 'not in the article' }))).toBeInstanceOf(AnchorError);
    expect(readThread(doc, threadId)!.quote.exact).toBe('Imran Khan');
  });
});

describe('resolveAnchor: an edit undone (Y.UndoManager, as the client binds it) leaves the passage exact', () => {
  /**
   * An editor with the undo manager the client's CollaborationPlugin makes, and a second replica that receives
   * every update (as the server and the other clients do: Yjs tells only the replica that undid which new letters
   * restore which deleted ones).
   */
  async function undoable(needle: string) {
    const { doc, editor } = await open();
    const replica = new Y.Doc();
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(doc));
    doc.on('update', (update: Uint8Array) => Y.applyUpdate(replica, update));
    const undo = createUndoManager(editor.binding, rootText(doc));
    const [s, e] = spanOf(articleText(doc), needle);
    const thread = anchorFromOffsets(doc, s, e);
    const undoAll = async () => {
      undo.stopCapturing();
      while (undo.undoStack.length > 0) {
        undo.undo();
        await editor.settle();
      }
    };
    return { doc, editor, replica, thread, s, e, undoAll };
  }

  it.each([
    ['a word typed inside it', (ed: ArticleEditor, s: number) => insertTextAt(ed, s + 'leadership of '.length, 'the ')],
    [
      'its first word typed over',
      async (ed: ArticleEditor, s: number) => {
        await ed.update(() => {
          const map = $caretMap();
          const [a, b] = [map.stops.get(s)!, map.stops.get(s + 'leadership'.length)!];
          const selection = $createRangeSelection();
          selection.anchor.set(a.key, a.offset, a.type);
          selection.focus.set(b.key, b.offset, b.type);
          $setSelection(selection);
          selection.insertText('guidance');
        });
      },
    ],
    ['its last word deleted', (ed: ArticleEditor, _s: number, e: number) => deleteRange(ed, e - ' Khan'.length, e)],
    ['Enter pressed inside it', (ed: ArticleEditor, s: number) => splitBlockAt(ed, s + 'leadership of '.length)],
    ['all of it deleted', (ed: ArticleEditor, s: number, e: number) => deleteRange(ed, s, e)],
  ])('%s, then undone', async (_name, change) => {
    const { doc, editor, replica, thread, s, e, undoAll } = await undoable(
      'leadership of former Prime Minister Imran Khan',
    );
    const before = articleText(doc);
    await change(editor, s, e);
    expect(resolveAnchor(doc, thread).state).not.toBe('exact');
    await undoAll();
    expect(articleText(doc)).toBe(before);
    expect(articleText(replica)).toBe(before);
    expect(resolveAnchor(doc, thread)).toEqual({ state: 'exact', start: s, end: e });
    expect(resolveAnchor(replica, thread)).toEqual({ state: 'exact', start: s, end: e });
  });
});
