/**
 * Creating documents: the article is imported on the server into a fresh Y.Doc with a headless Lexical
 * editor (clients never bootstrap content), `meta` is filled, and the whole state is stored as the
 * document's first log entry together with the owner's membership, in one transaction.
 */
import * as Y from 'yjs';
import { randomUUID } from 'node:crypto';
import { initMeta, liveCommentCount, threadsMap, type Role } from '@marginalia/shared';
import { importArticle, type ArticleFormat } from './article/import.js';
import type { Storage } from './storage/types.js';
import { documentSearchRows } from './search/rows.js';
import { writeSearchRows } from './search/store.js';

export interface NewArticle {
  id?: string;
  title: string;
  format: ArticleFormat;
  content: string;
  guestRole: Role | null;
  source?: string;
  author?: string;
  publishedAt?: string;
  createdBy: string;
  /** Owner membership; omitted for documents made by the system (the sample). */
  ownerId: string | null;
  /** Further changes to make before storing (e.g. the sample's example threads). */
  decorate?: (doc: Y.Doc) => void;
}

export async function createDocument(storage: Storage, a: NewArticle): Promise<string> {
  const id = a.id ?? randomUUID();
  const now = Date.now();
  const doc = new Y.Doc();
  try {
    await importArticle(doc, a.format, a.content);
    initMeta(doc, {
      title: a.title,
      createdAt: now,
      ...(a.source ? { source: a.source } : {}),
      ...(a.author ? { author: a.author } : {}),
      ...(a.publishedAt ? { publishedAt: a.publishedAt } : {}),
    });
    a.decorate?.(doc);
    const counts = documentCounts(doc);
    const searchRows = documentSearchRows(doc);
    await storage.createDocument({
      record: {
        id,
        title: a.title,
        guestRole: a.guestRole,
        createdBy: a.createdBy,
        createdAt: now,
        updatedAt: now,
        ...counts,
      },
      initialUpdate: Y.encodeStateAsUpdate(doc),
      members: a.ownerId ? [{ userId: a.ownerId, role: 'owner' }] : [],
      derived: async (trx) => void (await writeSearchRows(trx, id, searchRows)),
    });
  } finally {
    doc.destroy();
  }
  return id;
}

/** Threads and live (not deleted) comments: what the library shows per document. */
export function documentCounts(doc: Y.Doc): { threadCount: number; commentCount: number } {
  let commentCount = 0;
  const threads = threadsMap(doc);
  for (const t of threads.values()) if (t instanceof Y.Map) commentCount += liveCommentCount(doc, t);
  return { threadCount: threads.size, commentCount };
}
