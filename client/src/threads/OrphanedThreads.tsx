/**
 * Threads whose passage is gone from the article: listed apart, below it, with their quote, never drawn on
 * other words. With the "orphaned only" filter, they are all that is shown.
 */
import { useCallback, useMemo } from 'react';
import { useAnnotations, useDocument } from '../views/document/DocumentContext';
import { useUiState } from '../views/document/uiStore';
import { isFolded, visibleThreads } from './filters';
import { ThreadCard } from './ThreadCard';
import { usePendingThreads, useTypingByThread } from './ThreadsPanel';

export function OrphanedThreads() {
  const { ui } = useDocument();
  const snapshot = useAnnotations();
  const filters = useUiState(ui, (s) => s.filters);
  const showResolved = useUiState(ui, (s) => s.showResolved);
  const unfolded = useUiState(ui, (s) => s.unfolded);
  const activeId = useUiState(ui, (s) => s.activeThreadId);
  const typing = useTypingByThread();
  const isPending = usePendingThreads();
  const orphans = useMemo(() => visibleThreads(snapshot, filters).orphans, [snapshot, filters]);
  const onActivate = useCallback((id: string) => ui.activate(id), [ui]);
  if (orphans.length === 0) return null;
  return (
    <section className="orphans" aria-labelledby="orphans-title">
      <h2 id="orphans-title">
        Orphaned threads <span className="count">{orphans.length}</span>
      </h2>
      <p className="muted small">The passages these threads were about are no longer in the article.</p>
      <div className="orphan-list">
        {orphans.map((thread) => (
          <ThreadCard
            key={thread.id}
            thread={thread}
            anchorState="orphan"
            active={thread.id === activeId}
            folded={isFolded(thread, showResolved, unfolded)}
            pending={isPending(thread.id)}
            typing={typing.get(thread.id) ?? []}
            vocabulary={snapshot.vocabulary}
            top={0}
            onActivate={onActivate}
          />
        ))}
      </div>
    </section>
  );
}
