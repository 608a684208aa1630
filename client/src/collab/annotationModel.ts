/**
 * The document as the views see it: threads, where each one is anchored now, the tag vocabulary and the
 * title. Read through shared's accessors only; re-read per change (observeThreads names the threads that
 * changed, so unchanged Thread objects keep their identity and their cards do not re-render).
 *
 * Anchors depend on the text, which changes with every keystroke of an editor: they are re-resolved at
 * most once per animation frame.
 */
import {
  articleIndex,
  metaMap,
  observeThreads,
  readMeta,
  readThread,
  readThreads,
  readVocabulary,
  resolveAnchor,
  rootText,
  vocabularyMap,
  type ArticleIndex,
  type ResolvedAnchor,
  type TagDefinition,
  type Thread,
} from '@marginalia/shared';
import type * as Y from 'yjs';
import { newStore, type Store } from '../app/store';

export interface AnnotationSnapshot {
  /** In reading order of their anchors; orphans last, by creation time. */
  threads: readonly Thread[];
  anchors: ReadonlyMap<string, ResolvedAnchor>;
  vocabulary: Readonly<Record<string, TagDefinition>>;
  title: string;
  /** The article's text length, 0 until the article has arrived. */
  textLength: number;
}

export class AnnotationModel {
  /** The document as the views show it, replaced as a whole after each change. */
  readonly snapshot: Store<AnnotationSnapshot>;
  private readonly threads = new Map<string, Thread>();
  private anchors = new Map<string, ResolvedAnchor>();
  private index: ArticleIndex | null = null;
  private readonly cleanups: Array<() => void> = [];
  private frame = 0;
  private textDirty = true;
  private indexStale = true;
  private readonly dirtyThreads = new Set<string>();

  constructor(private readonly doc: Y.Doc) {
    for (const thread of readThreads(doc)) this.threads.set(thread.id, thread);
    this.snapshot = newStore(this.build());

    this.cleanups.push(
      observeThreads(doc, (changed) => {
        for (const id of changed) {
          const thread = readThread(doc, id);
          if (thread) this.threads.set(id, thread);
          else this.threads.delete(id);
          this.dirtyThreads.add(id);
        }
        this.schedule();
      }),
    );
    const onText = () => {
      this.textDirty = true;
      this.indexStale = true;
      this.schedule();
    };
    const onOther = () => this.schedule();
    rootText(doc).observeDeep(onText);
    vocabularyMap(doc).observe(onOther);
    metaMap(doc).observe(onOther);
    this.cleanups.push(() => {
      rootText(doc).unobserveDeep(onText);
      vocabularyMap(doc).unobserve(onOther);
      metaMap(doc).unobserve(onOther);
    });
  }

  /** The offset map of the article as it is now. */
  articleIndex(): ArticleIndex {
    if (!this.index || this.indexStale) {
      this.index = articleIndex(this.doc);
      this.indexStale = false;
    }
    return this.index;
  }

  /** Re-resolves now instead of on the next frame (after a local mutation the UI reacts to at once). */
  flush(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.snapshot.setState(this.build(), true);
    performance.mark('marginalia:threads-resolved');
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.flush();
    });
  }

  private build(): AnnotationSnapshot {
    if (this.textDirty) {
      this.anchors = new Map();
      this.textDirty = false;
      this.dirtyThreads.clear();
    }
    const index = this.articleIndex();
    const anchors = new Map<string, ResolvedAnchor>();
    for (const [id, thread] of this.threads) {
      const previous = this.anchors.get(id);
      anchors.set(id, previous && !this.dirtyThreads.has(id) ? previous : resolveAnchor(index, thread));
    }
    this.dirtyThreads.clear();
    this.anchors = anchors;
    const threads = [...this.threads.values()].sort((a, b) => {
      const x = anchors.get(a.id);
      const y = anchors.get(b.id);
      const xs = x?.start ?? Number.POSITIVE_INFINITY;
      const ys = y?.start ?? Number.POSITIVE_INFINITY;
      return xs - ys || (x?.end ?? 0) - (y?.end ?? 0) || a.createdAt - b.createdAt;
    });
    const meta = readMeta(this.doc);
    return {
      threads,
      anchors,
      vocabulary: readVocabulary(this.doc),
      title: meta?.title ?? '',
      textLength: index.text.length,
    };
  }
}
