/**
 * CommentComposer: the card where a new thread is written, in the margin beside the chosen passage. Posting
 * creates the thread in the Y.Doc (the postThread action); it reaches everyone through the provider.
 */
import { useEffect, useRef, type CSSProperties, type Ref } from 'react';
import { useDocument } from '../views/document/DocumentContext';
import { usePlacement, useUiState, type Draft } from '../views/document/uiStore';
import { CommentBox, useMentionContext } from './CommentBox';
import { usePeople } from './people';

export function CommentComposer({
  draft,
  style,
  cardRef,
}: {
  draft: Draft;
  style?: CSSProperties;
  cardRef?: Ref<HTMLElement>;
}) {
  const { session, model, actions, ui, docId } = useDocument();
  const people = usePeople(docId);
  const mentionContext = useMentionContext();
  const own = useRef<HTMLElement | null>(null);
  const draftTop = usePlacement(ui).draftTop;
  const vocabulary = model.snapshot.getState().vocabulary;
  const tags = useUiState(ui, (s) => s.composerTags);
  const text = useUiState(ui, (s) => s.composerText);
  const setTags = (next: readonly string[]) => ui.set({ composerTags: next });

  useEffect(() => {
    session.presence.set({ typing: 'new' });
    return () => session.presence.set({ typing: null });
  }, [session]);

  // Once placed, the composer and its passage are in view: beside the passage in the margin (scrolled only if
  // the card reaches past the screen), or above the panel at the bottom of a narrow screen.
  const placed = draftTop !== null;
  useEffect(() => {
    const card = own.current;
    const scroller = card?.ownerDocument.querySelector<HTMLElement>('.doc-scroll');
    const layer = scroller?.querySelector('.overlay-layer');
    if (!placed || !card || !scroller || !layer) return;
    const frame = requestAnimationFrame(() => {
      const view = scroller.getBoundingClientRect();
      const box = card.getBoundingClientRect();
      const passageTop = layer.getBoundingClientRect().top + (ui.getPlacement().draftTop ?? 0);
      if (card.closest('.sheet')) {
        // The passage's first line a little below the top of the part of the screen the panel leaves free.
        const free = box.top - view.top;
        if (passageTop < view.top || passageTop > box.top - 72)
          scroller.scrollBy({ top: passageTop - view.top - Math.min(48, free / 4) });
      } else if (box.bottom > view.bottom || box.top < view.top) {
        card.scrollIntoView({ block: 'nearest' });
      }
    });
    return () => cancelAnimationFrame(frame);
  }, [placed, ui]);

  // Escape keeps the text for the next time the composer opens; the Cancel button throws it away.
  const keep = () => actions.cancelThread();

  return (
    <article
      ref={(element) => {
        own.current = element;
        if (typeof cardRef === 'function') return cardRef(element);
        if (cardRef) cardRef.current = element;
      }}
      style={style}
      className="thread-card composer active"
      aria-label="New comment"
      data-composer="true"
      onKeyDown={(e) => e.key === 'Escape' && keep()}
    >
      <blockquote className="thread-quote" title={draft.quote.exact}>
        {draft.quote.exact}
      </blockquote>
      {Object.keys(vocabulary).length > 0 && (
        <div className="composer-tags" role="group" aria-label="Tags">
          {Object.entries(vocabulary).map(([name, def]) => {
            const on = tags.includes(name);
            return (
              <button
                key={name}
                type="button"
                className={on ? 'tag toggle on' : 'tag toggle'}
                aria-pressed={on}
                style={{ ['--tag' as string]: def.color }}
                onClick={() => setTags(on ? tags.filter((x) => x !== name) : [...tags, name])}
              >
                {name}
              </button>
            );
          })}
        </div>
      )}
      <CommentBox
        label="Add a comment…"
        submitLabel="Comment"
        autoFocus
        value={text}
        onValueChange={(value) => ui.set({ composerText: value })}
        onEscape={keep}
        onCancel={() => actions.cancelThread(true)}
        people={people}
        mentionContext={mentionContext}
        onSubmit={(body, mentions) => actions.postThread(draft, body, tags, mentions)}
      />
    </article>
  );
}
