/**
 * Reading a document as of a version: the version's state is built into a fresh Y.Doc, read with the same readers
 * and exporters as the live document. The live document is never touched (nor loaded).
 *
 * Building a large document's state takes a while (seconds for 10,000 threads), and opening a version reads it
 * several times in a row (its text, its threads, a diff): the few versions read last are kept built for a minute.
 * They are only ever read.
 */
import * as Y from 'yjs';
import type { AppContext } from '../http/context.js';
import { HttpError, notFound } from '../http/errors.js';
import { getVersion } from './store.js';

const KEEP_MS = 60_000;
const KEEP_DOCS = 4;

interface Kept {
  doc: Promise<Y.Doc>;
  timer: NodeJS.Timeout;
}

/** Built versions, least recently used first. */
const kept = new Map<string, Kept>();

function forget(key: string): void {
  const k = kept.get(key);
  if (!k) return;
  kept.delete(key);
  clearTimeout(k.timer);
  void k.doc.then(
    (doc) => doc.destroy(),
    () => {},
  );
}

async function build(ctx: Pick<AppContext, 'storage'>, docId: string, versionId: string): Promise<Y.Doc> {
  const version = await getVersion(ctx.storage.db, docId, versionId);
  if (!version) throw notFound(`no version "${versionId}" of this document`);
  const doc = new Y.Doc({ gc: false });
  Y.applyUpdate(doc, version.state);
  return doc;
}

/** The document as of a version (shared, read-only: never change or destroy it). 404 for an unknown version. */
export function versionDoc(ctx: Pick<AppContext, 'storage'>, docId: string, versionId: string): Promise<Y.Doc> {
  const key = `${docId}\n${versionId}`;
  const found = kept.get(key);
  if (found) {
    kept.delete(key);
    clearTimeout(found.timer);
  }
  const doc = found?.doc ?? build(ctx, docId, versionId);
  const timer = setTimeout(() => forget(key), KEEP_MS);
  timer.unref();
  kept.set(key, { doc, timer });
  // An unknown version is not kept.
  doc.catch(() => kept.get(key)?.doc === doc && forget(key));
  while (kept.size > KEEP_DOCS) forget(kept.keys().next().value!);
  return doc;
}

/** Forgets every built version of a document (it was deleted). */
export function forgetVersions(docId: string): void {
  for (const key of [...kept.keys()]) if (key.startsWith(`${docId}\n`)) forget(key);
}

/** The `version` query parameter: absent (the live document) or one id. */
export function versionParam(value: unknown): string | null {
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string' || value.length > 100) throw new HttpError(400, 'version must be one version id');
  return value;
}

/**
 * Runs `fn` on the document as of `version`, or on the live document when `version` is null. `fn` only reads,
 * and should do so synchronously before its first await, so it sees one consistent state of the live document.
 */
export async function readDocumentAt<T>(
  ctx: Pick<AppContext, 'storage' | 'registry'>,
  docId: string,
  version: string | null,
  fn: (doc: Y.Doc) => T | Promise<T>,
): Promise<T> {
  if (version === null) return ctx.registry.with(docId, (live) => fn(live.doc));
  return fn(await versionDoc(ctx, docId, version));
}
