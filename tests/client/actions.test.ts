/**
 * The client's user actions, run against a real Y.Doc through shared's mutators: what each one writes to the
 * document, what it does to the view state, and that a change the model refuses comes back as a message to
 * show instead of an exception.
 */
import { describe, expect, test } from '@jest/globals';
import { TEXT_LIMITS, articleIndex, readThread, readThreads, readVocabulary, type Thread } from '@marginalia/shared';
import { documentActions, type ActionContext } from '../../client/src/views/document/actions.js';
import { UiStore } from '../../client/src/views/document/uiStore.js';
import { articleDoc } from '../support/lexical.js';

const ARTICLE = 'The harbour master kept two ledgers.\n\nNobody knows which of the two the council believed.';
const USER = { id: 'user-ada', name: 'Ada' };

async function setUp() {
  const doc = await articleDoc(ARTICLE);
  const ui = new UiStore();
  let withdrawn = 0;
  const pending: string[] = [];
  const focused: string[] = [];
  let refreshed = 0;
  const context: ActionContext = {
    doc,
    user: USER,
    ui,
    withdrawSelection: () => (withdrawn += 1),
    markPending: (threadId) => pending.push(threadId),
    refresh: () => (refreshed += 1),
    focusThread: (threadId) => focused.push(threadId),
  };
  const actions = documentActions(context);
  const index = articleIndex(doc);
  /** Drafts a thread on the first occurrence of `passage` and posts it. */
  const post = (passage: string, body: string, tags: string[] = []): Thread => {
    const start = index.text.indexOf(passage);
    expect(actions.startThread(index, start, start + passage.length)).toBeUndefined();
    expect(actions.postThread(ui.getState().draft!, body, tags)).toBeUndefined();
    return readThreads(doc).find((t) => t.quote.exact === passage)!;
  };
  return { doc, ui, actions, index, pending, focused, withdrawn: () => withdrawn, refreshed: () => refreshed, post };
}

describe('document actions', () => {
  test('starting a thread drafts the selected passage and clears the active thread', async () => {
    const { ui, actions, index } = await setUp();
    ui.set({ activeThreadId: 'some-thread' });
    const start = index.text.indexOf('two ledgers');
    expect(actions.startThread(index, start, start + 'two ledgers'.length)).toBeUndefined();
    expect(ui.getState().draft?.quote.exact).toBe('two ledgers');
    expect(ui.getState().activeThreadId).toBeNull();
  });

  test('a passage with no article text is refused with a message, and no draft is opened', async () => {
    const { ui, actions, index } = await setUp();
    const gap = index.text.indexOf('\n\n');
    expect(actions.startThread(index, gap, gap + 2)).toEqual(expect.any(String));
    expect(ui.getState().draft).toBeNull();
  });

  test('posting writes the thread with its first comment and tags, then activates and focuses it', async () => {
    const { doc, ui, post, pending, focused, withdrawn, refreshed } = await setUp();
    const thread = post('two ledgers', 'Which two?', ['question']);
    expect(thread.comments.map((c) => [c.authorId, c.authorName, c.body])).toEqual([
      [USER.id, USER.name, 'Which two?'],
    ]);
    expect(thread.tags).toEqual(['question']);
    expect(thread.createdBy).toBe(USER.id);
    expect(readThread(doc, thread.id)?.status).toBe('open');
    expect(ui.getState()).toMatchObject({ draft: null, activeThreadId: thread.id });
    expect(pending).toEqual([thread.id]);
    expect(focused).toEqual([thread.id]);
    expect(withdrawn()).toBe(1);
    expect(refreshed()).toBe(1);
  });

  test('a comment or passage longer than the server accepts is refused with a message, and nothing is written', async () => {
    const { doc, ui, actions, index, post } = await setUp();
    const thread = post('two ledgers', 'Which two?');
    const before = readThreads(doc);
    const long = 'x'.repeat(TEXT_LIMITS.body + 1);
    expect(actions.reply(thread.id, long)).toMatch(/at most 20,000 characters/);
    expect(actions.editComment(thread.id, thread.comments[0]!.id, 'Which two?', long)).toMatch(/at most 20,000/);
    const start = index.text.indexOf('Nobody');
    actions.startThread(index, start, start + 6);
    expect(actions.postThread(ui.getState().draft!, long, [])).toMatch(/at most 20,000/);
    expect(ui.getState().draft).not.toBeNull();
    expect(readThreads(doc)).toEqual(before);
    // a passage past the limit: the article here is short, so the offsets stand for a long selection
    expect(actions.startThread(index, 0, TEXT_LIMITS.quote + 1)).toMatch(/select less/);
  });

  test('an empty comment is refused with a message and leaves the draft open', async () => {
    const { doc, ui, actions, index } = await setUp();
    const start = index.text.indexOf('two ledgers');
    actions.startThread(index, start, start + 'two ledgers'.length);
    expect(actions.postThread(ui.getState().draft!, '   ', [])).toEqual(expect.any(String));
    expect(readThreads(doc)).toHaveLength(0);
    expect(ui.getState().draft).not.toBeNull();
  });

  test('cancelling a draft closes it and withdraws the published passage', async () => {
    const { ui, actions, index, withdrawn } = await setUp();
    const start = index.text.indexOf('two ledgers');
    actions.startThread(index, start, start + 'two ledgers'.length);
    actions.cancelThread();
    expect(ui.getState().draft).toBeNull();
    expect(withdrawn()).toBe(1);
  });

  test('a closed draft keeps its unsent text and tags unless discarded; posting clears them', async () => {
    const { ui, actions, index } = await setUp();
    const start = index.text.indexOf('two ledgers');
    actions.startThread(index, start, start + 'two ledgers'.length);
    ui.set({ composerText: 'Half a thought', composerTags: ['evidence'] });
    actions.cancelThread();
    expect(ui.getState()).toMatchObject({ draft: null, composerText: 'Half a thought', composerTags: ['evidence'] });
    actions.startThread(index, start, start + 'two ledgers'.length);
    expect(ui.getState().composerText).toBe('Half a thought');
    actions.cancelThread(true);
    expect(ui.getState()).toMatchObject({ draft: null, composerText: '', composerTags: [] });
    actions.startThread(index, start, start + 'two ledgers'.length);
    ui.set({ composerText: 'Whole thought' });
    expect(actions.postThread(ui.getState().draft!, 'Whole thought', [])).toBeUndefined();
    expect(ui.getState().composerText).toBe('');
  });

  test('a reply is appended by the current user and marks the thread pending', async () => {
    const { doc, actions, post, pending } = await setUp();
    const thread = post('two ledgers', 'Which two?');
    expect(actions.reply(thread.id, 'The customs one and his own.')).toBeUndefined();
    const comments = readThread(doc, thread.id)!.comments;
    expect(comments.map((c) => [c.authorId, c.body])).toEqual([
      [USER.id, 'Which two?'],
      [USER.id, 'The customs one and his own.'],
    ]);
    expect(pending).toEqual([thread.id, thread.id]);
  });

  test('editing changes the body and marks it edited; an unchanged body writes nothing', async () => {
    const { doc, actions, post } = await setUp();
    const thread = post('two ledgers', 'Which two?');
    const comment = thread.comments[0]!;
    expect(actions.editComment(thread.id, comment.id, comment.body, comment.body)).toBeUndefined();
    expect(readThread(doc, thread.id)!.comments[0]!.editedAt).toBeNull();
    expect(actions.editComment(thread.id, comment.id, comment.body, 'Which two ledgers?')).toBeUndefined();
    const edited = readThread(doc, thread.id)!.comments[0]!;
    expect(edited.body).toBe('Which two ledgers?');
    expect(edited.editedAt).not.toBeNull();
    expect(actions.editComment(thread.id, comment.id, edited.body, '')).toEqual(expect.any(String));
  });

  test('deleting a comment leaves it in the thread, marked deleted', async () => {
    const { doc, actions, post } = await setUp();
    const thread = post('two ledgers', 'Which two?');
    actions.deleteComment(thread.id, thread.comments[0]!.id);
    expect(readThread(doc, thread.id)!.comments[0]!.deleted).toBe(true);
  });

  test('resolving records who resolved the thread; reopening clears it', async () => {
    const { doc, actions, post } = await setUp();
    const thread = post('two ledgers', 'Which two?');
    actions.setResolved(thread.id, true);
    expect(readThread(doc, thread.id)).toMatchObject({ status: 'resolved', resolvedBy: USER.id });
    actions.setResolved(thread.id, false);
    expect(readThread(doc, thread.id)).toMatchObject({ status: 'open', resolvedBy: null });
  });

  test('a tag is added to and removed from a thread', async () => {
    const { doc, actions, post } = await setUp();
    const thread = post('two ledgers', 'Which two?', ['question']);
    actions.setThreadTag(thread.id, ['question'], 'evidence', true);
    expect(readThread(doc, thread.id)!.tags.sort()).toEqual(['evidence', 'question']);
    actions.setThreadTag(thread.id, ['evidence', 'question'], 'question', false);
    expect(readThread(doc, thread.id)!.tags).toEqual(['evidence']);
  });

  test('the vocabulary: a tag is defined, renamed on every thread, and removed from every thread', async () => {
    const { doc, actions, post } = await setUp();
    expect(actions.defineTag('evidence', { color: '#2f9e44' })).toBeUndefined();
    const thread = post('two ledgers', 'Which two?', ['evidence']);
    expect(actions.renameTag('evidence', 'source')).toBeUndefined();
    expect(Object.keys(readVocabulary(doc))).toEqual(['source']);
    expect(readThread(doc, thread.id)!.tags).toEqual(['source']);
    expect(actions.removeTag('source')).toBeUndefined();
    expect(readVocabulary(doc)).toEqual({});
    expect(readThread(doc, thread.id)!.tags).toEqual([]);
    expect(actions.defineTag('  ', { color: '#2f9e44' })).toEqual(expect.any(String));
  });
});
