/**
 * AnnotationHighlights: every visible thread's passage drawn as translucent rectangles behind the text
 * (overlays, never editor nodes). Overlaps stack visibly because each rectangle is translucent. Also
 * publishes each highlight's top for the margin, and turns a click on a highlight into "focus its card".
 */
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useLexicalComposerContext } from '@lexical/react/LexicalComposerContext';
import { CLICK_COMMAND, COMMAND_PRIORITY_LOW } from 'lexical';
import { resolveAnchor, type Thread } from '@marginalia/shared';
import { useStoreState } from '../app/store';
import { geometryOf, type Rect, type TextSpan } from '../editor/geometry';
import { DEFAULT_HIGHLIGHT, personName, plural } from '../ui/format';
import { isFolded, visibleThreads } from '../threads/filters';
import { focusCardWhenShown } from '../threads/focusCard';
import { useAnnotations, useDocument } from '../views/document/DocumentContext';
import { useUiState } from '../views/document/uiStore';

const DRAFT = '\u0000draft';

interface Drawn {
  id: string;
  color: string;
  rects: Rect[];
  length: number;
}

/** Changes whenever the article's text may have moved on screen. */
export function useLayoutVersion(): number {
  const { layout } = useDocument();
  return useStoreState(layout.state, (s) => s.version);
}

export const AnnotationHighlightsPlugin = memo(function AnnotationHighlightsPlugin({
  layer,
}: {
  layer: HTMLElement | null;
}) {
  const [editor] = useLexicalComposerContext();
  const { model, ui } = useDocument();
  const snapshot = useAnnotations();
  const layoutVersion = useLayoutVersion();
  const filters = useUiState(ui, (s) => s.filters);
  const showResolved = useUiState(ui, (s) => s.showResolved);
  const unfolded = useUiState(ui, (s) => s.unfolded);
  const activeId = useUiState(ui, (s) => s.activeThreadId);
  const flash = useUiState(ui, (s) => s.flash);
  const draft = useUiState(ui, (s) => s.draft);
  const [drawn, setDrawn] = useState<Drawn[]>([]);
  const drawnRef = useRef<Drawn[]>([]);

  const visible = useMemo(() => visibleThreads(snapshot, filters), [snapshot, filters]);

  useLayoutEffect(() => {
    if (!layer) return;
    const spans: Array<[string, TextSpan]> = [];
    const colors = new Map<string, string>();
    // Folded (resolved) threads are measured, for their stub in the margin, but not drawn.
    const undrawn = new Set<string>();
    for (const thread of visible.anchored) {
      const anchor = snapshot.anchors.get(thread.id);
      if (!anchor || anchor.start === null) continue;
      if (isFolded(thread, showResolved, unfolded) && thread.id !== activeId) undrawn.add(thread.id);
      spans.push([thread.id, { start: anchor.start, end: anchor.end }]);
      const tag = thread.tags.find((t) => snapshot.vocabulary[t]);
      colors.set(thread.id, tag ? snapshot.vocabulary[tag]!.color : DEFAULT_HIGHLIGHT);
    }
    const index = model.articleIndex();
    // Orphans are measured where their passage was (the next character on a line, past block breaks),
    // for their stub in the margin; never drawn.
    for (const thread of visible.orphans) {
      const at = snapshot.lastPlaces.get(thread.id);
      if (at === undefined || index.text.length === 0) continue;
      let start = Math.max(0, Math.min(at, index.text.length - 1));
      while (start < index.text.length - 1 && index.text[start] === '\n') start++;
      if (index.text[start] === '\n') continue;
      undrawn.add(thread.id);
      spans.push([thread.id, { start, end: start + 1 }]);
    }
    if (draft) {
      const at = resolveAnchor(index, draft);
      if (at.start !== null) spans.push([DRAFT, { start: at.start, end: at.end }]);
    }
    const rects = geometryOf(editor).rects(index, spans, layer);
    if (!rects) return;
    const next: Drawn[] = [];
    const tops = new Map<string, number>();
    let draftTop: number | null = null;
    for (const [id, span] of spans) {
      const list = rects.get(id);
      if (!list || list.length === 0) continue;
      const top = Math.min(...list.map((r) => r.top));
      if (id === DRAFT) draftTop = top;
      else tops.set(id, top);
      if (undrawn.has(id)) continue;
      next.push({ id, color: colors.get(id) ?? DEFAULT_HIGHLIGHT, rects: list, length: span.end - span.start });
    }
    drawnRef.current = next;
    if (next.length > 0) performance.mark('marginalia:highlights-measured'); // read by client/bench/render.mjs
    setDrawn(next);
    ui.setPlacement({ tops, draftTop });
  }, [editor, model, ui, layer, snapshot, visible, showResolved, unfolded, activeId, draft, layoutVersion]);

  // A click on highlighted text (not the end of a drag-selection) focuses the innermost thread under it.
  useEffect(() => {
    if (!layer) return;
    return editor.registerCommand(
      CLICK_COMMAND,
      (event) => {
        const selection = window.getSelection();
        if (selection && !selection.isCollapsed) return false;
        const box = layer.getBoundingClientRect();
        const x = event.clientX - box.left;
        const y = event.clientY - box.top;
        let best: Drawn | null = null;
        for (const item of drawnRef.current) {
          if (item.id === DRAFT) continue;
          const hit = item.rects.some(
            (r) => x >= r.left && x <= r.left + r.width && y >= r.top && y <= r.top + r.height,
          );
          if (hit && (!best || item.length < best.length)) best = item;
        }
        if (best) {
          ui.activate(best.id);
          focusCardWhenShown(best.id);
        }
        // Lexical's own click handling (the caret) goes on either way.
        return false;
      },
      COMMAND_PRIORITY_LOW,
    );
  }, [editor, layer, ui]);

  const threadsById = useMemo(() => new Map(snapshot.threads.map((t) => [t.id, t])), [snapshot.threads]);
  return (
    <>
      {/*
        For the keyboard and screen readers: each highlight is also a focusable mark over its passage, in
        reading order (Tab/Shift+Tab walk them), named by its quote and described by its thread. Focusing one
        makes its thread the active one; Enter moves to its card.
      */}
      <div className="highlight-marks">
        {[...drawn]
          .filter((item) => item.id !== DRAFT)
          .sort((a, b) => (snapshot.anchors.get(a.id)?.start ?? 0) - (snapshot.anchors.get(b.id)?.start ?? 0))
          .map((item) => {
            const thread = threadsById.get(item.id);
            if (!thread) return null;
            const box = boundsOf(item.rects);
            return (
              <span
                key={item.id}
                role="button"
                tabIndex={0}
                className="hl-mark"
                data-highlight-mark={item.id}
                aria-label={`Highlight: ${thread.quote.exact}`}
                aria-describedby={`hl-summary-${item.id}`}
                aria-pressed={item.id === activeId}
                style={{ top: box.top, left: box.left, width: box.width, height: box.height }}
                onFocus={() => {
                  if (ui.getState().activeThreadId !== item.id) ui.activate(item.id);
                }}
                onKeyDown={(event) => {
                  if (event.key !== 'Enter' && event.key !== ' ') return;
                  event.preventDefault();
                  ui.activate(item.id, true);
                  focusCardWhenShown(item.id);
                }}
              >
                <span id={`hl-summary-${item.id}`} className="sr-only">
                  {threadSummary(thread)}
                </span>
              </span>
            );
          })}
      </div>
      <div className="highlights" aria-hidden="true">
        {drawn.map((item) => (
          <div
            key={item.id === activeId ? `${item.id}:${flash}` : item.id}
            className={item.id === DRAFT ? 'hl hl-draft' : item.id === activeId ? 'hl hl-active' : 'hl'}
            data-highlight={item.id === DRAFT ? 'draft' : item.id}
            style={{ ['--hl' as string]: item.color }}
          >
            {item.rects.map((r, i) => (
              <span
                key={i}
                className="hl-rect"
                style={{ top: r.top, left: r.left, width: r.width, height: r.height }}
              />
            ))}
          </div>
        ))}
      </div>
    </>
  );
});

function boundsOf(rects: readonly Rect[]): Rect {
  const top = Math.min(...rects.map((r) => r.top));
  const left = Math.min(...rects.map((r) => r.left));
  const bottom = Math.max(...rects.map((r) => r.top + r.height));
  const right = Math.max(...rects.map((r) => r.left + r.width));
  return { top, left, width: right - left, height: bottom - top };
}

/** What a screen reader hears about a highlight's thread: status, size, tags, and its first comment. */
function threadSummary(thread: Thread): string {
  const comments = thread.comments.filter((c) => !c.deleted);
  const first = comments[0];
  const parts = [
    thread.status === 'resolved' ? 'Resolved thread' : 'Thread',
    plural(comments.length, 'comment'),
    thread.tags.length ? `tags: ${thread.tags.join(', ')}` : '',
    first
      ? `${personName(first.authorName, first.authorId)}: ${first.body.length > 160 ? `${first.body.slice(0, 160)}…` : first.body}`
      : '',
  ];
  return parts.filter(Boolean).join('. ');
}
