/**
 * SelectionAction: a floating "Comment" button beside a selection in the article, and Ctrl/Cmd+Alt+M, both
 * opening the composer for the selected passage. Shown only to those who may comment.
 */
import { useCallback, useEffect, useState } from 'react';
import { anchorFromOffsets, isModelError } from '@marginalia/shared';
import { useDocument } from '../views/document/DocumentContext';

interface ButtonPlace {
  top: number;
  left: number;
}

export function SelectionAction({ layer }: { layer: HTMLElement | null }) {
  const { bridge, model, ui, permissions } = useDocument();
  const [place, setPlace] = useState<ButtonPlace | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const selectionInArticle = useCallback((): Range | null => {
    const root = bridge.rootElement;
    const selection = window.getSelection();
    if (!root || !selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0);
    return root.contains(range.commonAncestorContainer) ? range : null;
  }, [bridge]);

  useEffect(() => {
    if (!permissions.canComment || !layer) return;
    let frame = 0;
    const update = () => {
      frame = 0;
      const range = selectionInArticle();
      if (!range) return setPlace(null);
      const rects = range.getClientRects();
      const first = rects[0] ?? range.getBoundingClientRect();
      const box = layer.getBoundingClientRect();
      const center = first.left + first.width / 2 - box.left;
      setNotice(null);
      // Above the selection's first line, centred on it, never past the article's edges.
      setPlace({
        top: Math.round(first.top - box.top - 42),
        left: Math.round(Math.min(Math.max(center, 70), box.width - 70)),
      });
    };
    const onChange = () => {
      if (!frame) frame = requestAnimationFrame(update);
    };
    document.addEventListener('selectionchange', onChange);
    return () => {
      document.removeEventListener('selectionchange', onChange);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [layer, permissions.canComment, selectionInArticle]);

  const openComposer = useCallback(() => {
    const geometry = bridge.geometry;
    if (!geometry || !selectionInArticle()) return false;
    const index = model.articleIndex();
    const span = geometry.selectionSpan(index, window.getSelection());
    if (!span) return false;
    try {
      const anchored = anchorFromOffsets(index, span.start, span.end);
      ui.set({ draft: { anchor: anchored.anchor, quote: anchored.quote }, activeThreadId: null });
      window.getSelection()?.removeAllRanges();
      setPlace(null);
    } catch (error) {
      if (!isModelError(error)) throw error;
      setNotice('Select some words of the article to comment on.');
    }
    return true;
  }, [bridge, model, ui, selectionInArticle]);

  useEffect(() => {
    if (!permissions.canComment) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.code === 'KeyM' && event.altKey && (event.ctrlKey || event.metaKey) && !event.shiftKey) {
        if (openComposer()) event.preventDefault();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [openComposer, permissions.canComment]);

  if (!permissions.canComment || !place) return null;
  return (
    <div className="selection-action" style={{ top: Math.max(0, place.top), left: place.left }}>
      <button
        type="button"
        className="comment-button"
        onMouseDown={(event) => event.preventDefault()}
        onClick={openComposer}
        title="Comment on the selection (Ctrl+Alt+M)"
        aria-keyshortcuts="Control+Alt+M Meta+Alt+M"
      >
        <span aria-hidden="true">✎</span> Comment
      </button>
      {notice && (
        <p className="selection-notice" role="status">
          {notice}
        </p>
      )}
    </div>
  );
}
