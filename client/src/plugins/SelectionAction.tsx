/**
 * SelectionAction: a floating "Comment" button beside a selection in the article, and Ctrl/Cmd+Alt+M, both
 * running COMMENT_ON_SELECTION_COMMAND, which opens the composer for the selected passage. Only for those who
 * may comment.
 */
import { useEffect, useState } from 'react';
import { useLexicalComposerContext } from '@lexical/react/LexicalComposerContext';
import { mergeRegister } from '@lexical/utils';
import {
  COMMAND_PRIORITY_EDITOR,
  COMMAND_PRIORITY_LOW,
  createCommand,
  KEY_DOWN_COMMAND,
  type LexicalCommand,
  type LexicalEditor,
} from 'lexical';
import { geometryOf } from '../editor/geometry';
import { useDocument } from '../views/document/DocumentContext';

/** Opens the composer for the passage selected in the article; handled (true) when there was one. */
export const COMMENT_ON_SELECTION_COMMAND: LexicalCommand<void> = createCommand('COMMENT_ON_SELECTION_COMMAND');

function isShortcut(event: KeyboardEvent): boolean {
  return event.code === 'KeyM' && event.altKey && (event.ctrlKey || event.metaKey) && !event.shiftKey;
}

interface ButtonPlace {
  top: number;
  left: number;
}

function selectionInArticle(editor: LexicalEditor): Range | null {
  const root = editor.getRootElement();
  const selection = window.getSelection();
  if (!root || !selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  return root.contains(range.commonAncestorContainer) ? range : null;
}

/** The screen boxes of a selection's words; none when it holds no words (only a paragraph break, say). */
function visibleRects(range: Range): DOMRect[] {
  if (range.toString().trim() === '') return [];
  return Array.from(range.getClientRects()).filter((r) => r.width > 0 && r.height > 0);
}

export function SelectionActionPlugin({ layer }: { layer: HTMLElement | null }) {
  const [editor] = useLexicalComposerContext();
  const { model, actions, permissions, ui } = useDocument();
  const [place, setPlace] = useState<ButtonPlace | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    if (!permissions.canComment || !layer) return;
    let frame = 0;
    let last: ButtonPlace | null = null;
    const update = () => {
      frame = 0;
      const range = selectionInArticle(editor);
      // The selected words, for a thread card's "Re-attach to selection".
      const span = range ? geometryOf(editor).selectionSpan(model.articleIndex(), window.getSelection()) : null;
      const had = ui.getState().articleSelection;
      if (had?.start !== span?.start || had?.end !== span?.end)
        ui.set({ articleSelection: span && span.end > span.start ? span : null });
      const rects = range ? visibleRects(range) : [];
      // Nothing selected, or a selection that covers no words (what is left of one whose text was deleted):
      // no button, rather than one floating over nothing.
      if (rects.length === 0) {
        last = null;
        setPlace(null);
        setNotice(null);
        return;
      }
      const box = layer.getBoundingClientRect();
      // On a touch screen the system's own selection menu sits above the selection: the button goes below
      // its last line there, above its first line elsewhere; centred on that line, never past the edges.
      const below = window.matchMedia('(pointer: coarse)').matches;
      const line = (below ? rects[rects.length - 1] : rects[0])!;
      const center = line.left + line.width / 2 - box.left;
      const next = {
        top: Math.round(below ? line.bottom - box.top + 10 : line.top - box.top - 42),
        left: Math.round(Math.min(Math.max(center, 70), box.width - 70)),
      };
      // The selection moved: a refusal shown for the old one no longer applies.
      if (!last || last.top !== next.top || last.left !== next.left) setNotice(null);
      last = next;
      setPlace(next);
    };
    // The DOM selection, for every role: a read-only editor's selection is what commenters comment on.
    const onChange = () => {
      if (!frame) frame = requestAnimationFrame(update);
    };
    document.addEventListener('selectionchange', onChange);
    // Chromium fires no selectionchange when an edit removes the nodes the selection was in (Backspace over a
    // whole paragraph collapses it silently), and none when the text under an unchanged selection moves (a
    // remote edit above it, the column reflowing): the button is measured again after every editor update and
    // every change of the article's size.
    const unregister = editor.registerUpdateListener(onChange);
    const resized = new ResizeObserver(onChange);
    resized.observe(layer);
    const root = editor.getRootElement();
    if (root) resized.observe(root);
    window.addEventListener('resize', onChange);
    return () => {
      document.removeEventListener('selectionchange', onChange);
      window.removeEventListener('resize', onChange);
      resized.disconnect();
      unregister();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [editor, layer, model, ui, permissions.canComment]);

  useEffect(() => {
    if (!permissions.canComment) return;
    const dispatchOnShortcut = (event: KeyboardEvent) => {
      if (!isShortcut(event) || !editor.dispatchCommand(COMMENT_ON_SELECTION_COMMAND, undefined)) return false;
      event.preventDefault();
      return true;
    };
    // A read-only editor receives no key events, and the selection may be in the article while the focus is
    // elsewhere: the shortcut is also heard on the document, unless the editor already handled it.
    const onDocumentKey = (event: KeyboardEvent) => {
      if (!event.defaultPrevented) dispatchOnShortcut(event);
    };
    document.addEventListener('keydown', onDocumentKey);
    return mergeRegister(
      editor.registerCommand(
        COMMENT_ON_SELECTION_COMMAND,
        () => {
          const selection = window.getSelection();
          if (!selectionInArticle(editor)) return false;
          const index = model.articleIndex();
          const span = geometryOf(editor).selectionSpan(index, selection);
          if (!span) return false;
          const refusal = actions.startThread(index, span.start, span.end);
          if (refusal) {
            setNotice('Select some words of the article to comment on.');
          } else {
            window.getSelection()?.removeAllRanges();
            setPlace(null);
          }
          return true;
        },
        COMMAND_PRIORITY_EDITOR,
      ),
      editor.registerCommand(KEY_DOWN_COMMAND, dispatchOnShortcut, COMMAND_PRIORITY_LOW),
      () => document.removeEventListener('keydown', onDocumentKey),
    );
  }, [editor, model, actions, permissions.canComment]);

  if (!permissions.canComment || !place) return null;
  return (
    <div className="selection-action" style={{ top: Math.max(0, place.top), left: place.left }}>
      <button
        type="button"
        className="comment-button"
        onMouseDown={(event) => event.preventDefault()}
        onClick={() => editor.dispatchCommand(COMMENT_ON_SELECTION_COMMAND, undefined)}
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
