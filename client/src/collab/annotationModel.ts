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
  explainAnchor,
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
  /** For each orphan, the offset where its passage was (where its deleted text sat), when that is known. */
  lastPlaces: ReadonlyMap<string, number>;
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
    // An orphan's stored positions still say where its text was: its neighbours now meet there.
    const lastPlaces = new Map<string, number>();
    for (const [id, anchor] of anchors) {
      if (anchor.state !== 'orphan') continue;
      const { positions } = explainAnchor(index, this.threads.get(id)!);
      const at = positions.start ?? positions.end ?? placeByContext(index.text, this.threads.get(id)!.quote);
      if (at !== null) lastPlaces.set(id, Math.min(at, index.text.length));
    }
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
      lastPlaces,
    };
  }
}

/**
 * Where a deleted passage was, from the text around it when its positions went with it (a whole block
 * deleted): just after its prefix, or else just before its suffix, when either is still in the article.
 */
function placeByContext(text: string, quote: { prefix: string; suffix: string }): number | null {
  const before = quote.prefix.trim().slice(-24);
  if (before) {
    const at = text.indexOf(before);
    if (at !== -1) return at + before.length;
  }
  const after = quote.suffix.trim().slice(0, 24);
  if (after) {
    const at = text.indexOf(after);
    if (at !== -1) return at;
  }
  return null;
}
