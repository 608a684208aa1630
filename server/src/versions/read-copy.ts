/**
 * A version's read copy: what reading the version takes, kept beside its full state so that reading it (text,
 * threads, export, a diff, a restore) never builds the full document. Building a 10,000-thread version's state
 * (12 MiB, some 350,000 Yjs items) costs about 0.8 s of CPU; its read copy is
 *
 * - `article`: one Yjs update holding the article, the metadata and the vocabulary as the document has them (their
 *   items under their own ids, every other run a placeholder: article-copy.ts). RelativePositions into the article
 *   resolve in it exactly as in the full document, and its state vector is the document's (a diff's attribution
 *   reads it). A few tens of KiB.
 * - `threads`: the threads as plain records (readThreadRecords: as `GET …/threads` reads them, before their anchors
 *   are resolved), JSON. Their anchors are resolved in the article copy when the version is read, by the same
 *   resolver as the live document's.
 *
 * It is written with the version (store.ts); versions recorded before it existed get it on first read (read.ts).
 */
import * as Y from 'yjs';
import {
  META,
  VOCABULARY,
  readThreadCached,
  readThreadRecords,
  rootText,
  threadsMap,
  type Thread,
} from '@marginalia/shared';
import { itemsUnder, itemsUpdate } from './article-copy.js';

export interface ReadCopy {
  /** The article, metadata and vocabulary as one Yjs update (the rest placeholders). */
  article: Uint8Array;
  /** The threads' records, JSON (an array of Thread). */
  threads: string;
}

/** The items of the article, the metadata and the vocabulary. */
function readItems(doc: Y.Doc): Set<Y.Item> {
  // Only the types the document has (reading one that is not there would add it to the doc).
  const roots = [rootText(doc), doc.share.get(META), doc.share.get(VOCABULARY)].filter(
    (t): t is NonNullable<typeof t> => t !== undefined,
  );
  return itemsUnder(roots);
}

/**
 * The read copy of a document as it is now. `cached`: read the threads through the per-document record cache (a
 * live document, whose records the projector keeps read); otherwise each is read afresh.
 */
export function readCopyOf(doc: Y.Doc, opts: { cached?: boolean } = {}): ReadCopy {
  const records = opts.cached ? cachedThreadRecords(doc) : readThreadRecords(doc);
  return { article: itemsUpdate(doc, readItems(doc)), threads: JSON.stringify(records) };
}

/**
 * A live document's thread records as readThreadRecords reads them, through the per-document record cache
 * (shared: never change them).
 */
export function cachedThreadRecords(doc: Y.Doc): Thread[] {
  const records: Thread[] = [];
  threadsMap(doc).forEach((value) => {
    const thread = value instanceof Y.Map ? readThreadCached(doc, value) : null;
    if (thread) records.push(thread);
  });
  return records;
}

/** A read copy's article as a doc (gc off: deleted items kept, as in a version built from its state). */
export function readCopyDoc(copy: Pick<ReadCopy, 'article'>): Y.Doc {
  const doc = new Y.Doc({ gc: false });
  Y.applyUpdate(doc, copy.article);
  return doc;
}

/** A read copy's thread records. */
export function readCopyThreads(copy: Pick<ReadCopy, 'threads'>): Thread[] {
  return JSON.parse(copy.threads) as Thread[];
}
