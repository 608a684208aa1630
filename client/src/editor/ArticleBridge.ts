/**
 * What the annotation layers need from the editor, outside React's render: the editor, the collaboration
 * binding (CollaborationPlugin keeps it private; its `syncCursorPositionsFn` hook is where it is handed
 * out), and a "layout changed" signal that fires after every reconciled update, resize or font load.
 */
import type { LexicalEditor } from 'lexical';
import { syncCursorPositions, type Binding, type SyncCursorPositionsFn } from '@lexical/yjs';
import { ArticleGeometry } from './geometry';

export class ArticleBridge {
  private editor: LexicalEditor | null = null;
  private binding: Binding | null = null;
  private geometryCache: ArticleGeometry | null = null;
  private readonly listeners = new Set<() => void>();
  private frame = 0;
  /** Counts layout changes; a layer recomputes when it differs from the one it drew. */
  layoutVersion = 0;

  readonly syncCursorPositions: SyncCursorPositionsFn = (binding, provider, options) => {
    if ('collabNodeMap' in binding && this.binding !== binding) {
      performance.mark('marginalia:article-bound');
      this.binding = binding;
      this.geometryCache = null;
    }
    syncCursorPositions(binding, provider, options);
    this.invalidate();
  };

  setEditor(editor: LexicalEditor | null): void {
    this.editor = editor;
    this.geometryCache = null;
    this.invalidate();
  }

  /** Null until the editor is bound and has received the article. */
  get geometry(): ArticleGeometry | null {
    if (!this.geometryCache && this.editor && this.binding && this.binding.editor === this.editor) {
      this.geometryCache = new ArticleGeometry(this.editor, this.binding);
    }
    return this.geometryCache;
  }

  get rootElement(): HTMLElement | null {
    return this.editor?.getRootElement() ?? null;
  }

  /** Coalesces layout changes into one notification per animation frame. */
  invalidate = (): void => {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.layoutVersion += 1;
      for (const listener of this.listeners) listener();
    });
  };

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getLayoutVersion = (): number => this.layoutVersion;

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.listeners.clear();
    this.editor = null;
    this.binding = null;
    this.geometryCache = null;
  }
}
