/**
 * Closes a popup (a menu, a panel) when the user presses outside it or presses Escape: the behaviour every menu of
 * the app shares. Returns the ref to put on the element that holds both the toggle and the popup.
 * - `focusOnEscape`: a selector inside that element whose match gets the focus back after Escape (the toggle);
 * - `innerFirst`: a selector for a popup nested inside; while it is open, Escape is left to it.
 */
import { useEffect, useRef, type RefObject } from 'react';

export function useDismiss<T extends HTMLElement = HTMLDivElement>(
  open: boolean,
  close: () => void,
  { focusOnEscape, innerFirst }: { focusOnEscape?: string; innerFirst?: string } = {},
): RefObject<T | null> {
  const root = useRef<T>(null);
  const closeRef = useRef(close);
  closeRef.current = close;
  useEffect(() => {
    if (!open) return;
    const onEvent = (event: MouseEvent | KeyboardEvent) => {
      const el = root.current;
      if (event instanceof KeyboardEvent) {
        if (event.key !== 'Escape' || (innerFirst && el?.querySelector(innerFirst))) return;
        closeRef.current();
        if (focusOnEscape) el?.querySelector<HTMLElement>(focusOnEscape)?.focus();
      } else if (!el?.contains(event.target as Node)) {
        closeRef.current();
      }
    };
    document.addEventListener('mousedown', onEvent);
    document.addEventListener('keydown', onEvent);
    return () => {
      document.removeEventListener('mousedown', onEvent);
      document.removeEventListener('keydown', onEvent);
    };
  }, [open, focusOnEscape, innerFirst]);
  return root;
}
