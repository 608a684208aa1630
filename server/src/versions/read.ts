/**
 * Reading a document as of a version: the version's state is built into a fresh Y.Doc, read with the same readers
 * and exporters as the live document. The live document is never touched (nor loaded).
 *
 * Building a large document's state takes a while (about a second of CPU for 10,000 threads, most of it
 * `Y.applyUpdate` itself), and opening a version reads it several times in a row (its text, its threads, a diff):
 * the few versions read last are kept built for a minute, as long as their states add up to at most KEEP_BYTES (a
 * built document takes some 20 times its state's size in memory: a 10,000-thread version, 12 MB of state, about
 * 250 MB). They are only ever read, so their threads are resolved once.
 */
import * as Y from 'yjs';
import { readResolvedThreads, type ResolvedThread } from '@marginalia/shared';
import type { AppContext } from '../http/context.js';
import { HttpError, notFound } from '../http/errors.js';
import { getVersion } from './store.js';

const KEEP_MS = 60_000;
const KEEP_DOCS = 4;
/** The most state (bytes) kept built; the version read last is kept whatever its size. */
const KEEP_BYTES = 32 * 1024 * 1024;

interface Kept {
  doc: Promise<Y.Doc>;
  timer: NodeJS.Timeout;
  /** The size of its state, once read (shared by the entries of one build). */
  size: { bytes: number };
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

async function build(
  ctx: Pick<AppContext, 'storage'>,
  docId: string,
  versionId: string,
): Promise<{ doc: Y.Doc; bytes: number }> {
  const version = await getVersion(ctx.storage.db, docId, versionId);
  if (!version) throw notFound(`no version "${versionId}" of this document`);
  const doc = new Y.Doc({ gc: false });
  Y.applyUpdate(doc, version.state);
  return { doc, bytes: version.state.byteLength };
}

/** Forgets the least recently read versions beyond KEEP_DOCS or KEEP_BYTES (never the last one read). */
function trim(): void {
  let bytes = 0;
  for (const k of kept.values()) bytes += k.size.bytes;
  while (kept.size > 1 && (kept.size > KEEP_DOCS || bytes > KEEP_BYTES)) {
    const oldest = kept.keys().next().value!;
    bytes -= kept.get(oldest)!.size.bytes;
    forget(oldest);
  }
}

/** The document as of a version (shared, read-only: never change or destroy it). 404 for an unknown version. */
export function versionDoc(ctx: Pick<AppContext, 'storage'>, docId: string, versionId: string): Promise<Y.Doc> {
  const key = `${docId}\n${versionId}`;
  const found = kept.get(key);
  if (found) {
    kept.delete(key);
    clearTimeout(found.timer);
  }
  const timer = setTimeout(() => forget(key), KEEP_MS);
  timer.unref();
  let entry: Kept;
  if (found) {
    entry = { doc: found.doc, timer, size: found.size };
  } else {
    const built = build(ctx, docId, versionId);
    const size = { bytes: 0 };
    const doc = built.then((b) => b.doc);
    entry = { doc, timer, size };
    built.then(
      (b) => {
        size.bytes = b.bytes;
        if (kept.get(key)?.doc === doc) trim();
      },
      // An unknown version is not kept.
      () => kept.get(key)?.doc === doc && forget(key),
    );
  }
  kept.set(key, entry);
  trim();
  return entry.doc;
}

const resolvedThreads = new WeakMap<Y.Doc, ResolvedThread[]>();

/**
 * The threads with their anchors resolved, as of `version` or live: a built version's are resolved once (it
 * never changes). Shared: never change what it gives.
 */
export function readResolvedThreadsAt(
  ctx: Pick<AppContext, 'storage' | 'registry'>,
  docId: string,
  version: string | null,
): Promise<ResolvedThread[]> {
  return readDocumentAt(ctx, docId, version, (doc) => {
    if (version === null) return readResolvedThreads(doc);
    let threads = resolvedThreads.get(doc);
    if (!threads) {
      threads = readResolvedThreads(doc);
      resolvedThreads.set(doc, threads);
    }
    return threads;
  });
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
