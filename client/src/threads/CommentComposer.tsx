/**
 * CommentComposer: the card where a new thread is written, in the margin beside the chosen passage. Posting
 * creates the thread in the Y.Doc (the postThread action); it reaches everyone through the provider.
 */
import { useEffect, useState, type CSSProperties, type Ref } from 'react';
import { useDocument } from '../views/document/DocumentContext';
import type { Draft } from '../views/document/uiStore';
import { CommentBox } from './CommentBox';

export function CommentComposer({
  draft,
  style,
  cardRef,
}: {
  draft: Draft;
  style?: CSSProperties;
  cardRef?: Ref<HTMLElement>;
}) {
  const { session, model, actions } = useDocument();
  const vocabulary = model.snapshot.getState().vocabulary;
  const [tags, setTags] = useState<string[]>([]);

  useEffect(() => {
    session.presence.set({ typing: 'new' });
    return () => session.presence.set({ typing: null });
  }, [session]);

  const cancel = actions.cancelThread;

  return (
    <article
      ref={cardRef}
      style={style}
      className="thread-card composer active"
      aria-label="New comment"
      data-composer="true"
      onKeyDown={(e) => e.key === 'Escape' && cancel()}
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
                onClick={() => setTags((t) => (on ? t.filter((x) => x !== name) : [...t, name]))}
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
        onCancel={cancel}
        onSubmit={(body) => actions.postThread(draft, body, tags)}
      />
    </article>
  );
}
