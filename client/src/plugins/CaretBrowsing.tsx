/**
 * CaretBrowsingPlugin: a read-only article (commenters, viewers) is still reachable with Tab and can be
 * read and selected with the keyboard, as with a browser's caret browsing: the arrows move a caret
 * (drawn in the overlay layer, since the browser draws none outside editable text), Shift+arrows extend the
 * selection, Ctrl/Alt+arrows go by word, Home/End by line. The selection is the DOM selection, so the
 * Comment action and its shortcut work on it as on a mouse selection.
 */
import { useEffect, useState } from 'react';
import { useLexicalComposerContext } from '@lexical/react/LexicalComposerContext';
import { mergeRegister } from '@lexical/utils';

type Step = { direction: 'forward' | 'backward'; granularity: 'character' | 'word' | 'line' | 'lineboundary' };

function stepFor(event: KeyboardEvent): Step | null {
  const byWord = event.ctrlKey || event.altKey;
  switch (event.key) {
    case 'ArrowRight':
      return { direction: 'forward', granularity: byWord ? 'word' : 'character' };
    case 'ArrowLeft':
      return { direction: 'backward', granularity: byWord ? 'word' : 'character' };
    case 'ArrowDown':
      return { direction: 'forward', granularity: 'line' };
    case 'ArrowUp':
      return { direction: 'backward', granularity: 'line' };
    case 'End':
      return { direction: 'forward', granularity: 'lineboundary' };
    case 'Home':
      return { direction: 'backward', granularity: 'lineboundary' };
    default:
      return null;
  }
}

function firstText(root: HTMLElement): Text | null {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode())
    if ((node as Text).data.trim()) return node as Text;
  return null;
}

interface Caret {
  top: number;
  left: number;
  height: number;
}

export function CaretBrowsingPlugin({ layer }: { layer: HTMLElement | null }) {
  const [editor] = useLexicalComposerContext();
  const [editable, setEditable] = useState(() => editor.isEditable());
  const [caret, setCaret] = useState<Caret | null>(null);

  useEffect(() => editor.registerEditableListener(setEditable), [editor]);

  useEffect(() => {
    if (editable || !layer) return;
    let root: HTMLElement | null = null;
    const inRoot = (node: Node | null) => !!root && !!node && root.contains(node);

    const draw = () => {
      const selection = window.getSelection();
      if (!root || document.activeElement !== root || !selection?.rangeCount || !selection.isCollapsed)
        return setCaret(null);
      if (!inRoot(selection.focusNode)) return setCaret(null);
      const range = selection.getRangeAt(0);
      const rect = range.getClientRects()[0] ?? range.getBoundingClientRect();
      const box = layer.getBoundingClientRect();
      setCaret(rect.height ? { top: rect.top - box.top, left: rect.left - box.left, height: rect.height } : null);
    };
    const onFocus = () => {
      const selection = window.getSelection();
      if (root && selection && !inRoot(selection.focusNode)) {
        const text = firstText(root);
        if (text) selection.collapse(text, 0);
      }
      draw();
    };
    const onKeyDown = (event: KeyboardEvent) => {
      const step = stepFor(event);
      const selection = window.getSelection();
      if (!step || event.metaKey || !selection) return;
      if (!inRoot(selection.focusNode)) onFocus();
      event.preventDefault();
      selection.modify(event.shiftKey ? 'extend' : 'move', step.direction, step.granularity);
    };
    const attach = (next: HTMLElement | null, previous: HTMLElement | null) => {
      if (previous) {
        previous.removeEventListener('focus', onFocus);
        previous.removeEventListener('blur', draw);
        previous.removeEventListener('keydown', onKeyDown);
      }
      root = next;
      if (next) {
        next.tabIndex = 0;
        next.addEventListener('focus', onFocus);
        next.addEventListener('blur', draw);
        next.addEventListener('keydown', onKeyDown);
      }
    };
    document.addEventListener('selectionchange', draw);
    return mergeRegister(editor.registerRootListener(attach), () => {
      attach(null, root);
      document.removeEventListener('selectionchange', draw);
      setCaret(null);
    });
  }, [editor, editable, layer]);

  if (!caret) return null;
  return <span className="browse-caret" aria-hidden="true" style={caret} />;
}
