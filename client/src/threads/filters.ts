/** Which threads the filter bar lets through: pure functions over the model's snapshot. */
import type { Thread } from '@marginalia/shared';
import type { AnnotationSnapshot } from '../collab/annotationModel';
import type { Filters } from '../views/document/uiStore';

export interface VisibleThreads {
  /** Threads with a place in the text, in reading order. */
  anchored: Thread[];
  /** Threads whose passage is gone: listed apart, never drawn. */
  orphans: Thread[];
}

function matchesSearch(thread: Thread, needle: string): boolean {
  if (!needle) return true;
  if (thread.quote.exact.toLowerCase().includes(needle)) return true;
  return thread.comments.some(
    (c) => !c.deleted && (c.body.toLowerCase().includes(needle) || c.authorName.toLowerCase().includes(needle)),
  );
}

export function passesFilters(thread: Thread, filters: Filters): boolean {
  if (filters.status !== 'all' && thread.status !== filters.status) return false;
  if (filters.tag !== null && !thread.tags.includes(filters.tag)) return false;
  if (
    filters.author !== null &&
    thread.createdBy !== filters.author &&
    !thread.comments.some((c) => c.authorId === filters.author)
  ) {
    return false;
  }
  return matchesSearch(thread, filters.search.trim().toLowerCase());
}

export function visibleThreads(snapshot: AnnotationSnapshot, filters: Filters): VisibleThreads {
  const anchored: Thread[] = [];
  const orphans: Thread[] = [];
  for (const thread of snapshot.threads) {
    if (!passesFilters(thread, filters)) continue;
    const anchor = snapshot.anchors.get(thread.id);
    if (!anchor || anchor.state === 'orphan') orphans.push(thread);
    else if (!filters.orphaned) anchored.push(thread);
  }
  return { anchored, orphans };
}

/** Is this thread shown folded (a one-line stub) rather than as a full card? */
export function isFolded(thread: Thread, showResolved: boolean, unfolded: ReadonlySet<string>): boolean {
  return thread.status === 'resolved' && !showResolved && !unfolded.has(thread.id);
}

/** Everyone who wrote in the document, for the author filter. */
export function authorsOf(threads: readonly Thread[]): Array<{ id: string; name: string }> {
  const names = new Map<string, string>();
  for (const thread of threads)
    for (const c of thread.comments) if (!names.has(c.authorId)) names.set(c.authorId, c.authorName);
  return [...names].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
}

export function tagsOf(threads: readonly Thread[], vocabulary: Readonly<Record<string, unknown>>): string[] {
  const tags = new Set(Object.keys(vocabulary));
  for (const thread of threads) for (const tag of thread.tags) tags.add(tag);
  return [...tags].sort((a, b) => a.localeCompare(b));
}
