/**
 * Tells the overlay plugins when the article's text may have moved on screen: after every editor update
 * (local typing, a remote change reconciled), when the article's box changes size, and when web fonts arrive.
 * Also marks the article ready the first time the editor shows the document's text.
 */
import { useEffect } from 'react';
import { useLexicalComposerContext } from '@lexical/react/LexicalComposerContext';
import { geometryOf } from '../editor/geometry';
import { useDocument } from '../views/document/DocumentContext';

export function ArticleLayoutPlugin({ layer }: { layer: HTMLElement | null }) {
  const [editor] = useLexicalComposerContext();
  const { layout, model } = useDocument();

  useEffect(() => {
    const geometry = geometryOf(editor);
    const check = () => {
      if (!layout.state.getState().ready && geometry.shows(model.articleIndex())) layout.markReady();
    };
    check();
    return editor.registerUpdateListener(() => {
      check();
      layout.invalidate();
    });
  }, [editor, layout, model]);

  useEffect(() => {
    if (!layer) return;
    // Only a real change of width or height moves text (the first callback only reports the initial size).
    let last = '';
    const observer = new ResizeObserver(([entry]) => {
      const size = `${Math.round(entry!.contentRect.width)}x${Math.round(entry!.contentRect.height)}`;
      if (last && size !== last) layout.invalidate();
      last = size;
    });
    observer.observe(layer);
    // Web fonts arriving late reflow the text.
    document.fonts.addEventListener('loadingdone', layout.invalidate);
    return () => {
      observer.disconnect();
      document.fonts.removeEventListener('loadingdone', layout.invalidate);
    };
  }, [layout, layer]);

  return null;
}
