/**
 * Test helpers for the article model: docs with an imported article, headless editors bound to them, canonical
 * snapshots for comparing replicas, and a hand-driven network of replicas (updates exchanged in memory, in an
 * order the test chooses, with partitions) for concurrency properties.
 */
import * as Y from 'yjs';
import { openArticleEditor, type ArticleEditor } from '@marginalia/server/article/headless.js';
import { importArticle, type ArticleFormat } from '@marginalia/server/article/import.js';
import { metaMap, rootText, threadsMap, vocabularyMap } from '@marginalia/shared';

export { openArticleEditor, type ArticleEditor };
export {
  caretOffsets,
  deleteRange,
  formatRange,
  insertTextAt,
  splitBlockAt,
  $caretMap,
} from '@marginalia/server/article/edit.js';

/** A fresh doc holding the article. */
export async function articleDoc(content: string, format: ArticleFormat = 'text'): Promise<Y.Doc> {
  const doc = new Y.Doc();
  await importArticle(doc, format, content);
  return doc;
}

/** The full state of an article's doc as one update, to start replicas from. */
export async function articleUpdate(content: string, format: ArticleFormat = 'text'): Promise<Uint8Array> {
  const doc = await articleDoc(content, format);
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

/** JSON with object keys sorted (Y.Map.toJSON key order differs between replicas). */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

/** The article tree as plain data: element attributes and children, text-node properties, strings. */
function treeOf(x: Y.XmlText): unknown {
  return {
    attrs: x.getAttributes(),
    children: (x.toDelta() as { insert: unknown }[]).map(({ insert }) => {
      if (insert instanceof Y.XmlText) return treeOf(insert);
      if (insert instanceof Y.Map) return { node: insert.toJSON() };
      if (insert instanceof Y.XmlElement) return { decorator: insert.toString() };
      return insert;
    }),
  };
}

/** Everything a replica holds, comparable with `canonical`. */
export function snapshot(doc: Y.Doc): unknown {
  return {
    root: treeOf(rootText(doc)),
    meta: metaMap(doc).toJSON(),
    vocabulary: vocabularyMap(doc).toJSON(),
    threads: threadsMap(doc).toJSON(),
  };
}

/** Waits until `condition()` holds, polling on the event loop; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Origin of updates applied by the network, so a replica does not send them on again. */
const NETWORK = Symbol('network');

export interface Replica {
  doc: Y.Doc;
  editor: ArticleEditor | null;
}

interface Message {
  update: Uint8Array;
  /** Changes the article (`root`), as opposed to annotations only. */
  text: boolean;
}

/** Did the transaction change anything under `root`? (Its origin does not say: the Lexical binding also writes
 * from inside its Yjs observer, in transactions of its own with no origin.) */
function touchesArticle(doc: Y.Doc, tr: Y.Transaction): boolean {
  const root = rootText(doc);
  for (const changed of tr.changed.keys()) {
    // `any`: yjs types are invariant in their event type
    let type: Y.AbstractType<any> = changed;
    while (type._item !== null) type = type._item.parent as Y.AbstractType<unknown>;
    if (type === root) return true;
  }
  return false;
}

/**
 * Replicas exchanging updates by hand. Each update a replica makes is queued to every other replica on a FIFO
 * channel (from -> to); the test delivers channels in the order it likes. A partition blocks delivery between
 * groups until healed. Replicas get fixed client ids, and a delivery counts only article changes, so a network
 * with annotations and one without, run through one schedule, see the same article changes in the same order.
 */
export class ReplicaNetwork {
  readonly replicas: Replica[] = [];
  private readonly channels = new Map<string, Message[]>();
  private groups: number[] | null = null;

  constructor(count: number, base: Uint8Array, options: { editors?: boolean; clientIdBase?: number } = {}) {
    for (let i = 0; i < count; i++) {
      const doc = new Y.Doc();
      doc.clientID = (options.clientIdBase ?? 1000) + i;
      Y.applyUpdate(doc, base, NETWORK);
      const replica: Replica = { doc, editor: null };
      doc.on('update', (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
        if (origin === NETWORK) return;
        const text = touchesArticle(doc, tr);
        for (let j = 0; j < count; j++) if (j !== i) this.queue(i, j).push({ update, text });
      });
      replica.editor = options.editors === false ? null : openArticleEditor(doc);
      this.replicas.push(replica);
    }
  }

  private queue(from: number, to: number): Message[] {
    const key = `${from}>${to}`;
    let q = this.channels.get(key);
    if (!q) this.channels.set(key, (q = []));
    return q;
  }

  get size(): number {
    return this.replicas.length;
  }

  /** Splits the replicas into groups (group number per replica); delivery crosses no group boundary. */
  partition(groups: number[]): void {
    this.groups = groups.slice(0, this.size);
  }

  heal(): void {
    this.groups = null;
  }

  private connected(from: number, to: number): boolean {
    return this.groups === null || (this.groups[from] ?? 0) === (this.groups[to] ?? 0);
  }

  /**
   * Delivers, in order, what is queued from `from` to `to` (if connected), up to and including the `max`-th
   * article change (annotation updates on the way are delivered too). Returns the number of updates delivered.
   */
  async deliver(from: number, to: number, max = Number.POSITIVE_INFINITY): Promise<number> {
    if (from === to || !this.connected(from, to)) return 0;
    const q = this.queue(from, to);
    let n = 0;
    let texts = 0;
    while (q.length > 0 && texts < max) {
      const message = q.shift()!;
      Y.applyUpdate(this.replicas[to]!.doc, message.update, NETWORK);
      n++;
      if (message.text) texts++;
    }
    if (n > 0) await this.replicas[to]!.editor?.settle();
    return n;
  }

  /**
   * Delivers every queued annotation update (not article changes) to everyone at once, across partitions. Yjs
   * integrates a client's updates in order, so an article change queued behind an annotation update whose thread
   * the receiver lacks would wait for it: delivering annotations at once keeps article changes on the schedule.
   */
  deliverAnnotations(): void {
    for (const [key, q] of this.channels) {
      const to = Number(key.split('>')[1]);
      for (let k = 0; k < q.length;) {
        if (q[k]!.text) {
          k++;
          continue;
        }
        Y.applyUpdate(this.replicas[to]!.doc, q.splice(k, 1)[0]!.update, NETWORK);
      }
    }
  }

  pending(): number {
    let n = 0;
    for (const q of this.channels.values()) n += q.length;
    return n;
  }

  /** Heals any partition and delivers everything, including what editors write in reaction, until quiet. */
  async deliverAll(): Promise<void> {
    this.heal();
    for (let round = 0; round < 50; round++) {
      for (const r of this.replicas) await r.editor?.settle();
      if (this.pending() === 0) return;
      for (let from = 0; from < this.size; from++) for (let to = 0; to < this.size; to++) await this.deliver(from, to);
    }
    throw new Error('replicas did not go quiet after 50 delivery rounds');
  }

  destroy(): void {
    for (const r of this.replicas) {
      r.editor?.destroy();
      r.doc.destroy();
    }
    this.replicas.length = 0;
    this.channels.clear();
  }
}
