/**
 * Loads what a document view needs: the document's REST record (cached for offline reloads) and the live
 * objects (session, model, bridge, view store), created in an effect and destroyed with the view.
 */
import { useEffect, useState } from 'react';
import { api, ApiError, type DocumentInfo, type Session } from '../../app/api';
import { AnnotationModel } from '../../collab/annotationModel';
import { DocumentSession } from '../../collab/documentSession';
import { ArticleBridge } from '../../editor/ArticleBridge';
import { UiStore } from './uiStore';

export interface LiveResources {
  session: DocumentSession;
  model: AnnotationModel;
  bridge: ArticleBridge;
  ui: UiStore;
}

export type InfoState =
  | { status: 'loading' }
  | { status: 'ready'; info: DocumentInfo; offline: boolean }
  | { status: 'error'; message: string; code: number };

const cacheKey = (userId: string, docId: string) => `marginalia.doc.${userId}.${docId}`;

export function useDocumentInfo(docId: string, session: Session): InfoState {
  const [state, setState] = useState<InfoState>({ status: 'loading' });
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
  }, [docId, session.user.id]);
  return state;
}

export function useLiveResources(docId: string, session: Session, enabled: boolean): LiveResources | null {
  const [resources, setResources] = useState<LiveResources | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const documentSession = new DocumentSession(docId, session.token, session.user.id);
    const live: LiveResources = {
      session: documentSession,
      model: new AnnotationModel(documentSession.doc),
      bridge: new ArticleBridge(),
      ui: new UiStore(),
    };
    setResources(live);
    return () => {
      setResources((current) => (current === live ? null : current));
      // After the editor's own cleanups (they still disconnect the provider and unbind the doc).
      setTimeout(() => {
        live.model.destroy();
        live.bridge.destroy();
        live.session.destroy();
      }, 0);
    };
  }, [docId, session.token, session.user.id, enabled]);
  return resources;
}
