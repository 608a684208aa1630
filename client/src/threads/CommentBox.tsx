/**
 * A textarea for a comment: Enter sends, Shift+Enter starts a new line, Escape cancels. Used for new
 * threads, replies and edits alike.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';

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
}: {
  label: string;
  submitLabel: string;
  initial?: string;
  autoFocus?: boolean;
  /** Returns an error message to show, or nothing when the comment was accepted. */
  onSubmit: (body: string) => string | void;
  onCancel?: () => void;
  /** Escape, when it should not throw the text away (then the text is left as it is). */
  onEscape?: () => void;
  onInput?: () => void;
  compact?: boolean;
  /** Controlled text, for a draft that must outlive the box (a reply box hidden while its card is inactive). */
  value?: string;
  onValueChange?: (value: string) => void;
}) {
  const [ownBody, setOwnBody] = useState(initial);
  const body = value ?? ownBody;
  const setBody = onValueChange ?? setOwnBody;
  const [error, setError] = useState<string | null>(null);
  const [focused, setFocused] = useState(autoFocus);
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  const expanded = !compact || focused || body.length > 0;

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
    const problem = onSubmit(text);
    if (problem) {
      setError(problem);
      return;
    }
    setBody('');
    setError(null);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
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
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        onChange={(e) => {
          setBody(e.target.value);
          onInput?.();
        }}
        onKeyDown={onKeyDown}
      />
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
