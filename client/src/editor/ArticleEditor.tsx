/**
 * The article: a Lexical editor bound to the document's `root` through CollaborationPlugin. Content comes
 * only from the server (shouldBootstrap={false}, editorState: null); it is editable for editors and owners
 * and read-only for everyone else. Annotation features are plugins rendered beside it, never nodes in it.
 */
import { useCallback, useEffect, useRef, type ReactNode } from 'react';
import { LexicalCollaboration } from '@lexical/react/LexicalCollaborationContext';
import { CollaborationPlugin } from '@lexical/react/LexicalCollaborationPlugin';
import { LexicalComposer, type InitialConfigType } from '@lexical/react/LexicalComposer';
import { useLexicalComposerContext } from '@lexical/react/LexicalComposerContext';
import { ContentEditable } from '@lexical/react/LexicalContentEditable';
import { LexicalErrorBoundary } from '@lexical/react/LexicalErrorBoundary';
import { RichTextPlugin } from '@lexical/react/LexicalRichTextPlugin';
import { HeadingNode, QuoteNode } from '@lexical/rich-text';
import { ListItemNode, ListNode } from '@lexical/list';
import { AutoLinkNode, LinkNode } from '@lexical/link';
import { CodeHighlightNode, CodeNode } from '@lexical/code';
import type { Provider } from '@lexical/yjs';
import type * as Y from 'yjs';
import { useDocument } from '../views/document/DocumentContext';
import { articleTheme } from './theme';

/** Every node type the server's importer may write into `root`; an unknown type would break the sync. */
export const ARTICLE_NODES = [
  HeadingNode,
  QuoteNode,
  ListNode,
  ListItemNode,
  LinkNode,
  AutoLinkNode,
  CodeNode,
  CodeHighlightNode,
];

function BridgePlugin() {
  const [editor] = useLexicalComposerContext();
  const { bridge, permissions } = useDocument();
  useEffect(() => {
    bridge.setEditor(editor);
    const removeUpdate = editor.registerUpdateListener(() => bridge.invalidate());
    return () => {
      removeUpdate();
      bridge.setEditor(null);
    };
  }, [bridge, editor]);
  useEffect(() => {
    editor.setEditable(permissions.canEdit);
  }, [editor, permissions.canEdit]);
  return null;
}

export function ArticleEditor({ children }: { children?: ReactNode }) {
  const { docId, session, bridge, user, color, permissions } = useDocument();
  // Lexical draws remote cursors here; Presence draws its own (for every role, not only focused editors).
  const hiddenCursors = useRef<HTMLDivElement>(null);

  const initialConfig: InitialConfigType = {
    namespace: 'marginalia-article',
    nodes: ARTICLE_NODES,
    theme: articleTheme,
    editorState: null,
    editable: permissions.canEdit,
    onError: (error: Error) => {
      console.error('The article editor failed:', error);
    },
  };

  const providerFactory = useCallback(
    (id: string, yjsDocMap: Map<string, Y.Doc>): Provider => {
      // One document per session: StrictMode's second mount must find the same doc, never a fresh one.
      if (!yjsDocMap.has(id)) yjsDocMap.set(id, session.doc);
      return session.lexicalProvider;
    },
    [session],
  );

  return (
    <LexicalCollaboration>
      <LexicalComposer initialConfig={initialConfig}>
        <div className="article-editor">
          <RichTextPlugin
            contentEditable={
              <ContentEditable
                className="article-content"
                aria-label="Article"
                aria-readonly={!permissions.canEdit}
                spellCheck={permissions.canEdit}
              />
            }
            ErrorBoundary={LexicalErrorBoundary}
          />
          <div ref={hiddenCursors} className="lexical-cursors" aria-hidden="true" />
        </div>
        <CollaborationPlugin
          id={docId}
          providerFactory={providerFactory}
          shouldBootstrap={false}
          username={user.name}
          cursorColor={color}
          cursorsContainerRef={hiddenCursors}
          syncCursorPositionsFn={bridge.syncCursorPositions}
        />
        <BridgePlugin />
        {children}
      </LexicalComposer>
    </LexicalCollaboration>
  );
}
