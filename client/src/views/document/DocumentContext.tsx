import { createContext, useContext } from 'react';
import type { Role } from '@marginalia/shared';
import type { DocumentInfo, User } from '../../app/api';
import { useStoreState } from '../../app/store';
import type { AnnotationModel, AnnotationSnapshot } from '../../collab/annotationModel';
import type { DocumentSession } from '../../collab/documentSession';
import type { ArticleLayout } from '../../editor/articleLayout';
import type { DocumentActions } from './actions';
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
  layout: ArticleLayout;
  ui: UiStore;
  /** What the user can do to the document: every change the views make goes through these. */
  actions: DocumentActions;
}

export const DocumentContext = createContext<DocumentContextValue | null>(null);

export function useDocument(): DocumentContextValue {
  const value = useContext(DocumentContext);
  if (!value) throw new Error('useDocument must be used inside a DocumentView');
  return value;
}

export function useAnnotations(): AnnotationSnapshot {
  const { model } = useDocument();
  return useStoreState(model.snapshot);
}

export function permissionsFor(role: Role): Permissions {
  return {
    role,
    canComment: role !== 'viewer',
    canEdit: role === 'editor' || role === 'owner',
    isOwner: role === 'owner',
  };
}
