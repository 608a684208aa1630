import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Role } from '@marginalia/shared';
import type { DocumentInfo, User } from '../../app/api';
import type { AnnotationModel, AnnotationSnapshot } from '../../collab/annotationModel';
import type { DocumentSession } from '../../collab/documentSession';
import type { ArticleBridge } from '../../editor/ArticleBridge';
import type { UiStore } from './uiStore';

export interface Permissions {
  role: Role;
  canComment: boolean;
  canEdit: boolean;
  isOwner: boolean;
}

export interface DocumentContextValue {
  docId: string;
  info: DocumentInfo;
  user: User;
  color: string;
  permissions: Permissions;
  session: DocumentSession;
  model: AnnotationModel;
  bridge: ArticleBridge;
  ui: UiStore;
}

export const DocumentContext = createContext<DocumentContextValue | null>(null);

export function useDocument(): DocumentContextValue {
  const value = useContext(DocumentContext);
  if (!value) throw new Error('useDocument must be used inside a DocumentView');
  return value;
}

export function useAnnotations(): AnnotationSnapshot {
  const { model } = useDocument();
  return useSyncExternalStore(model.subscribe, model.getSnapshot);
}

export function permissionsFor(role: Role): Permissions {
  return {
    role,
    canComment: role !== 'viewer',
    canEdit: role === 'editor' || role === 'owner',
    isOwner: role === 'owner',
  };
}
