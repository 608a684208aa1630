/**
 * One open document: header (title, connection, presence, actions), filter bar, the article with its
 * plugins, and the margin of threads. The live objects come from useLiveResources; views read them
 * through DocumentContext.
 */
import { useEffect, useMemo } from 'react';
import type { Session } from '../../app/api';
import { followLink } from '../../app/router';
import { ArticleEditor } from '../../editor/ArticleEditor';
import { ArticlePreview, dropArticlePreview, hasArticlePreview } from '../../editor/ArticlePreview';
import { CommentComposer } from '../../threads/CommentComposer';
import { FilterBar } from '../../threads/FilterBar';
import { OrphanedThreads } from '../../threads/OrphanedThreads';
import { ThreadsPanel } from '../../threads/ThreadsPanel';
import { ErrorBoundary } from '../../ui/ErrorBoundary';
import { userColor } from '../../ui/format';
import { useNarrow } from '../../ui/useMediaQuery';
import { DocumentContext, permissionsFor, useDocument, type DocumentContextValue } from './DocumentContext';
import { DocumentHeader } from './DocumentHeader';
import { markVisit } from '../../dialogs/HistoryDialog';
import { Permalink } from './Permalink';
import { SeenTracker } from './SeenTracker';
import { useUiState } from './uiStore';
import { useDocumentInfo, useLiveResources } from './useDocumentResources';

export function DocumentView({
  docId,
  session,
  threadId = null,
  commentId = null,
}: {
  docId: string;
  session: Session;
  /** A permalink's thread and comment (Permalink.tsx). */
  threadId?: string | null;
  commentId?: string | null;
}) {
  const infoState = useDocumentInfo(docId, session);
  const live = useLiveResources(docId, session, infoState.status === 'ready');

  const value = useMemo<DocumentContextValue | null>(() => {
    if (infoState.status !== 'ready' || !live) return null;
    return {
      docId,
      info: infoState.info,
      user: session.user,
      color: userColor(session.user.id),
      permissions: permissionsFor(infoState.info.role),
      ...live,
    };
  }, [docId, infoState, live, session.user]);

  useEffect(() => {
    if (infoState.status === 'ready') document.title = `${infoState.info.title} · Marginalia`;
  }, [infoState]);

  // Remembers this visit, for the history's "What changed since my last visit".
  useEffect(() => {
    if (infoState.status === 'ready' && !infoState.offline) void markVisit(docId);
  }, [docId, infoState]);

  useEffect(() => {
    if (!value) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      // A draft's text stays for the next time the composer opens.
      if (value.ui.getState().draft) value.actions.cancelThread();
      value.ui.set({ activeThreadId: null });
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [value]);

  useEffect(() => {
    if (infoState.status === 'error') dropArticlePreview();
  }, [infoState]);

  if (infoState.status === 'error') {
    return (
      <main className="page message-page">
        <h1>Cannot open this document</h1>
        <p>{infoState.message}</p>
        <p>
          <a href="/" onClick={followLink}>
            Back to the library
          </a>
        </p>
      </main>
    );
  }
  if (!value)
    return hasArticlePreview(docId) ? (
      <main className="preview-page">
        <ArticlePreview docId={docId} />
      </main>
    ) : (
      <main className="page message-page">
        <p className="muted">Opening…</p>
      </main>
    );

  return (
    <DocumentContext.Provider value={value}>
      <Permalink threadId={threadId} commentId={commentId} />
      <SeenTracker />
      <div className="doc-page" data-role={value.permissions.role}>
        <DocumentHeader offline={infoState.status === 'ready' && infoState.offline} />
        <FilterBar />
        <div className="doc-scroll">
          <div className="doc-columns">
            <main className="article-column">
              <ErrorBoundary label="The article">
                <ArticleEditor />
              </ErrorBoundary>
              <OrphanedThreads />
              <div data-article-end aria-hidden="true" />
            </main>
            <Margin />
          </div>
        </div>
      </div>
    </DocumentContext.Provider>
  );
}

/**
 * The threads beside the article; on a narrow screen, a panel over the bottom of the screen that the header's
 * "Threads" button opens (and that opens by itself for a focused thread).
 */
function Margin() {
  const { ui } = useDocument();
  const narrow = useNarrow();
  const open = useUiState(ui, (s) => s.sheetOpen);
  const draft = useUiState(ui, (s) => s.draft);
  if (!narrow) {
    return (
      <aside className="margin" aria-label="Threads">
        <ErrorBoundary label="The threads">
          <ThreadsPanel />
        </ErrorBoundary>
      </aside>
    );
  }
  if (draft) {
    // The passage being commented on stays in view above this panel (see CommentComposer).
    return (
      <div className="sheet composer-sheet">
        <CommentComposer draft={draft} />
      </div>
    );
  }
  return (
    <aside id="threads-sheet" className="margin sheet" aria-label="Threads" hidden={!open}>
      <div className="sheet-head">
        <h2>Threads</h2>
        <button type="button" className="icon" aria-label="Close threads" onClick={() => ui.set({ sheetOpen: false })}>
          ×
        </button>
      </div>
      <ErrorBoundary label="The threads">
        <ThreadsPanel />
      </ErrorBoundary>
    </aside>
  );
}
