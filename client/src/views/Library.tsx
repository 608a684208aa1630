import { useCallback, useEffect, useState } from 'react';
import { api, type DocumentSummary, type Session } from '../app/api';
import { documentHref, followLink, navigate } from '../app/router';
import { signOut } from '../app/session';
import { ThemeToggle } from '../ui/theme';
import { fullTime, isGuest, personName, plural, roleLabel, timeAgo, toMillis, userColor } from '../ui/format';
import { Avatar } from '../ui/Avatar';
import { NewDocumentDialog } from './NewDocumentDialog';
import { NotificationBell } from '../notifications/NotificationBell';
import { SearchBox } from './SearchBox';

const CACHE_KEY = 'marginalia.library';

function cachedList(userId: string): DocumentSummary[] | null {
  try {
    const raw = localStorage.getItem(`${CACHE_KEY}.${userId}`);
    return raw ? (JSON.parse(raw) as DocumentSummary[]) : null;
  } catch {
    return null;
  }
}

export function Library({ session }: { session: Session }) {
  const { user } = session;
  const [documents, setDocuments] = useState<DocumentSummary[] | null>(() => cachedList(user.id));
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);

  const load = useCallback(async () => {
    try {
      const list = await api.documents();
      setDocuments(list);
      setError(null);
      localStorage.setItem(`${CACHE_KEY}.${user.id}`, JSON.stringify(list));
    } catch (e) {
      setError((e as Error).message);
    }
  }, [user.id]);

  useEffect(() => {
    document.title = 'Library · Marginalia';
    void load();
  }, [load]);

  async function remove(doc: DocumentSummary) {
    if (!window.confirm(`Delete “${doc.title}” and all its threads for everyone? This cannot be undone.`)) return;
    try {
      await api.deleteDocument(doc.id);
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const sorted = [...(documents ?? [])].sort((a, b) => (toMillis(b.updatedAt) ?? 0) - (toMillis(a.updatedAt) ?? 0));

  return (
    <div className="page">
      <header className="topbar">
        <a className="brand small" href="/" onClick={followLink}>
          <span className="brand-mark" aria-hidden="true">
            ¶
          </span>{' '}
          Marginalia
        </a>
        <SearchBox />
        <div className="topbar-right">
          <span className="whoami">
            <Avatar name={user.name} color={userColor(user.id)} size={26} guest={isGuest(user.id)} />
            <span className="whoami-name">{personName(user.name, user.id)}</span>
          </span>
          {!isGuest(user.id) && <NotificationBell />}
          <ThemeToggle />
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main className="library">
        <div className="library-head">
          <h1>Documents</h1>
          {/* Guests may open documents shared with guests, never create one: no button to be refused after. */}
          {isGuest(user.id) ? (
            <p className="muted small">Sign in with an account to create documents.</p>
          ) : (
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              New document
            </button>
          )}
        </div>
        {error && (
          <p className="banner warn" role="status">
            {error}
          </p>
        )}
        {documents === null ? (
          <p className="muted">Loading…</p>
        ) : sorted.length === 0 ? (
          <div className="empty">
            <p>No documents yet.</p>
            <p className="muted">Create one by pasting text or uploading a .txt, .md or .html file.</p>
          </div>
        ) : (
          <table className="doc-table">
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Your role</th>
                <th scope="col" className="num wide-only">
                  Threads
                </th>
                <th scope="col" className="num wide-only">
                  Comments
                </th>
                <th scope="col" className="wide-only">
                  Last activity
                </th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((doc) => (
                <tr key={doc.id} data-doc-id={doc.id}>
                  <td>
                    <a className="doc-link" href={documentHref(doc.id)} onClick={followLink}>
                      {doc.title}
                    </a>
                    {(doc.unreadComments ?? 0) > 0 && (
                      <span
                        className="new-count"
                        title={`${plural(doc.unreadComments!, 'comment')} by others since you last read it`}
                      >
                        {doc.unreadComments} new
                      </span>
                    )}
                    {doc.guestRole && (
                      <span className="chip subtle" title="Guests may open this document">
                        guests: {doc.guestRole}
                      </span>
                    )}
                  </td>
                  <td>
                    <span className={`role role-${doc.role}`}>{roleLabel(doc.role)}</span>
                  </td>
                  <td className="num wide-only">{doc.threadCount ?? '–'}</td>
                  <td className="num wide-only">{doc.commentCount ?? '–'}</td>
                  <td className="wide-only" title={fullTime(doc.updatedAt)}>
                    {timeAgo(doc.updatedAt)}
                  </td>
                  <td className="actions">
                    {doc.role === 'owner' && (
                      <button
                        type="button"
                        className="danger subtle"
                        aria-label={`Delete ${doc.title}`}
                        onClick={() => void remove(doc)}
                      >
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {documents && documents.length > 0 && (
          <p className="muted small">{plural(documents.length, 'document')} you can open.</p>
        )}
      </main>
      {creating && (
        <NewDocumentDialog
          onClose={() => setCreating(false)}
          onCreated={(id) => {
            setCreating(false);
            navigate(documentHref(id));
          }}
        />
      )}
    </div>
  );
}
