/**
 * Reading a document as of a version: the version's state is built into a fresh Y.Doc, read with the same readers
 * and exporters as the live document, and thrown away. The live document is never touched (nor loaded).
 */
import * as Y from 'yjs';
import type { AppContext } from '../http/context.js';
import { HttpError, notFound } from '../http/errors.js';
import { getVersion } from './store.js';

/** A fresh doc holding the version's state; the caller destroys it. 404 for a version the document lacks. */
export async function versionDoc(ctx: Pick<AppContext, 'storage'>, docId: string, versionId: string): Promise<Y.Doc> {
  const version = await getVersion(ctx.storage.db, docId, versionId);
  if (!version) throw notFound(`no version "${versionId}" of this document`);
  const doc = new Y.Doc({ gc: false });
  Y.applyUpdate(doc, version.state);
  return doc;
}

/** The `version` query parameter: absent (the live document) or one id. */
export function versionParam(value: unknown): string | null {
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string' || value.length > 100) throw new HttpError(400, 'version must be one version id');
  return value;
}

/**
 * Runs `fn` on the document as of `version` (a fresh doc), or on the live document when `version` is null. `fn`
 * should read synchronously before its first await, so it sees one consistent state of the live document.
 */
export async function readDocumentAt<T>(
  ctx: Pick<AppContext, 'storage' | 'registry'>,
  docId: string,
  version: string | null,
  fn: (doc: Y.Doc) => T | Promise<T>,
): Promise<T> {
  if (version === null) return ctx.registry.with(docId, (live) => fn(live.doc));
  const doc = await versionDoc(ctx, docId, version);
  try {
    return await fn(doc);
  } finally {
    doc.destroy();
  }
}
