/**
 * For the editing fuzzer only: a headless Lexical editor bound to a Y.Doc through @lexical/yjs 0.52's collab v2
 * (`createBindingV2__EXPERIMENTAL`), so that the fuzzer can measure v2 against v1 on the same schedules. Nothing
 * shipped uses it: the client and the server bind collab v1 (server/src/article/headless.ts), and v2 stores a
 * different Yjs layout (an `XmlElement` named `root-v2`, one `XmlElement` per Lexical element node, one `XmlText`
 * per run of text nodes with their format as text attributes) that docs/SCHEMA.md does not describe.
 *
 * The wiring mirrors @lexical/react's `useYjsCollaborationV2__EXPERIMENTAL`: Yjs -> Lexical through
 * `root.observeDeep` (skipping the binding's own transactions), Lexical -> Yjs through an update listener; a doc
 * that already holds an article is loaded with `syncYjsStateToLexicalV2__EXPERIMENTAL`. v2 keeps its Yjs <-> Lexical
 * mapping on the binding (not on the Y types as v1 does), so a fresh binding on a doc needs no clean-up.
 * Updates are committed the way the v1 set-up commits them (pending ones first), for the same reason: v2 applies
 * remote changes discretely, but queues its "ensure not empty" follow-up as a non-discrete update.
 */
import { createHeadlessEditor } from '@lexical/headless';
import {
  createBindingV2__EXPERIMENTAL,
  syncLexicalUpdateToYjsV2__EXPERIMENTAL,
  syncYjsChangesToLexicalV2__EXPERIMENTAL,
  syncYjsStateToLexicalV2__EXPERIMENTAL,
  type Provider,
  type UserState,
} from '@lexical/yjs';
import { SKIP_COLLAB_TAG, type LexicalEditor } from 'lexical';
import * as Y from 'yjs';
import { ARTICLE_NODES } from '../../server/src/article/headless.js';

/** The name v2 gives its root by default. */
export const V2_ROOT = 'root-v2';

export interface ArticleEditorV2 {
  readonly editor: LexicalEditor;
  update(fn: () => void): Promise<void>;
  settle(): Promise<void>;
  read<T>(fn: () => T): T;
  destroy(): void;
}

function silentProvider(): Provider {
  let local: UserState | null = null;
  return {
    awareness: {
      getLocalState: () => local,
      getStates: () => new Map(),
      setLocalState: (state) => {
        local = state;
      },
      setLocalStateField: (field, value) => {
        if (local) local = { ...local, [field]: value };
      },
      on: () => undefined,
      off: () => undefined,
    },
    connect: () => undefined,
    disconnect: () => undefined,
    on: () => undefined,
    off: () => undefined,
  };
}

const MAX_FLUSHES = 20;

export function v2Root(doc: Y.Doc): Y.XmlElement {
  return doc.get(V2_ROOT, Y.XmlElement) as Y.XmlElement;
}

/** Binds a headless editor to the v2 article root of `doc`. */
export function openArticleEditorV2(doc: Y.Doc, options: { id?: string } = {}): ArticleEditorV2 {
  const id = options.id ?? 'article';
  const editor = createHeadlessEditor({
    namespace: 'marginalia-article-v2',
    nodes: [...ARTICLE_NODES],
    onError: (error) => {
      throw error;
    },
  });
  const provider = silentProvider();
  const docMap = new Map<string, Y.Doc>([[id, doc]]);
  const binding = createBindingV2__EXPERIMENTAL(editor, id, doc, docMap, { rootName: V2_ROOT });
  const root = binding.root;

  const onYjs = (events: Y.YEvent<any>[], transaction: Y.Transaction): void => {
    if (transaction.origin !== binding) {
      syncYjsChangesToLexicalV2__EXPERIMENTAL(
        binding,
        provider,
        events,
        transaction,
        transaction.origin instanceof Y.UndoManager,
      );
    }
  };
  root.observeDeep(onYjs);
  const removeListener = editor.registerUpdateListener(
    ({ prevEditorState, editorState, dirtyElements, dirtyLeaves, normalizedNodes, tags }) => {
      if (!tags.has(SKIP_COLLAB_TAG)) {
        syncLexicalUpdateToYjsV2__EXPERIMENTAL(
          binding,
          provider,
          prevEditorState,
          editorState,
          dirtyElements,
          dirtyLeaves,
          normalizedNodes,
          tags,
        );
      }
    },
  );
  if (root.length > 0) syncYjsStateToLexicalV2__EXPERIMENTAL(binding, provider);

  const flush = (): void => {
    for (let i = 0; i < MAX_FLUSHES && (editor._pendingEditorState !== null || editor._updates.length > 0); i++) {
      editor.read(() => undefined);
    }
  };
  let destroyed = false;
  const alive = (): void => {
    if (destroyed) throw new Error('the article editor is destroyed');
  };
  return {
    editor,
    async update(fn) {
      alive();
      flush();
      editor.update(fn, { discrete: true });
      flush();
    },
    async settle() {
      alive();
      flush();
      await Promise.resolve();
      flush();
    },
    read(fn) {
      alive();
      flush();
      return editor.read(fn);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      root.unobserveDeep(onYjs);
      removeListener();
      docMap.delete(id);
    },
  };
}
