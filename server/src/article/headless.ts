/**
 * A headless Lexical editor bound to an article's Y.Doc (@lexical/yjs, collab v1, root `root`): the server writes
 * imported articles through it, and tests drive text edits through it exactly as a browser would.
 *
 * The wiring mirrors @lexical/react's CollaborationPlugin: Yjs -> Lexical through `root.observeDeep` (skipping the
 * binding's own transactions), Lexical -> Yjs through an update listener. Two things differ from a browser:
 * - Yjs -> Lexical arrives as a non-discrete `editor.update`, committed on a later microtask. A local discrete
 *   update made while such a remote update is pending is batched into it and inherits its 'collaboration' tag, and
 *   `syncLexicalUpdateToYjs` skips collaboration-tagged updates: the local edit would never reach Yjs. So every
 *   local update first commits what is pending (`settle`).
 * - A doc that already holds an article when the editor opens gets no event for that content; it is loaded the
 *   way a remote insert of the whole article is (the same two calls `$syncEvent` makes for the root).
 * - The binding caches its collab nodes on the Y types (`_collabNode`) and never removes them; a later binding on
 *   the same doc would reuse the stale ones and duplicate every text node. So one editor per doc at a time, and
 *   `destroy` clears the cache.
 * - Reacting to remote updates, the binding sometimes writes to the doc itself, from inside its observer, in
 *   transactions with no origin (its "dangling text" repairs). Those repairs lost letters under concurrent format +
 *   delete until the project's patch (patches/README.md); they still write from inside an observer, so a live
 *   server doc has no editor bound to it: the server binds one only to import into a fresh doc; reading the
 *   article needs none (shared/src/article.ts).
 */
import { createHeadlessEditor } from '@lexical/headless';
import { CodeHighlightNode, CodeNode } from '@lexical/code';
import { AutoLinkNode, LinkNode } from '@lexical/link';
import { ListItemNode, ListNode } from '@lexical/list';
import { HeadingNode, QuoteNode } from '@lexical/rich-text';
import {
  createBinding,
  syncLexicalUpdateToYjs,
  syncYjsChangesToLexical,
  type Binding,
  type Provider,
  type UserState,
} from '@lexical/yjs';
import { COLLABORATION_TAG, SKIP_COLLAB_TAG, type Klass, type LexicalEditor, type LexicalNode } from 'lexical';
import * as Y from 'yjs';
import { rootText } from '@marginalia/shared';

/**
 * The Lexical node types an article may contain. Every editor bound to an article (server and browser) must register
 * all of them: a type missing from one editor makes it throw "Node … is not registered" on the first remote update.
 */
export const ARTICLE_NODES: ReadonlyArray<Klass<LexicalNode>> = [
  HeadingNode,
  QuoteNode,
  ListNode,
  ListItemNode,
  LinkNode,
  AutoLinkNode,
  CodeNode,
  CodeHighlightNode,
];

export interface ArticleEditor {
  readonly editor: LexicalEditor;
  readonly binding: Binding;
  /** Runs `fn` as a discrete Lexical update; resolves once the change is written to the Y.Doc. */
  update(fn: () => void): Promise<void>;
  /** Resolves once every Yjs change received so far is applied to the Lexical state. */
  settle(): Promise<void>;
  /** Reads the editor state after applying pending Yjs changes (e.g. `read(() => $getRoot().getTextContent())`). */
  read<T>(fn: () => T): T;
  /** Detaches from the doc (which stays usable; its owner destroys it). */
  destroy(): void;
}

/** A provider whose awareness goes nowhere: the binding reads and writes awareness, a server has no cursor. */
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

/** Docs with a live editor: a second binding on one doc would fight the first over the cached collab nodes. */
const openDocs = new WeakSet<Y.Doc>();

type WithCollabNode = { _collabNode?: unknown };

/** Forgets the collab nodes a binding cached on the article's Y types (see the note at the top). */
function forgetCollabNodes(type: Y.XmlText | Y.XmlElement): void {
  delete (type as unknown as WithCollabNode)._collabNode;
  const children: unknown[] =
    type instanceof Y.XmlText ? type.toDelta().map((op: { insert: unknown }) => op.insert) : type.toArray();
  for (const child of children) {
    if (child instanceof Y.XmlText || child instanceof Y.XmlElement) forgetCollabNodes(child);
    else if (child instanceof Y.Map) delete (child as unknown as WithCollabNode)._collabNode;
  }
}

/** Binds a headless editor to the article in `doc`. One at a time per doc: destroy it before opening another. */
export function openArticleEditor(doc: Y.Doc, options: { id?: string } = {}): ArticleEditor {
  if (openDocs.has(doc)) throw new Error('an article editor is already open on this doc; destroy it first');
  const id = options.id ?? 'article';
  const editor = createHeadlessEditor({
    namespace: 'marginalia-article',
    nodes: [...ARTICLE_NODES],
    onError: (error) => {
      throw error;
    },
  });
  const root = rootText(doc);
  // Before the binding exists: it caches its own root collab node on `root` as it is created.
  forgetCollabNodes(root);
  const provider = silentProvider();
  const docMap = new Map<string, Y.Doc>([[id, doc]]);
  const binding = createBinding(editor, provider, id, doc, docMap);
  openDocs.add(doc);

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the deep observer's event type
  const onYjs = (events: Y.YEvent<any>[], transaction: Y.Transaction): void => {
    if (transaction.origin !== binding) {
      syncYjsChangesToLexical(binding, provider, events, transaction.origin instanceof Y.UndoManager);
    }
  };
  root.observeDeep(onYjs);
  const removeListener = editor.registerUpdateListener(
    ({ prevEditorState, editorState, dirtyElements, dirtyLeaves, normalizedNodes, tags }) => {
      if (!tags.has(SKIP_COLLAB_TAG)) {
        syncLexicalUpdateToYjs(
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

  if (root.length > 0) {
    editor.update(
      () => {
        binding.root.applyChildrenYjsDelta(binding, root.toDelta());
        binding.root.syncChildrenFromYjs(binding);
      },
      { discrete: true, tag: COLLABORATION_TAG },
    );
  }

  /** Commits pending (remote) updates now; committing can queue a follow-up (e.g. "ensure not empty"), so loop. */
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
    binding,
    async update(fn) {
      alive();
      flush();
      editor.update(fn, { discrete: true });
      flush();
    },
    async settle() {
      alive();
      flush();
      // Let observers that schedule on a microtask (as the binding's own follow-ups do) run, then commit again.
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
      forgetCollabNodes(root);
      openDocs.delete(doc);
    },
  };
}
