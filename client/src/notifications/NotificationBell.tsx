/**
 * The bell in the header: the unread count, and an inbox panel grouped by document (mark one read by opening it,
 * or all at once), live via the event stream. Opening an item goes to the thread's permalink.
 */
import { useEffect, useState } from 'react';
import { useDismiss } from '../ui/useDismiss';
import { navigate } from '../app/router';
import { timeAgo } from '../ui/format';
import { NotificationSettingsDialog } from './NotificationSettingsDialog';
import { byDocument, describe, markAllRead, markRead, threadHref, useInbox, watchInbox } from './inbox';

export function NotificationBell() {
  const { items, unread, loaded, error } = useInbox();
  const [open, setOpen] = useState(false);
  const [settings, setSettings] = useState(false);
  const root = useDismiss(open, () => setOpen(false), { focusOnEscape: '.bell' });

  useEffect(() => watchInbox(), []);

  return (
    <div className="menu notifications" ref={root}>
      <button
        type="button"
        className="icon bell"
        aria-label={unread ? `Notifications, ${unread} unread` : 'Notifications'}
        aria-haspopup="true"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        <svg
          aria-hidden="true"
          width="18"
          height="18"
          viewBox="0 0 24 24"
          fill="none"
          stroke="currentColor"
          strokeWidth="2"
          strokeLinecap="round"
          strokeLinejoin="round"
        >
          <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
          <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
        </svg>
        {unread > 0 && (
          <span className="bell-count" aria-hidden="true">
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </button>
      {open && (
        <div className="menu-popup inbox" role="region" aria-label="Notifications">
          <div className="inbox-head">
            <strong>Notifications</strong>
            <button type="button" className="link" disabled={unread === 0} onClick={() => void markAllRead()}>
              Mark all read
            </button>
            <button type="button" className="link" onClick={() => setSettings(true)}>
              Email…
            </button>
          </div>
          {error && <p className="form-error">{error}</p>}
          {loaded && items.length === 0 && (
            <p className="hint inbox-empty">Nothing yet. Mentions and replies come here.</p>
          )}
          {byDocument(items).map((group) => (
            <section key={group.documentId} className="inbox-group" aria-label={group.title}>
              <h3>{group.title}</h3>
              <ul>
                {group.items.map((n) => (
                  <li key={n.id} className={n.readAt === null ? 'inbox-item unread' : 'inbox-item'}>
                    <a
                      href={threadHref(n)}
                      onClick={(event) => {
                        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
                        event.preventDefault();
                        if (n.readAt === null) void markRead([n.id]);
                        setOpen(false);
                        navigate(threadHref(n));
                      }}
                    >
                      <span className="inbox-what">{describe(n)}</span>
                      {n.excerpt && <span className="inbox-excerpt">{n.excerpt}</span>}
                      <time dateTime={new Date(n.createdAt).toISOString()}>{timeAgo(n.createdAt)}</time>
                    </a>
                    {n.readAt === null && (
                      <button
                        type="button"
                        className="link inbox-read"
                        aria-label={`Mark read: ${describe(n)}`}
                        onClick={() => void markRead([n.id])}
                      >
                        Mark read
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
      )}
      {settings && <NotificationSettingsDialog onClose={() => setSettings(false)} />}
    </div>
  );
}
