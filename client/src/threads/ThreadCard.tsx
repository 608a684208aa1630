/**
 * One thread in the margin: its quote, comments (author, time, "edited"), a reply box, edit/delete of one's
 * own comments, resolve/reopen and tags. A resolved thread folds to a one-line stub unless unfolded.
 * Every piece of user text is rendered as a React text node: never as HTML.
 */
import {
  Fragment,
  memo,
  useEffect,
  useState,
  type CSSProperties,
  type KeyboardEvent,
  type MouseEvent,
  type Ref,
} from 'react';
import type { AnchorState, Comment, TagDefinition, Thread } from '@marginalia/shared';
import { threadHref } from '../app/router';
import { useStoreState } from '../app/store';
import type { Peer } from '../collab/presence';
import { Avatar } from '../ui/Avatar';
import { fullTime, isGuest, personName, timeAgo, userColor } from '../ui/format';
import { useSettled } from '../ui/useSettled';
import { useDocument, type DocumentContextValue } from '../views/document/DocumentContext';
import { useUiState } from '../views/document/uiStore';
import { CommentBox, useMentionContext } from './CommentBox';
import { CommentText } from './CommentText';
import { usePeople } from './people';
import { TagPicker } from './TagPicker';
import { useTyping } from './useTyping';

export interface ThreadCardProps {
  thread: Thread;
  anchorState: AnchorState;
  active: boolean;
  folded: boolean;
  pending: boolean;
  typing: readonly Peer[];
  vocabulary: Readonly<Record<string, TagDefinition>>;
  /** Position in the margin, in pixels from its top. */
  top: number;
  cardRef?: Ref<HTMLElement>;
  onActivate: (threadId: string) => void;
}

/** `mine`: the author may edit and delete; `moderate`: the owner may delete anyone's comment. */
function CommentView({
  threadId,
  comment,
  mine,
  moderate,
  linked,
  fresh,
}: {
  threadId: string;
  comment: Comment;
  mine: boolean;
  moderate: boolean;
  /** The comment a permalink points at. */
  linked: boolean;
  /** Written by someone else since the reader last viewed the document, and its thread not yet read. */
  fresh: boolean;
}) {
  const { actions, docId } = useDocument();
  const people = usePeople(docId);
  const mentionContext = useMentionContext();
  const classes = `comment${linked ? ' linked' : ''}${fresh ? ' new' : ''}`;
  const [editing, setEditing] = useState(false);
  if (comment.deleted) {
    return (
      <li className={`${classes} deleted`} data-comment-id={comment.id}>
        <p className="muted">Comment deleted</p>
      </li>
    );
  }
  return (
    <li className={classes} data-comment-id={comment.id}>
      <div className="comment-head">
        <Avatar
          name={comment.authorName || 'Someone'}
          title={personName(comment.authorName || 'Someone', comment.authorId)}
          guest={isGuest(comment.authorId)}
          color={userColor(comment.authorId)}
          size={22}
        />
        <span className="comment-author">{comment.authorName || 'Someone'}</span>
        {isGuest(comment.authorId) && (
          <span className="guest-badge" aria-label="(guest)">
            guest
          </span>
        )}
        <time
          className="comment-time"
          dateTime={new Date(comment.createdAt).toISOString()}
          title={fullTime(comment.createdAt)}
        >
          {timeAgo(comment.createdAt)}
        </time>
        {fresh && <span className="new-badge">new</span>}
        {comment.editedAt !== null && (
          <span className="edited" title={`Edited ${fullTime(comment.editedAt)}`}>
            edited
          </span>
        )}
        {(mine || moderate) && !editing && (
          <span className="comment-tools">
            {mine && (
              <button type="button" className="link" aria-label="Edit comment" onClick={() => setEditing(true)}>
                Edit
              </button>
            )}
            <button
              type="button"
              className="link danger"
              aria-label="Delete comment"
              onClick={() => {
                if (window.confirm('Delete this comment?')) actions.deleteComment(threadId, comment.id);
              }}
            >
              Delete
            </button>
          </span>
        )}
      </div>
      {editing ? (
        <CommentBox
          label="Edit your comment"
          submitLabel="Save"
          initial={comment.body}
          autoFocus
          onCancel={() => setEditing(false)}
          people={people}
          mentionContext={mentionContext}
          onSubmit={(body, mentions) => {
            const refusal = actions.editComment(threadId, comment.id, comment.body, body, mentions);
            if (!refusal) setEditing(false);
            return refusal;
          }}
        />
      ) : (
        <p className="comment-body">
          <CommentText body={comment.body} mentions={comment.mentions} people={people} />
        </p>
      )}
    </li>
  );
}

function TagChips({
  tags,
  vocabulary,
}: {
  tags: readonly string[];
  vocabulary: Readonly<Record<string, TagDefinition>>;
}) {
  if (tags.length === 0) return null;
  return (
    <ul className="tags" aria-label="Tags">
      {tags.map((tag) => (
        <li key={tag} className="tag" style={{ ['--tag' as string]: vocabulary[tag]?.color ?? '#8a8a8a' }}>
          {tag}
        </li>
      ))}
    </ul>
  );
}

export const ThreadCard = memo(function ThreadCard(props: ThreadCardProps) {
  const { thread, anchorState, active, folded, pending, typing, vocabulary, top, cardRef, onActivate } = props;
  const style: CSSProperties = { top };
  const { session, user, permissions, ui, actions, model, info, docId } = useDocument();
  const people = usePeople(docId);
  const mentionContext = useMentionContext();
  const linked = useUiState(ui, (s) => (s.linked?.threadId === thread.id ? s.linked.commentId : null));
  const read = useUiState(ui, (s) => s.read.has(thread.id));
  // What is new to this reader: others' comments since their last view, until the thread is focused.
  const since = isGuest(user.id) || info.lastSeenAt === undefined || read ? null : (info.lastSeenAt ?? 0);
  const isFresh = (c: Comment) => since !== null && c.authorId !== user.id && c.createdAt > since;
  const fresh = thread.comments.some(isFresh);
  const [tagging, setTagging] = useState(false);
  const showResolved = useUiState(ui, (s) => s.showResolved);
  const connected = useStoreState(session.connection, (s) => s.status === 'connected');
  const showPending = useSettled(pending, connected ? 1500 : 0);
  const typingPublisher = useTyping(session.presence, thread.id);
  const first = thread.comments.find((c) => !c.deleted) ?? thread.comments[0];
  const resolved = thread.status === 'resolved';
  const mayTag = permissions.canComment;
  // The reply box shows on the focused card, or wherever a reply is half written.
  const [replyDraft, setReplyDraft] = useState('');
  const [focusReply, setFocusReply] = useState(false);
  useEffect(() => {
    if (!active) setFocusReply(false);
  }, [active]);
  // A long discussion shows its first and last comment until the card is focused.
  const hidden = !active && thread.comments.length > 3 ? thread.comments.length - 2 : 0;
  const shownComments = hidden ? [thread.comments[0]!, thread.comments[thread.comments.length - 1]!] : thread.comments;
  const toggleStatus = () => actions.setResolved(thread.id, !resolved);
  // Editors and the thread's creator may move it onto the words selected in the article: offered on an orphan or a
  // moved thread, and on the focused card.
  const mayReattach =
    permissions.canComment &&
    (permissions.canEdit || thread.createdBy === user.id) &&
    (anchorState !== 'exact' || active);
  const selection = useUiState(ui, (s) => (mayReattach ? s.articleSelection : null));
  const [reattachRefusal, setReattachRefusal] = useState<string | null>(null);
  const reattach = () => {
    if (!selection) return;
    const refusal = actions.reattach(thread.id, model.articleIndex(), selection.start, selection.end);
    setReattachRefusal(refusal ?? null);
    if (!refusal) window.getSelection()?.removeAllRanges();
  };
  const reattachButton = selection && (
    <button
      type="button"
      className="link"
      // Pressing it must not take the selection away before it is read.
      onMouseDown={(event) => event.preventDefault()}
      onClick={reattach}
      title="Attach this thread to the words selected in the article"
    >
      Re-attach to selection
    </button>
  );
  const resolver = resolved && thread.resolvedBy ? resolverName(thread.resolvedBy, user.id, model) : null;

  function onKeyDown(event: KeyboardEvent<HTMLElement>) {
    if (event.target !== event.currentTarget) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onActivate(thread.id);
    }
  }

  const common = {
    ref: cardRef,
    style,
    tabIndex: 0,
    'data-thread-card': thread.id,
    'data-status': thread.status,
    'data-anchor': anchorState,
    'data-folded': folded ? 'true' : 'false',
    onKeyDown,
    onClick: (event: MouseEvent) => {
      if ((event.target as HTMLElement).closest('button, textarea, input, select, a')) return;
      onActivate(thread.id);
    },
  };

  if (folded) {
    return (
      <article
        {...common}
        className={`thread-card folded${active ? ' active' : ''}${fresh ? ' has-new' : ''}`}
        aria-label={`Resolved thread on “${thread.quote.exact.slice(0, 60)}”`}
      >
        <span className="resolved-mark" aria-hidden="true">
          ✓
        </span>
        <span className="folded-text">
          Resolved{resolver ? ` by ${resolver}` : ''} · <q>{thread.quote.exact}</q>
        </span>
        <button
          type="button"
          className="link"
          onClick={() => ui.toggleUnfolded(thread.id)}
          aria-label="Show resolved thread"
        >
          Show
        </button>
      </article>
    );
  }

  return (
    <article
      {...common}
      className={`thread-card${active ? ' active' : ''}${resolved ? ' resolved' : ''}${fresh ? ' has-new' : ''}`}
      aria-label={`Thread by ${first ? personName(first.authorName, first.authorId) : 'someone'} on “${thread.quote.exact.slice(0, 60)}”`}
    >
      <header className="thread-head">
        <blockquote className="thread-quote" title={thread.quote.exact}>
          {thread.quote.exact}
        </blockquote>
        {anchorState === 'moved' && (
          <span className="chip warn" title="The text changed; the passage was found again nearby.">
            moved
          </span>
        )}
        {anchorState === 'orphan' && (
          <span className="chip danger" title="The passage this thread was about is gone from the article.">
            orphaned
          </span>
        )}
      </header>
      {resolver && (
        <p className="resolved-by">
          <span className="resolved-mark" aria-hidden="true">
            ✓
          </span>{' '}
          Resolved by {resolver}
          {thread.resolvedAt !== null && (
            <time dateTime={new Date(thread.resolvedAt).toISOString()} title={fullTime(thread.resolvedAt)}>
              {' '}
              · {timeAgo(thread.resolvedAt)}
            </time>
          )}
        </p>
      )}
      <TagChips tags={thread.tags} vocabulary={vocabulary} />
      <ol className="comments">
        {shownComments.map((comment, i) => (
          <Fragment key={comment.id}>
            {hidden > 0 && i === 1 && (
              <li className="more-comments">
                <button type="button" className="link" onClick={() => onActivate(thread.id)}>
                  {hidden} more {hidden === 1 ? 'reply' : 'replies'}
                </button>
              </li>
            )}
            <CommentView
              threadId={thread.id}
              comment={comment}
              mine={comment.authorId === user.id && permissions.canComment}
              moderate={permissions.isOwner}
              linked={linked === comment.id}
              fresh={isFresh(comment)}
            />
          </Fragment>
        ))}
      </ol>
      {showPending && (
        <p className="pending-note" role="status">
          Not yet synced: saved on this device
        </p>
      )}
      {typing.length > 0 && (
        <p className="typing" aria-live="polite">
          {typing.map((p) => p.name).join(', ')} {typing.length === 1 ? 'is' : 'are'} typing…
        </p>
      )}
      {permissions.canComment && (active || replyDraft) && (
        <div className="thread-actions">
          {!resolved && (
            <CommentBox
              compact
              label="Reply…"
              submitLabel="Reply"
              autoFocus={focusReply}
              value={replyDraft}
              onValueChange={setReplyDraft}
              onInput={typingPublisher.onInput}
              onCancel={() => {
                setReplyDraft('');
                typingPublisher.stop();
              }}
              people={people}
              mentionContext={mentionContext}
              onSubmit={(body, mentions) => {
                const refusal = actions.reply(thread.id, body, mentions);
                if (!refusal) typingPublisher.stop();
                return refusal;
              }}
            />
          )}
          <div className="thread-buttons">
            <button type="button" onClick={toggleStatus}>
              {resolved ? 'Reopen' : 'Resolve'}
            </button>
            {resolved && !showResolved && (
              <button type="button" className="link" onClick={() => ui.toggleUnfolded(thread.id)}>
                Fold
              </button>
            )}
            {mayTag && (
              <button type="button" className="link" aria-expanded={tagging} onClick={() => setTagging((t) => !t)}>
                {thread.tags.length ? 'Edit tags' : 'Add tags'}
              </button>
            )}
            {reattachButton}
            <CopyLink href={threadHref(docId, thread.id)} />
          </div>
          {tagging && <TagPicker thread={thread} vocabulary={vocabulary} onClose={() => setTagging(false)} />}
        </div>
      )}
      {permissions.canComment && !active && !replyDraft && (
        <div className="thread-buttons quiet">
          {!resolved && (
            <button
              type="button"
              className="link"
              onClick={() => {
                setFocusReply(true);
                onActivate(thread.id);
              }}
            >
              Reply
            </button>
          )}
          <button type="button" className="link" onClick={toggleStatus}>
            {resolved ? 'Reopen' : 'Resolve'}
          </button>
          {reattachButton}
          <CopyLink href={threadHref(docId, thread.id)} />
        </div>
      )}
      {reattachRefusal && (
        <p className="selection-notice" role="status">
          {reattachRefusal}
        </p>
      )}
      {!permissions.canComment && (
        <div className="thread-buttons quiet">
          <CopyLink href={threadHref(docId, thread.id)} />
        </div>
      )}
    </article>
  );
});

/** Copies the thread's permalink to the clipboard (or shows it to copy by hand where the clipboard is closed). */
function CopyLink({ href }: { href: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  const url = new URL(href, location.origin).href;
  return (
    <button
      type="button"
      className="link"
      data-copy-link={url}
      onClick={() => {
        const byHand = () => void window.prompt('Copy this link to the thread', url);
        if (navigator.clipboard) navigator.clipboard.writeText(url).then(() => setCopied(true), byHand);
        else byHand();
      }}
    >
      {copied ? 'Link copied' : 'Copy link'}
    </button>
  );
}

/** Who resolved a thread, by the name they write under anywhere in the document ("you" for oneself). */
function resolverName(resolvedBy: string, self: string, model: DocumentContextValue['model']): string {
  if (resolvedBy === self) return 'you';
  for (const thread of model.snapshot.getState().threads) {
    const comment = thread.comments.find((c) => c.authorId === resolvedBy);
    if (comment) return personName(comment.authorName, comment.authorId);
  }
  return isGuest(resolvedBy) ? 'a guest' : 'someone';
}
