/**
 * A textarea for a comment: Enter sends, Shift+Enter starts a new line, Escape cancels. Used for new
 * threads, replies and edits alike. Typing `@` offers the people who may read the document (arrows to move,
 * Enter or Tab to choose, Escape to close); the comment is sent with the ids of the people it mentions.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import type { Person } from '../app/api';
import { matchPeople, mentionedIds, unknownMentions } from './people';

/** The `@query` just before the caret, if the caret is in one. */
function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const m = /(?:^|[\s([{"'])@([\p{L}\p{N}_.-]{0,64})$/u.exec(text.slice(0, caret));
  return m ? { start: caret - m[1]!.length - 1, query: m[1]! } : null;
}

export function CommentBox({
  label,
  submitLabel,
  initial = '',
  autoFocus = false,
  onSubmit,
  onCancel,
  onEscape,
  onInput,
  compact = false,
  value,
  onValueChange,
  people = [],
}: {
  label: string;
  submitLabel: string;
  initial?: string;
  autoFocus?: boolean;
  /** Returns an error message to show, or nothing when the comment was accepted. `mentions`: user ids. */
  onSubmit: (body: string, mentions: string[]) => string | void;
  onCancel?: () => void;
  /** Escape, when it should not throw the text away (then the text is left as it is). */
  onEscape?: () => void;
  onInput?: () => void;
  compact?: boolean;
  /** Controlled text, for a draft that must outlive the box (a reply box hidden while its card is inactive). */
  value?: string;
  onValueChange?: (value: string) => void;
  /** Who may be mentioned (none: no suggestions). */
  people?: readonly Person[];
}) {
  const [ownBody, setOwnBody] = useState(initial);
  const body = value ?? ownBody;
  const setBody = onValueChange ?? setOwnBody;
  const [error, setError] = useState<string | null>(null);
  const [focused, setFocused] = useState(autoFocus);
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  const expanded = !compact || focused || body.length > 0;
  const [suggest, setSuggest] = useState<{ start: number; end: number; options: Person[]; index: number } | null>(null);
  const listId = useId();

  function updateSuggestions(text: string, caret: number) {
    const q = people.length ? mentionQuery(text, caret) : null;
    const options = q ? matchPeople(people, q.query) : [];
    setSuggest(q && options.length ? { start: q.start, end: caret, options, index: 0 } : null);
  }

  function choose(person: Person) {
    if (!suggest) return;
    const inserted = `@${person.username} `;
    const next = body.slice(0, suggest.start) + inserted + body.slice(suggest.end);
    setBody(next);
    setSuggest(null);
    const caret = suggest.start + inserted.length;
    requestAnimationFrame(() => {
      ref.current?.focus();
      ref.current?.setSelectionRange(caret, caret);
    });
  }

  // Focus without scrolling: the box is placed beside its passage, and the browser's own scroll-into-view on
  // focus would throw the page elsewhere while the margin is still being laid out.
  useEffect(() => {
    if (autoFocus) ref.current?.focus({ preventScroll: true });
  }, [autoFocus]);

  function submit() {
    const text = body.trim();
    if (!text) {
      setError('Write something first.');
      return;
    }
    const problem = onSubmit(text, mentionedIds(text, people));
    if (problem) {
      setError(problem);
      return;
    }
    setBody('');
    setError(null);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (suggest) {
      const n = suggest.options.length;
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        setSuggest({ ...suggest, index: (suggest.index + step + n) % n });
        return;
      }
      if ((event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey && !event.nativeEvent.isComposing) {
        event.preventDefault();
        choose(suggest.options[suggest.index]!);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        setSuggest(null);
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      setError(null);
      if (onEscape) return onEscape();
      setBody(initial);
      if (onCancel) onCancel();
      else ref.current?.blur();
    }
  }

  return (
    <div className={expanded ? 'comment-box' : 'comment-box compact'}>
      <label htmlFor={id} className="sr-only">
        {label}
      </label>
      <textarea
        id={id}
        ref={ref}
        rows={expanded ? 3 : 1}
        value={body}
        placeholder={label}
        aria-autocomplete={people.length ? 'list' : undefined}
        aria-controls={suggest ? listId : undefined}
        aria-activedescendant={suggest ? `${listId}-${suggest.index}` : undefined}
        onFocus={() => setFocused(true)}
        onBlur={() => {
          setFocused(false);
          setSuggest(null);
        }}
        onChange={(e) => {
          setBody(e.target.value);
          updateSuggestions(e.target.value, e.target.selectionStart);
          onInput?.();
        }}
        onKeyDown={onKeyDown}
      />
      {suggest && (
        <ul className="mention-suggestions" role="listbox" id={listId} aria-label="People to mention">
          {suggest.options.map((p, i) => (
            <li
              key={p.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === suggest.index}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(p);
              }}
            >
              <span className="mention-name">{p.name}</span> <span className="mention-username">@{p.username}</span>
            </li>
          ))}
        </ul>
      )}
      {people.length > 0 && !suggest && <UnknownMentions names={unknownMentions(body, people)} />}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {expanded && (
        <div className="comment-box-actions">
          <span className="hint" title="Shift+Enter starts a new line">
            Enter to send
          </span>
          {onCancel && (
            <button
              type="button"
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => {
                setBody(initial);
                onCancel();
              }}
            >
              Cancel
            </button>
          )}
          <button type="button" className="primary" onMouseDown={(e) => e.preventDefault()} onClick={submit}>
            {submitLabel}
          </button>
        </div>
      )}
    </div>
  );
}

/** Says at once that a name typed after `@` is nobody who can see the document, so nobody will be told. */
function UnknownMentions({ names }: { names: string[] }) {
  if (names.length === 0) return null;
  const list = names.map((n) => `@${n}`).join(', ');
  return (
    <p className="hint mention-unknown" role="status">
      {list} {names.length === 1 ? 'is' : 'are'} not someone who can see this document: they will not be notified. An
      owner can share it with them under Members.
    </p>
  );
}
