/**
 * ThreadsPanel: the right margin. Each visible thread's card sits level with its highlight (positions from
 * AnnotationHighlights via the view store); heights are measured, and layoutMargin keeps cards apart.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Thread } from '@marginalia/shared';
import { useStoreState } from '../app/store';
import { usePeers, type Peer } from '../collab/presence';
import { useNarrow } from '../ui/useMediaQuery';
import { CommentComposer } from './CommentComposer';
import { useAnnotations, useDocument } from '../views/document/DocumentContext';
import { usePlacement, useUiState, type UiStore } from '../views/document/uiStore';
import { isFolded, visibleThreads } from './filters';
import { layoutMargin } from './marginLayout';
import { ThreadCard } from './ThreadCard';

const DRAFT_KEY = '\u0000draft';
const GUESS_HEIGHT = 140;
const NO_PEERS: readonly Peer[] = [];

export function useTypingByThread(): ReadonlyMap<string, Peer[]> {
  const { session } = useDocument();
  const peers = usePeers(session.presence);
  return useMemo(() => {
    const map = new Map<string, Peer[]>();
    for (const peer of peers) {
      if (peer.isSelf || !peer.typing) continue;
      const list = map.get(peer.typing) ?? [];
      if (!list.some((p) => p.userId === peer.userId)) list.push(peer);
      map.set(peer.typing, list);
    }
    return map;
  }, [peers]);
}

export function usePendingThreads(): (threadId: string) => boolean {
  const { session } = useDocument();
  const threads = useStoreState(session.tracker.state, (s) => s.threads);
  return useCallback((id: string) => threads.has(id), [threads]);
}

/** How far beyond the visible part of the margin cards are still rendered, in pixels. */
const OVERSCAN = 1200;

/** The visible vertical range of the margin, in the margin's own coordinates (updated on scroll, per frame). */
function useVisibleRange(panel: HTMLElement | null): { top: number; bottom: number } {
  const [range, setRange] = useState({ top: 0, bottom: 4000 });
  useEffect(() => {
    const scroller = panel?.closest('.doc-scroll');
    if (!panel || !scroller) return;
    let frame = 0;
    const measure = () => {
      frame = 0;
      const offset = panel.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
      const top = Math.round(-offset);
      setRange((r) =>
        Math.abs(r.top - top) < 200 && r.bottom - r.top === scroller.clientHeight
          ? r
          : { top, bottom: top + scroller.clientHeight },
      );
    };
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    measure();
    scroller.addEventListener('scroll', onScroll, { passive: true });
    window.addEventListener('resize', onScroll);
    return () => {
      scroller.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onScroll);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [panel]);
  return range;
}

export function ThreadsPanel() {
  const { ui, session } = useDocument();
  // A large document's article arrives before its threads: until the server has sent everything once, an empty
  // list may only mean they are on their way (offline, it is what this device has).
  const arriving = useStoreState(session.connection, (s) => !s.synced && s.status !== 'offline');
  const snapshot = useAnnotations();
  const filters = useUiState(ui, (s) => s.filters);
  const showResolved = useUiState(ui, (s) => s.showResolved);
  const unfolded = useUiState(ui, (s) => s.unfolded);
  const activeId = useUiState(ui, (s) => s.activeThreadId);
  const draft = useUiState(ui, (s) => s.draft);
  const placement = usePlacement(ui);
  // On a narrow screen the margin is a panel listing every thread in reading order (the composer has its own).
  const narrow = useNarrow();
  const typing = useTypingByThread();
  const isPending = usePendingThreads();

  const [panel, setPanel] = useState<HTMLDivElement | null>(null);
  const visibleRange = useVisibleRange(panel);
  const heights = useRef(new Map<string, number>());
  const [measured, setMeasured] = useState(0);
  const observer = useMemo(
    () =>
      new ResizeObserver((entries) => {
        let changed = false;
        for (const entry of entries) {
          const key = (entry.target as HTMLElement).dataset.marginKey;
          if (!key) continue;
          const height = Math.round(entry.borderBoxSize[0]?.blockSize ?? entry.contentRect.height);
          if (heights.current.get(key) !== height) {
            heights.current.set(key, height);
            changed = true;
          }
        }
        if (changed) setMeasured((n) => n + 1);
      }),
    [],
  );
  useLayoutEffect(() => () => observer.disconnect(), [observer]);

  const refFor = useCallback(
    (key: string) => (element: HTMLElement | null) => {
      if (!element) return;
      element.dataset.marginKey = key;
      observer.observe(element);
      return () => {
        observer.unobserve(element);
      };
    },
    [observer],
  );
  const refs = useRef(new Map<string, (element: HTMLElement | null) => void>());
  const stableRef = (key: string) => {
    let ref = refs.current.get(key);
    if (!ref) {
      ref = refFor(key);
      refs.current.set(key, ref);
    }
    return ref;
  };

  const threads = useMemo(
    () => visibleThreads(snapshot, filters).anchored.filter((t) => placement.tops.has(t.id)),
    [snapshot, filters, placement],
  );
  // Orphans have a stub beside the place their passage was (their card is under "Orphaned threads"); on a narrow
  // screen the list in the panel points to them instead.
  const orphans = useMemo(
    () => (narrow ? [] : visibleThreads(snapshot, filters).orphans.filter((t) => placement.tops.has(t.id))),
    [snapshot, filters, placement, narrow],
  );
  const orphanCount = useMemo(
    () => (narrow ? visibleThreads(snapshot, filters).orphans.length : 0),
    [snapshot, filters, narrow],
  );

  const positions = useMemo(() => {
    const items = [...threads, ...orphans].map((t) => ({
      key: t.id,
      desired: placement.tops.get(t.id)!,
      height: heights.current.get(t.id) ?? GUESS_HEIGHT,
    }));
    if (draft && !narrow) {
      items.push({ key: DRAFT_KEY, desired: placement.draftTop ?? 0, height: heights.current.get(DRAFT_KEY) ?? 200 });
    }
    return layoutMargin(items, draft && !narrow ? DRAFT_KEY : activeId);
    // `measured` re-runs the layout when a card's height changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [threads, orphans, placement, draft, activeId, measured, narrow]);

  const onActivate = useCallback(
    (threadId: string) => {
      ui.activate(threadId, true);
      const top = ui.getPlacement().tops.get(threadId);
      const scroller = panel?.closest('.doc-scroll');
      if (top !== undefined && scroller) {
        const layer = scroller.querySelector('.article-wrap');
        if (layer) {
          const layerTop =
            layer.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop;
          const target = layerTop + top - scroller.clientHeight / 3;
          const visibleTop = scroller.scrollTop;
          const y = layerTop + top;
          if (y < visibleTop + 40 || y > visibleTop + scroller.clientHeight - 80) {
            const reduced = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
            scroller.scrollTo({ top: Math.max(0, target), behavior: reduced ? 'auto' : 'smooth' });
          }
        }
      }
    },
    [ui, panel],
  );

  let bottom = 0;
  for (const [key, top] of positions) bottom = Math.max(bottom, top + (heights.current.get(key) ?? GUESS_HEIGHT));
  // Only cards near the visible part of the margin are in the DOM (thousands of threads stay fast); the
  // focused one always is, so keyboard focus never lands on a card that is not there.
  const near = (id: string) => {
    const top = positions.get(id) ?? 0;
    const height = heights.current.get(id) ?? GUESS_HEIGHT;
    return (
      narrow ||
      id === activeId ||
      (top + height >= visibleRange.top - OVERSCAN && top <= visibleRange.bottom + OVERSCAN)
    );
  };

  const shown = threads.filter((thread) => near(thread.id));
  if (narrow) shown.sort((a, b) => (positions.get(a.id) ?? 0) - (positions.get(b.id) ?? 0));
  return (
    <div
      className={narrow ? 'threads-panel listed' : 'threads-panel'}
      ref={setPanel}
      style={narrow ? undefined : { minHeight: bottom + 40 }}
    >
      {narrow && shown.length === 0 && (
        <p className="muted small">
          {arriving ? 'Loading threads…' : orphanCount ? 'No threads on the text.' : 'No threads to show.'}
        </p>
      )}
      {/* Only once its passage is measured: a composer drawn at the top first would pull the focus there. */}
      {draft && !narrow && placement.draftTop !== null && (
        <CommentComposer draft={draft} cardRef={stableRef(DRAFT_KEY)} style={{ top: positions.get(DRAFT_KEY) }} />
      )}
      {orphans.map((thread) => (
        <button
          key={thread.id}
          ref={stableRef(thread.id)}
          type="button"
          className="orphan-stub"
          data-orphan-stub={thread.id}
          style={{ top: positions.get(thread.id) ?? 0 }}
          onClick={() => showOrphanCard(ui, thread.id)}
          title="Its passage was deleted here. Show the thread under “Orphaned threads”."
        >
          <span className="chip danger">orphaned</span>
          <span className="orphan-stub-quote">{thread.quote.exact}</span>
        </button>
      ))}
      {shown.map((thread: Thread) => (
        <ThreadCard
          key={thread.id}
          thread={thread}
          anchorState={snapshot.anchors.get(thread.id)?.state ?? 'orphan'}
          active={thread.id === activeId}
          folded={isFolded(thread, showResolved, unfolded)}
          pending={isPending(thread.id)}
          typing={typing.get(thread.id) ?? NO_PEERS}
          vocabulary={snapshot.vocabulary}
          cardRef={stableRef(thread.id)}
          top={positions.get(thread.id) ?? 0}
          onActivate={onActivate}
        />
      ))}
      {orphanCount > 0 && (
        <button type="button" className="orphans-pointer" onClick={() => showOrphanList(ui)}>
          Show {orphanCount} orphaned {orphanCount === 1 ? 'thread' : 'threads'} below the article
        </button>
      )}
    </div>
  );
}

/** On a narrow screen: closes the threads panel and brings the "Orphaned threads" list below the article into view. */
function showOrphanList(ui: UiStore): void {
  ui.set({ sheetOpen: false });
  const list = document.querySelector<HTMLElement>('.orphans');
  if (!list) return;
  const reduced = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  list.scrollIntoView({ block: 'start', behavior: reduced ? 'auto' : 'smooth' });
  const heading = list.querySelector<HTMLElement>('h2');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

/** Focuses an orphan's card in the "Orphaned threads" list, scrolled into view. */
function showOrphanCard(ui: UiStore, threadId: string): void {
  ui.activate(threadId, true);
  const card = document.querySelector<HTMLElement>(`.orphans [data-thread-card="${CSS.escape(threadId)}"]`);
  if (!card) return;
  const reduced = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  card.scrollIntoView({ block: 'center', behavior: reduced ? 'auto' : 'smooth' });
  card.focus({ preventScroll: true });
}
