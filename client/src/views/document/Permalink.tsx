/**
 * Permalinks: `/d/<id>/t/<threadId>[/c/<commentId>]` opens the document scrolled to the thread's passage with the
 * thread focused (a resolved thread unfolded, an orphan's card under "Orphaned threads"), the comment highlighted;
 * from then on the address follows the focused thread.
 */
import { useEffect, useRef } from 'react';
import { documentHref, replaceAddress, threadHref } from '../../app/router';
import { focusCardWhenShown } from '../../threads/focusCard';
import { useAnnotations, useDocument } from './DocumentContext';
import { usePlacement, useUiState } from './uiStore';

export function Permalink({ threadId, commentId }: { threadId: string | null; commentId: string | null }) {
  const { ui, docId } = useDocument();
  const snapshot = useAnnotations();
  const placement = usePlacement(ui);
  const wanted = threadId ? `${threadId}/${commentId ?? ''}` : null;
  /** The permalink already shown (null: none yet); until then the address is left as it came. */
  const [shown, setShown] = useShown(wanted === null);

  useEffect(() => {
    if (!threadId || shown.current === wanted) return;
    const thread = snapshot.threads.find((t) => t.id === threadId);
    if (!thread) {
      // No such thread once the document has arrived: it opens as usual, and the address follows from now on.
      if (snapshot.textLength > 0) setShown(wanted);
      return;
    }
    const state = ui.getState();
    if (thread.status === 'resolved' && !state.unfolded.has(threadId)) ui.toggleUnfolded(threadId);
    ui.set({ linked: { threadId, commentId } });
    const orphan = (snapshot.anchors.get(threadId)?.state ?? 'orphan') === 'orphan';
    if (orphan) {
      ui.activate(threadId, true);
      setShown(wanted);
      scrollToOrphanCard(threadId);
      return;
    }
    const top = placement.tops.get(threadId);
    if (top === undefined) return; // its highlight is not measured yet
    ui.activate(threadId, true);
    setShown(wanted);
    const scroller = document.querySelector<HTMLElement>('.doc-scroll');
    const layer = scroller?.querySelector('.article-wrap');
    if (scroller && layer) {
      const layerTop = layer.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop;
      scroller.scrollTo({ top: Math.max(0, layerTop + top - scroller.clientHeight / 3), behavior: 'auto' });
    }
    focusCardWhenShown(threadId);
  }, [snapshot, placement, threadId, commentId, wanted, ui, shown, setShown]);

  const active = useUiState(ui, (s) => s.activeThreadId);
  const linked = useUiState(ui, (s) => s.linked);
  useEffect(() => {
    if (shown.current === null && wanted !== null) return;
    const comment = linked && linked.threadId === active ? linked.commentId : null;
    replaceAddress(active ? threadHref(docId, active, comment) : documentHref(docId));
  }, [active, linked, docId, wanted, shown]);
  return null;
}

function useShown(none: boolean) {
  const shown = useRef<string | null>(none ? '' : null);
  return [shown, (value: string | null) => (shown.current = value)] as const;
}

function scrollToOrphanCard(threadId: string, framesLeft = 10): void {
  requestAnimationFrame(() => {
    const card = document.querySelector<HTMLElement>(`.orphans [data-thread-card="${CSS.escape(threadId)}"]`);
    if (!card) {
      if (framesLeft > 0) scrollToOrphanCard(threadId, framesLeft - 1);
      return;
    }
    card.scrollIntoView({ block: 'center', behavior: 'auto' });
    card.focus({ preventScroll: true });
  });
}
