/**
 * View state of one open document that is nobody else's business: the active thread, the draft of a new
 * thread, filters, and where each highlight sits on screen (written by AnnotationHighlights, read by the
 * margin). Two stores, so a highlight moving re-renders the margin, not the whole page.
 */
import type { AnchorPositions, TextQuote } from '@marginalia/shared';
// With its extension: this module also runs in node (tests/client), whose ESM resolution needs it.
import { newStore, useStoreState, type Store } from '../../app/store.js';

export type StatusFilter = 'all' | 'open' | 'resolved';

export interface Filters {
  status: StatusFilter;
  tag: string | null;
  author: string | null;
  orphaned: boolean;
  search: string;
}

/** A thread being written: anchored when the passage was picked, so edits meanwhile do not shift it. */
export interface Draft {
  anchor: AnchorPositions;
  quote: TextQuote;
}

export interface UiState {
  activeThreadId: string | null;
  /** Bumped to replay the flash on the active highlight. */
  flash: number;
  draft: Draft | null;
  filters: Filters;
  showResolved: boolean;
  /** Resolved threads the user unfolded one by one. */
  unfolded: ReadonlySet<string>;
  /** The unsent text and tags of a new thread: kept when the composer closes with Escape, shown when it opens again. */
  composerText: string;
  composerTags: readonly string[];
  /** On narrow screens, whether the threads panel is shown over the bottom of the article. */
  sheetOpen: boolean;
  /** The comment a permalink pointed at: highlighted in its thread's card. */
  linked: { threadId: string; commentId: string | null } | null;
  /** Threads focused since the document opened: their comments are no longer marked new. */
  read: ReadonlySet<string>;
  /** The search's occurrences in the article text, and which one the reader stepped to (1-based; 0: none). */
  articleFind: { count: number; step: number };
  /** The words selected in the article now (article-text offsets), for "Re-attach to selection"; null: none. */
  articleSelection: { start: number; end: number } | null;
}

export interface Placement {
  /** Top of each visible thread's highlight, in the article layer's coordinates. */
  tops: ReadonlyMap<string, number>;
  draftTop: number | null;
}

export const DEFAULT_FILTERS: Filters = { status: 'all', tag: null, author: null, orphaned: false, search: '' };

export class UiStore {
  readonly state: Store<UiState> = newStore<UiState>({
    activeThreadId: null,
    flash: 0,
    draft: null,
    filters: DEFAULT_FILTERS,
    showResolved: false,
    unfolded: new Set(),
    composerText: '',
    composerTags: [],
    sheetOpen: false,
    linked: null,
    read: new Set(),
    articleFind: { count: 0, step: 0 },
    articleSelection: null,
  });
  readonly placement: Store<Placement> = newStore<Placement>({ tops: new Map(), draftTop: null });

  getState = (): UiState => this.state.getState();
  getPlacement = (): Placement => this.placement.getState();

  set(patch: Partial<UiState>): void {
    this.state.setState(patch);
  }

  setFilters(patch: Partial<Filters>): void {
    const state = this.getState();
    const searchChanged = patch.search !== undefined && patch.search !== state.filters.search;
    this.set({
      filters: { ...state.filters, ...patch },
      ...(searchChanged ? { articleFind: { ...state.articleFind, step: 0 } } : {}),
    });
  }

  /** Steps to the next (+1) or previous (-1) occurrence of the search in the article. */
  stepArticleFind(direction: 1 | -1): void {
    const { count, step } = this.getState().articleFind;
    if (count === 0) return;
    const next = step === 0 && direction === -1 ? count : ((step - 1 + direction + count) % count) + 1;
    this.set({ articleFind: { count, step: next } });
  }

  /** Focuses a thread (or none); on a narrow screen a focused thread also shows the threads panel. */
  activate(threadId: string | null, flash = false): void {
    const state = this.getState();
    const read = threadId && !state.read.has(threadId) ? new Set(state.read).add(threadId) : state.read;
    this.set({
      read,
      activeThreadId: threadId,
      flash: flash ? state.flash + 1 : state.flash,
      sheetOpen: threadId !== null || state.sheetOpen,
    });
  }

  toggleUnfolded(threadId: string): void {
    const unfolded = new Set(this.getState().unfolded);
    if (unfolded.has(threadId)) unfolded.delete(threadId);
    else unfolded.add(threadId);
    this.set({ unfolded });
  }

  setPlacement(placement: Placement): void {
    const previous = this.getPlacement();
    if (previous.draftTop === placement.draftTop && sameTops(previous.tops, placement.tops)) return;
    this.placement.setState(placement, true);
  }
}

function sameTops(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

export function useUiState<T>(ui: UiStore, select: (state: UiState) => T): T {
  return useStoreState(ui.state, select);
}

export function usePlacement(ui: UiStore): Placement {
  return useStoreState(ui.placement);
}
