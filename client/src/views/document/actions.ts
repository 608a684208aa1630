/**
 * Everything a user does to one document — start and post a thread, reply, edit or delete a comment, resolve
 * or reopen, tag, and the tag vocabulary — in one place: each action calls shared's mutators on the Y.Doc
 * (which the provider carries to everyone) and then the view state that follows from it. Views call these
 * and show the message an action returns; they never call a mutator themselves.
 *
 * An action returns nothing when it was done, or the message to show when the model refused it (an empty
 * comment, a tag name already taken…). Any other error is a defect and propagates.
 */
import {
  addComment,
  anchorFromOffsets,
  createThread,
  deleteComment,
  editComment,
  isModelError,
  reattachThread,
  removeTag,
  renameTag,
  setTag,
  setThreadStatus,
  setThreadTags,
  TEXT_LIMITS,
  type ArticleIndex,
  type TagDefinition,
} from '@marginalia/shared';
import type * as Y from 'yjs';
// With its extension: this module also runs in node (tests/client), whose ESM resolution needs it.
import type { Draft, UiStore } from './uiStore.js';

export interface ActionContext {
  doc: Y.Doc;
  user: { id: string; name: string };
  ui: UiStore;
  /** Stops showing others the passage this user selected (published while a thread on it is drafted). */
  withdrawSelection(): void;
  /** Marks a thread as holding changes the server has not confirmed yet. */
  markPending(threadId: string): void;
  /** Re-resolves the threads now, so that a local change shows at once rather than on the next frame. */
  refresh(): void;
  /** Moves keyboard focus to a thread's card once the margin shows it. */
  focusThread(threadId: string): void;
}

/** The message to show when the model refused an action; undefined when it was done. */
export type Refusal = string | undefined;

function attempt(action: () => void): Refusal {
  try {
    action();
    return undefined;
  } catch (error) {
    if (isModelError(error)) return error.message;
    throw error;
  }
}

/**
 * What the server refuses from a client (the rule table's TEXT_LIMITS), said before anything is written: the
 * server would close the connection over it, and the user would see only that the change did not sync.
 */
const tooLongBody = (body: string): Refusal =>
  body.length > TEXT_LIMITS.body
    ? `A comment can be at most ${TEXT_LIMITS.body.toLocaleString('en')} characters long (this one has ${body.length.toLocaleString('en')}).`
    : undefined;

const tooLongPassage = (start: number, end: number): Refusal =>
  end - start > TEXT_LIMITS.quote
    ? `A passage can be at most ${TEXT_LIMITS.quote.toLocaleString('en')} characters long; select less.`
    : undefined;

export type DocumentActions = ReturnType<typeof documentActions>;

export function documentActions(ctx: ActionContext) {
  const { doc, user, ui } = ctx;
  return {
    /** Opens the composer for the passage between two article offsets; refused for a span with no text. */
    startThread(index: ArticleIndex, start: number, end: number): Refusal {
      return (
        tooLongPassage(start, end) ??
        attempt(() => {
          const { anchor, quote } = anchorFromOffsets(index, start, end);
          ui.set({ draft: { anchor, quote }, activeThreadId: null });
        })
      );
    },

    /**
     * Closes the composer. Its unsent text is kept for the next time it opens (Escape, a click elsewhere)
     * unless `discard` (the Cancel button).
     */
    cancelThread(discard = false): void {
      ctx.withdrawSelection();
      ui.set(discard ? { draft: null, composerText: '', composerTags: [] } : { draft: null });
    },

    /** Posts the composer's thread: the first comment on the drafted passage, with its tags. */
    postThread(draft: Draft, body: string, tags: readonly string[], mentions: readonly string[] = []): Refusal {
      return (
        tooLongBody(body) ??
        attempt(() => {
          const { threadId } = createThread(doc, {
            anchor: draft.anchor,
            quote: draft.quote,
            createdBy: user.id,
            authorName: user.name,
            body,
            tags: [...tags],
            mentions,
          });
          ctx.markPending(threadId);
          ctx.withdrawSelection();
          ui.set({ draft: null, activeThreadId: threadId, composerText: '', composerTags: [] });
          ctx.refresh();
          ctx.focusThread(threadId);
        })
      );
    },

    /**
     * Re-attaches a thread to the passage between two article offsets (an orphan, or one whose passage moved or
     * changed): editors, owners and the thread's creator; the server refuses anyone else.
     */
    reattach(threadId: string, index: ArticleIndex, start: number, end: number): Refusal {
      return (
        tooLongPassage(start, end) ??
        attempt(() => {
          const { anchor, quote } = anchorFromOffsets(index, start, end);
          reattachThread(doc, threadId, { anchor, quote });
          ctx.markPending(threadId);
          ui.set({ activeThreadId: threadId, articleSelection: null });
          ctx.refresh();
          ctx.focusThread(threadId);
        })
      );
    },

    reply(threadId: string, body: string, mentions: readonly string[] = []): Refusal {
      return (
        tooLongBody(body) ??
        attempt(() => {
          addComment(doc, threadId, { authorId: user.id, authorName: user.name, body, mentions });
          ctx.markPending(threadId);
          ctx.refresh();
        })
      );
    },

    /** Replaces a comment's text and, with it, whom it mentions. */
    editComment(
      threadId: string,
      commentId: string,
      previous: string,
      body: string,
      mentions: readonly string[] = [],
    ): Refusal {
      return (
        tooLongBody(body) ??
        attempt(() => {
          if (body !== previous) editComment(doc, threadId, commentId, body, undefined, mentions);
        })
      );
    },

    deleteComment(threadId: string, commentId: string): void {
      deleteComment(doc, threadId, commentId);
    },

    /** Resolves an open thread, reopens a resolved one. */
    setResolved(threadId: string, resolved: boolean): void {
      setThreadStatus(doc, threadId, resolved ? 'resolved' : 'open', user.id);
      ctx.markPending(threadId);
    },

    setThreadTag(threadId: string, tags: readonly string[], tag: string, on: boolean): void {
      setThreadTags(doc, threadId, on ? [...tags, tag] : tags.filter((t) => t !== tag));
      ctx.markPending(threadId);
    },

    /** Adds a tag to the vocabulary, or changes its colour or description. */
    defineTag(name: string, definition: TagDefinition): Refusal {
      return attempt(() => setTag(doc, name, definition));
    },

    renameTag(from: string, to: string): Refusal {
      return attempt(() => renameTag(doc, from, to));
    },

    /** Removes a tag from the vocabulary and from every thread. */
    removeTag(name: string): Refusal {
      return attempt(() => removeTag(doc, name));
    },
  };
}
