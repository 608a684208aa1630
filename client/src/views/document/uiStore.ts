/**
 * View state of one open document that is nobody else's business: the active thread, the draft of a new
 * thread, filters, and where each highlight sits on screen (written by AnnotationHighlights, read by the
 * margin). A tiny external store, so a highlight moving does not re-render the whole page.
 */
import { useSyncExternalStore } from 'react';
import type { AnchorPositions, TextQuote } from '@marginalia/shared';

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
}

export interface Placement {
  /** Top of each visible thread's highlight, in the article layer's coordinates. */
  tops: ReadonlyMap<string, number>;
  draftTop: number | null;
}

export const DEFAULT_FILTERS: Filters = { status: 'all', tag: null, author: null, orphaned: false, search: '' };

export class UiStore {
  private state: UiState = {
    activeThreadId: null,
    flash: 0,
    draft: null,
    filters: DEFAULT_FILTERS,
    showResolved: false,
    unfolded: new Set(),
  };
  private placement: Placement = { tops: new Map(), draftTop: null };
  private readonly listeners = new Set<() => void>();
  private readonly placementListeners = new Set<() => void>();

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  getState = (): UiState => this.state;

  subscribePlacement = (listener: () => void): (() => void) => {
    this.placementListeners.add(listener);
    return () => this.placementListeners.delete(listener);
  };
  getPlacement = (): Placement => this.placement;

  set(patch: Partial<UiState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  setFilters(patch: Partial<Filters>): void {
    this.set({ filters: { ...this.state.filters, ...patch } });
  }

  activate(threadId: string | null, flash = false): void {
    this.set({ activeThreadId: threadId, flash: flash ? this.state.flash + 1 : this.state.flash });
  }

  toggleUnfolded(threadId: string): void {
    const unfolded = new Set(this.state.unfolded);
    if (unfolded.has(threadId)) unfolded.delete(threadId);
    else unfolded.add(threadId);
    this.set({ unfolded });
  }

  setPlacement(placement: Placement): void {
    const previous = this.placement;
    if (previous.draftTop === placement.draftTop && sameTops(previous.tops, placement.tops)) return;
    this.placement = placement;
    for (const listener of this.placementListeners) listener();
  }
}

function sameTops(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

export function useUiState<T>(store: UiStore, select: (state: UiState) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}

export function usePlacement(store: UiStore): Placement {
  return useSyncExternalStore(store.subscribePlacement, store.getPlacement);
}
