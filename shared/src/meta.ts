/** The article's metadata (`meta` Y.Map): title, source, author, publishedAt, createdAt, schemaVersion. */
import type * as Y from 'yjs';
import { ModelError } from './errors.js';
import { ORIGIN } from './origins.js';
import { metaMap, SCHEMA_VERSION, type Meta } from './schema.js';

export interface NewMeta {
  title: string;
  source?: string;
  author?: string;
  publishedAt?: string;
  createdAt: number;
}

export type MetaPatch = Partial<Pick<Meta, 'title' | 'source' | 'author' | 'publishedAt'>>;

const OPTIONAL = ['source', 'author', 'publishedAt'] as const;

/** Writes the metadata of a new article and stamps it with the current SCHEMA_VERSION. */
export function initMeta(doc: Y.Doc, meta: NewMeta): void {
  if (typeof meta.title !== 'string' || meta.title.trim() === '')
    throw new ModelError('invalid', 'the title must be a non-empty string');
  if (!Number.isFinite(meta.createdAt)) throw new ModelError('invalid', 'createdAt must be epoch milliseconds');
  doc.transact(() => {
    const map = metaMap(doc);
    map.set('title', meta.title);
    for (const key of OPTIONAL) {
      const value = meta[key];
      if (typeof value === 'string') map.set(key, value);
    }
    map.set('createdAt', meta.createdAt);
    map.set('schemaVersion', SCHEMA_VERSION);
  }, ORIGIN.meta);
}

/** Changes title/source/author/publishedAt; `undefined` leaves a field, an empty string removes an optional one. */
export function setMeta(doc: Y.Doc, patch: MetaPatch): void {
  if (patch.title !== undefined && (typeof patch.title !== 'string' || patch.title.trim() === '')) {
    throw new ModelError('invalid', 'the title must be a non-empty string');
  }
  doc.transact(() => {
    const map = metaMap(doc);
    if (patch.title !== undefined) map.set('title', patch.title);
    for (const key of OPTIONAL) {
      const value = patch[key];
      if (value === '') map.delete(key);
      else if (typeof value === 'string') map.set(key, value);
    }
  }, ORIGIN.meta);
}

/** The metadata, or null for a document that was never initialised (no schemaVersion). */
export function readMeta(doc: Y.Doc): Meta | null {
  const map = metaMap(doc);
  const schemaVersion = map.get('schemaVersion');
  if (typeof schemaVersion !== 'number') return null;
  const title = map.get('title');
  const createdAt = map.get('createdAt');
  const meta: Meta = {
    title: typeof title === 'string' ? title : '',
    createdAt: typeof createdAt === 'number' ? createdAt : 0,
    schemaVersion,
  };
  for (const key of OPTIONAL) {
    const value = map.get(key);
    if (typeof value === 'string') meta[key] = value;
  }
  return meta;
}
