/**
 * Loads what a document view needs: the document's REST record (cached for offline reloads) and the live
 * objects (session, model, article layout, view store), created in an effect and destroyed with the view.
 */
import { useEffect, useState } from 'react';
import { api, ApiError, type DocumentInfo, type Session } from '../../app/api';
import { AnnotationModel } from '../../collab/annotationModel';
import { DocumentSession, ROLE_CHANGED_EVENT } from '../../collab/documentSession';
import { ArticleLayout } from '../../editor/articleLayout';
import { focusCardWhenShown } from '../../threads/focusCard';
import { documentActions, type DocumentActions } from './actions';
import { UiStore } from './uiStore';

export interface LiveResources {
  session: DocumentSession;
  model: AnnotationModel;
  layout: ArticleLayout;
  ui: UiStore;
  actions: DocumentActions;
}

export type InfoState =
  | { status: 'loading' }
  | { status: 'ready'; info: DocumentInfo; offline: boolean }
  | { status: 'error'; message: string; code: number };

const cacheKey = (userId: string, docId: string) => `marginalia.doc.${userId}.${docId}`;

export function useDocumentInfo(docId: string, session: Session): InfoState {
  const [state, setState] = useState<InfoState>({ status: 'loading' });
  // Bumped when the server says our role changed: the record (and the role in it) is read again.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const onRoleChanged = (e: Event) => {
      if ((e as CustomEvent<string>).detail === docId) setGeneration((g) => g + 1);
    };
    window.addEventListener(ROLE_CHANGED_EVENT, onRoleChanged);
    return () => window.removeEventListener(ROLE_CHANGED_EVENT, onRoleChanged);
  }, [docId]);
  useEffect(() => {
    let cancelled = false;
    api.document(docId).then(
      (info) => {
        localStorage.setItem(cacheKey(session.user.id, docId), JSON.stringify(info));
        if (!cancelled) setState({ status: 'ready', info, offline: false });
      },
      (error: unknown) => {
        if (cancelled) return;
        const cached = localStorage.getItem(cacheKey(session.user.id, docId));
        if (error instanceof ApiError && error.offline && cached) {
          setState({ status: 'ready', info: JSON.parse(cached) as DocumentInfo, offline: true });
        } else {
          const code = error instanceof ApiError ? error.status : 0;
          const message =
            code === 404
              ? 'This document does not exist, or it was deleted.'
              : code === 403
                ? 'You do not have access to this document. Ask its owner to add you.'
                : (error as Error).message;
          setState({ status: 'error', message, code });
        }
      },
    );
    return () => {
      cancelled = true;
    };
  }, [docId, session.user.id, generation]);
  return state;
}

export function useLiveResources(docId: string, session: Session, enabled: boolean): LiveResources | null {
  const [resources, setResources] = useState<LiveResources | null>(null);
  const { user } = session;
  useEffect(() => {
    if (!enabled) return;
    const documentSession = new DocumentSession(docId, user.id);
    const model = new AnnotationModel(documentSession.doc);
    const ui = new UiStore();
    const live: LiveResources = {
      session: documentSession,
      model,
      layout: new ArticleLayout(),
      ui,
      actions: documentActions({
        doc: documentSession.doc,
        user,
        ui,
        withdrawSelection: () => documentSession.presence.set({ selection: null }),
        markPending: (threadId) => documentSession.tracker.markThread(threadId),
        refresh: () => model.flush(),
        focusThread: focusCardWhenShown,
      }),
    };
    setResources(live);
    return () => {
      setResources((current) => (current === live ? null : current));
      // After the editor's own cleanups (they still disconnect the provider and unbind the doc).
      setTimeout(() => {
        live.model.destroy();
        live.layout.destroy();
        live.session.destroy();
      }, 0);
    };
  }, [docId, user, enabled]);
  return resources;
}
