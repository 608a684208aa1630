/**
 * The in-document search also finds the article's text: every occurrence of the filter bar's search (ignoring
 * case) is highlighted with the CSS Custom Highlight API (ranges over the editor's DOM, never editor nodes), the
 * current one more strongly, scrolled into view when the reader steps through them (FilterBar's buttons, Enter).
 */
import { useEffect, useRef } from 'react';
import { useLexicalComposerContext } from '@lexical/react/LexicalComposerContext';
import { useDocument } from '../views/document/DocumentContext';
import { useUiState } from '../views/document/uiStore';

const ALL = 'article-find';
const CURRENT = 'article-find-current';

/** Occurrences of `needle` within each text node of `root` (a match does not cross formatting boundaries). */
function findRanges(root: HTMLElement, needle: string): Range[] {
  const ranges: Range[] = [];
  const lower = needle.toLowerCase();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = (n as Text).data.toLowerCase();
    for (let at = text.indexOf(lower); at !== -1; at = text.indexOf(lower, at + lower.length)) {
      const range = document.createRange();
      range.setStart(n, at);
      range.setEnd(n, at + lower.length);
      ranges.push(range);
    }
  }
  return ranges;
}

export function ArticleFindPlugin() {
  const [editor] = useLexicalComposerContext();
  const { ui } = useDocument();
  const search = useUiState(ui, (s) => s.filters.search.trim());
  const step = useUiState(ui, (s) => s.articleFind.step);
  const ranges = useRef<Range[]>([]);

  useEffect(() => {
    const highlights = (globalThis.CSS as { highlights?: HighlightRegistry } | undefined)?.highlights;
    const refresh = () => {
      const root = editor.getRootElement();
      ranges.current = root && search.length >= 2 ? findRanges(root, search) : [];
      if (highlights) highlights.set(ALL, new Highlight(...ranges.current));
      const state = ui.getState().articleFind;
      if (state.count !== ranges.current.length) ui.set({ articleFind: { ...state, count: ranges.current.length } });
    };
    refresh();
    const stop = editor.registerUpdateListener(() => requestAnimationFrame(refresh));
    return () => {
      stop();
      highlights?.delete(ALL);
    };
  }, [editor, ui, search]);

  useEffect(() => {
    const highlights = (globalThis.CSS as { highlights?: HighlightRegistry } | undefined)?.highlights;
    const list = ranges.current;
    if (step === 0 || list.length === 0) {
      highlights?.delete(CURRENT);
      return;
    }
    const range = list[(((step - 1) % list.length) + list.length) % list.length]!;
    highlights?.set(CURRENT, new Highlight(range));
    const scroller = document.querySelector<HTMLElement>('.doc-scroll');
    if (scroller) {
      const rect = range.getBoundingClientRect();
      const box = scroller.getBoundingClientRect();
      scroller.scrollTo({ top: scroller.scrollTop + rect.top - box.top - scroller.clientHeight / 3, behavior: 'auto' });
    }
  }, [step, search]);
  return null;
}
