/**
 * The article: a Lexical editor bound to the document's `root` through CollaborationPlugin, with the
 * annotation features as plugins inside the same composer. Content comes only from the server
 * (shouldBootstrap={false}, editorState: null); it is editable for editors and owners and read-only for
 * everyone else. The features draw in the overlay layer above the text, never as nodes in it.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
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
import { useStoreState } from '../app/store';
import { AnnotationHighlightsPlugin } from '../plugins/AnnotationHighlights';
import { ArticleLayoutPlugin } from '../plugins/ArticleLayoutPlugin';
import { CaretBrowsingPlugin } from '../plugins/CaretBrowsing';
import { RemoteSelectionsPlugin, SelectionPublisherPlugin } from '../plugins/Presence';
import { SelectionActionPlugin } from '../plugins/SelectionAction';
import { ArticleFindPlugin } from '../plugins/ArticleFind';
import { useDocument } from '../views/document/DocumentContext';
import { articleTheme } from './theme';
import { ArticlePreview, dropArticlePreview } from './ArticlePreview';

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

/** Editable for editors and owners; follows a role change while the document is open. */
function EditablePlugin({ editable }: { editable: boolean }) {
  const [editor] = useLexicalComposerContext();
  useEffect(() => {
    editor.setEditable(editable);
  }, [editor, editable]);
  return null;
}

export function ArticleEditor() {
  const { docId, session, layout, user, color, permissions } = useDocument();
  const ready = useStoreState(layout.state, (s) => s.ready);
  const [layer, setLayer] = useState<HTMLDivElement | null>(null);
  // Lexical draws remote cursors here; the Presence plugins draw their own (for every role, not only focused editors).
  const hiddenCursors = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (ready) dropArticlePreview();
  }, [ready]);

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
        <div className="article-wrap" data-article-ready={ready ? 'true' : 'false'}>
          <div className="overlay-layer" ref={setLayer}>
            <AnnotationHighlightsPlugin layer={layer} />
            <RemoteSelectionsPlugin layer={layer} />
            <CaretBrowsingPlugin layer={layer} />
          </div>
          <div className="article-editor">
            {!ready && <ArticlePreview docId={docId} />}
            <RichTextPlugin
              contentEditable={
                <ContentEditable
                  className="article-content"
                  aria-label="Article"
                  aria-readonly={!permissions.canEdit}
                  tabIndex={0}
                  spellCheck={permissions.canEdit}
                />
              }
              ErrorBoundary={LexicalErrorBoundary}
            />
            <div ref={hiddenCursors} className="lexical-cursors" aria-hidden="true" />
          </div>
          <SelectionActionPlugin layer={layer} />
        </div>
        <CollaborationPlugin
          id={docId}
          providerFactory={providerFactory}
          shouldBootstrap={false}
          username={user.name}
          cursorColor={color}
          cursorsContainerRef={hiddenCursors}
        />
        <EditablePlugin editable={permissions.canEdit} />
        <ArticleLayoutPlugin layer={layer} />
        <SelectionPublisherPlugin />
        <ArticleFindPlugin />
      </LexicalComposer>
    </LexicalCollaboration>
  );
}
