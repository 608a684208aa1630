/**
 * CommentComposer: the card where a new thread is written, in the margin beside the chosen passage. Posting
 * creates the thread in the Y.Doc (shared's createThread); it reaches everyone through the provider.
 */
import { useEffect, useState, type CSSProperties, type Ref } from 'react';
import { createThread, isModelError } from '@marginalia/shared';
import { useDocument } from '../views/document/DocumentContext';
import type { Draft } from '../views/document/uiStore';
import { CommentBox } from '../threads/CommentBox';
import { focusCardWhenShown } from '../threads/focusCard';

export function CommentComposer({
  draft,
  style,
  cardRef,
}: {
  draft: Draft;
  style?: CSSProperties;
  cardRef?: Ref<HTMLElement>;
}) {
  const { session, user, ui, model } = useDocument();
  const vocabulary = model.getSnapshot().vocabulary;
  const [tags, setTags] = useState<string[]>([]);

  useEffect(() => {
    session.presence.set({ typing: 'new' });
    return () => session.presence.set({ typing: null });
  }, [session]);

  const cancel = () => {
    session.presence.set({ selection: null });
    ui.set({ draft: null });
  };

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
        onSubmit={(body) => {
          try {
            const { threadId } = createThread(session.doc, {
              anchor: draft.anchor,
              quote: draft.quote,
              createdBy: user.id,
              authorName: user.name,
              body,
              tags,
            });
            session.tracker.markThread(threadId);
            session.presence.set({ selection: null });
            ui.set({ draft: null, activeThreadId: threadId });
            model.flush();
            focusCardWhenShown(threadId);
          } catch (error) {
            if (isModelError(error)) return error.message;
            throw error;
          }
        }}
      />
    </article>
  );
}
