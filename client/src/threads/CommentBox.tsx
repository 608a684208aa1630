/**
 * A textarea for a comment: Enter sends, Shift+Enter starts a new line, Escape cancels. Used for new
 * threads, replies and edits alike. Typing `@` offers the people who may read the document (arrows to move,
 * Enter or Tab to choose, Escape to close) — and, to an owner, accounts that cannot, marked "no access"; the
 * comment is sent with the ids of the people it mentions. A mention that will notify nobody is pointed out at
 * once (announced): a guest (guests have no inbox), someone who cannot see the document (an owner may share it
 * with them from there), or a name nobody has.
 */
import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { Person } from '../app/api';
import type { Presence } from '../collab/presence';
import { newStore, useStoreState } from '../app/store';
import { isGuest } from '../ui/format';
import { useDocument } from '../views/document/DocumentContext';
import { guestNamed, matchPeople, mentionedIds, outsidersMatching, shareWith, unknownMentions } from './people';

/** What a box needs to say more about a mention than "nobody with access": the document, who is here, the role. */
export interface MentionContext {
  docId: string;
  /** The caller may manage the document's members (owners, administrators). */
  canShare: boolean;
  /** Who is here (the guests among them cannot be mentioned). */
  presence: Presence;
}

/** The mention context of the document open in this view. */
export function useMentionContext(): MentionContext {
  const { docId, permissions, session } = useDocument();
  const canShare = permissions.isOwner;
  return useMemo(() => ({ docId, canShare, presence: session.presence }), [docId, canShare, session]);
}

const MAX_OPTIONS = 8;
const NO_PEERS = newStore<{ list: readonly { userId: string; name: string }[] }>({ list: [] });

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
  mentionContext,
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
  mentionContext?: MentionContext;
}) {
  const [ownBody, setOwnBody] = useState(initial);
  const body = value ?? ownBody;
  const setBody = onValueChange ?? setOwnBody;
  const [error, setError] = useState<string | null>(null);
  const [focused, setFocused] = useState(autoFocus);
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  /** Where the caret goes once the box shows the text a chosen mention made (see the layout effect below). */
  const caretAfterRender = useRef<number | null>(null);
  const expanded = !compact || focused || body.length > 0;
  const [query, setQuery] = useState<{ start: number; end: number; query: string } | null>(null);
  const [index, setIndex] = useState(0);
  const [outsiders, setOutsiders] = useState<{ query: string; list: Person[] } | null>(null);
  const listId = useId();
  const canShare = mentionContext?.canShare === true;
  const docId = mentionContext?.docId;

  // To an owner, the suggestions also offer accounts that cannot read the document (looked up by prefix).
  const asked = canShare && query && query.query ? query.query : null;
  useEffect(() => {
    if (!asked || !docId) return;
    let live = true;
    void outsidersMatching(docId, asked).then((list) => live && setOutsiders({ query: asked, list }));
    return () => {
      live = false;
    };
  }, [asked, docId]);

  const readers = query ? matchPeople(people, query.query, MAX_OPTIONS) : [];
  const others =
    asked && outsiders?.query === asked ? outsiders.list.filter((p) => !people.some((r) => r.id === p.id)) : [];
  const options = [
    ...readers.map((person) => ({ person, access: true })),
    ...others.slice(0, MAX_OPTIONS - readers.length).map((person) => ({ person, access: false })),
  ];
  const suggest = query && options.length ? { ...query, options, index: Math.min(index, options.length - 1) } : null;

  function updateSuggestions(text: string, caret: number) {
    const q = people.length ? mentionQuery(text, caret) : null;
    setQuery(q ? { start: q.start, end: caret, query: q.query } : null);
    setIndex(0);
  }

  function choose(person: Person) {
    if (!suggest) return;
    const inserted = `@${person.username} `;
    const next = body.slice(0, suggest.start) + inserted + body.slice(suggest.end);
    setBody(next);
    setQuery(null);
    caretAfterRender.current = suggest.start + inserted.length;
  }

  // The caret after a chosen mention, placed as soon as the new text is in the box: before the next key is handled
  // (React renders a keydown's update before the next event), so what is typed right after choosing follows it.
  // (Placed in an animation frame instead, a key typed before that frame was left behind the caret.)
  useLayoutEffect(() => {
    const caret = caretAfterRender.current;
    if (caret === null) return;
    caretAfterRender.current = null;
    ref.current?.focus({ preventScroll: true });
    ref.current?.setSelectionRange(caret, caret);
  });

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
        setIndex((suggest.index + step + n) % n);
        return;
      }
      if ((event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey && !event.nativeEvent.isComposing) {
        event.preventDefault();
        choose(suggest.options[suggest.index]!.person);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        setQuery(null);
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
          setQuery(null);
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
          {suggest.options.map(({ person: p, access }, i) => (
            <li
              key={p.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === suggest.index}
              className={access ? undefined : 'no-access'}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(p);
              }}
            >
              <span className="mention-name">{p.name}</span> <span className="mention-username">@{p.username}</span>
              {!access && <span className="mention-access"> · no access</span>}
            </li>
          ))}
        </ul>
      )}
      {people.length > 0 && (
        <MentionNotes
          names={suggest ? [] : unknownMentions(body, people)}
          context={mentionContext}
          onShared={() => ref.current?.focus({ preventScroll: true })}
        />
      )}
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

/**
 * Says at once (a polite live region, so screen readers announce it) who a comment's mentions will not reach: guests
 * (no inbox), accounts that cannot see the document — with, for an owner, a button sharing it with them as a
 * commenter — and names nobody who can see it has.
 */
function MentionNotes({
  names,
  context,
  onShared,
}: {
  names: string[];
  context: MentionContext | undefined;
  onShared: () => void;
}) {
  const peers = useStoreState(context?.presence.peers ?? NO_PEERS, (s) => s.list);
  const guests = peers.filter((p) => isGuest(p.userId));
  const canShare = context?.canShare === true;
  const docId = context?.docId;
  /** Owners: what the look-up found for each name (an account that cannot read, or null: no such account). */
  const [found, setFound] = useState<ReadonlyMap<string, Person | null>>(new Map());
  const [shared, setShared] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = names.join(' ');

  useEffect(() => {
    if (!canShare || !docId || !key) return;
    let live = true;
    for (const name of key.split(' ')) {
      void outsidersMatching(docId, name).then((list) => {
        if (!live) return;
        const person = list.find((p) => p.username === name) ?? null;
        setFound((m) => (m.get(name) === person ? m : new Map(m).set(name, person)));
      });
    }
    return () => {
      live = false;
    };
  }, [canShare, docId, key]);

  const guestNotes: string[] = [];
  const outsiders: Person[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    const guest = guestNamed(name, guests);
    if (guest) {
      if (!guestNotes.includes(guest.name)) guestNotes.push(guest.name);
      continue;
    }
    if (!canShare) {
      unknown.push(name);
      continue;
    }
    const person = found.get(name);
    if (person) outsiders.push(person);
    else if (person === null) unknown.push(name);
    // not looked up yet: said once it is (a moment)
  }

  async function share(person: Person) {
    if (!docId) return;
    setError(null);
    try {
      await shareWith(docId, person);
      setShared(`${person.name} can now see this document, as a commenter, and will be notified.`);
      onShared();
    } catch (e) {
      setError(`Could not share with ${person.name}: ${(e as Error).message}`);
    }
  }

  const list = unknown.map((n) => `@${n}`).join(', ');
  return (
    <div className="mention-notes" role="status">
      {guestNotes.map((name) => (
        <p key={`guest:${name}`} className="hint mention-unknown">
          {name} is a guest: guests have no inbox, so they will not be notified.
        </p>
      ))}
      {outsiders.map((person) => (
        <p key={person.id} className="hint mention-unknown mention-outsider">
          <span>{person.name} cannot see this document: they will not be notified.</span>{' '}
          <button
            type="button"
            className="link"
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => void share(person)}
          >
            Share with {person.name}
          </button>
        </p>
      ))}
      {unknown.length > 0 && (
        <p className="hint mention-unknown">
          {canShare
            ? `${list}: no account has ${unknown.length === 1 ? 'this name' : 'these names'}, so nobody will be notified.`
            : `${list} ${unknown.length === 1 ? 'is' : 'are'} not someone who can see this document: they will not be notified. An owner can share it with them under Members.`}
        </p>
      )}
      {error && <p className="form-error">{error}</p>}
      {shared && <p className="hint mention-shared">{shared}</p>}
    </div>
  );
}
