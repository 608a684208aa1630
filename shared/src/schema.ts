/**
 * The Yjs layout of one Marginalia article (a public contract: docs/SCHEMA.md describes it field by field).
 *
 *   root        Y.XmlText   the article, in @lexical/yjs collab v1 form
 *   meta        Y.Map       title, source, author, publishedAt, createdAt, schemaVersion
 *   vocabulary  Y.Map       tag name -> { color, description }
 *   threads     Y.Map       threadId -> Y.Map (a thread; its fields and their rules: rules.ts)
 */
import * as Y from 'yjs';

export const SCHEMA_VERSION = 1;

export const ROOT = 'root';
export const META = 'meta';
export const VOCABULARY = 'vocabulary';
export const THREADS = 'threads';

export type Role = 'owner' | 'editor' | 'commenter' | 'viewer';
export const ROLES: readonly Role[] = ['owner', 'editor', 'commenter', 'viewer'];
/** Higher rank may do everything a lower rank may. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, commenter: 1, editor: 2, owner: 3 };

export interface Meta {
  title: string;
  source?: string;
  author?: string;
  publishedAt?: string;
  createdAt: number;
  schemaVersion: number;
}

export interface TagDefinition {
  color: string;
  description?: string;
}

export type ThreadStatus = 'open' | 'resolved';

/** Yjs RelativePositions, base64 of Y.encodeRelativePosition. */
export interface AnchorPositions {
  start: string;
  end: string;
}

/** W3C TextQuoteSelector: the annotated text with up to 32 characters of context either side. */
export interface TextQuote {
  exact: string;
  prefix: string;
  suffix: string;
}

// Thread and Comment are derived from their rule tables (rules.ts): one property per field.
export type { Comment, Thread } from './rules.js';

export function rootText(doc: Y.Doc): Y.XmlText {
  return doc.get(ROOT, Y.XmlText) as Y.XmlText;
}
export function metaMap(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap(META);
}
export function vocabularyMap(doc: Y.Doc): Y.Map<TagDefinition> {
  return doc.getMap(VOCABULARY);
}
export function threadsMap(doc: Y.Doc): Y.Map<Y.Map<unknown>> {
  return doc.getMap(THREADS);
}
