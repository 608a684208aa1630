/**
 * Reading a document as of a version: from the version's read copy (read-copy.ts: its article, metadata and
 * vocabulary as a small Y.Doc, its threads as records resolved in that article), read with the same readers and
 * exporters as the live document. The live document is never touched (nor loaded), and the version's full state
 * is never built: a 10,000-thread version's state takes 0.8–2 s of CPU to build (and 250 MB), while its read copy's
 * article builds in a few milliseconds and its records parse and resolve in about half a second (18 MB kept).
 *
 * A version recorded before read copies existed has none: on its first read its state is built (as every read did
 * before, on the event loop), its read copy made from it and stored, and it is read from that copy like any other.
 *
 * Opening a version reads it several times in a row (its text, its threads, a diff): the few versions read last
 * are kept for a minute, as long as their read copies add up to at most KEEP_BYTES. They are only ever read, so
 * their threads are resolved once.
 */
import * as Y from 'yjs';
import {
  readResolvedThreads,
  resolveThreads,
  articleIndex,
  type ResolvedThread,
  type Thread,
} from '@marginalia/shared';
import type { AppContext } from '../http/context.js';
import { HttpError, notFound } from '../http/errors.js';
import { getReadCopy, getVersion, setReadCopy } from './store.js';
import { readCopyDoc, readCopyOf, readCopyThreads, type ReadCopy } from './read-copy.js';

const KEEP_MS = 60_000;
const KEEP_DOCS = 4;
/** The most read copy (bytes, as stored) kept; the version read last is kept whatever its size. */
const KEEP_BYTES = 32 * 1024 * 1024;

/** A version as read from its read copy (shared, read-only: never change or destroy any of it). */
export interface VersionView {
  /** The article, metadata and vocabulary (every other run of items a placeholder; the document's state vector). */
  doc: Y.Doc;
  /** The threads' records, unresolved. */
  threads: readonly Thread[];
  /** The threads resolved in `doc`'s article, in readResolvedThreads' order (resolved once, on first call). */
  resolved(): ResolvedThread[];
}

interface Kept {
  view: Promise<VersionView>;
  timer: NodeJS.Timeout;
  /** The size of its read copy, once read (shared by the entries of one build). */
  size: { bytes: number };
}

/** Versions read, least recently used first. */
const kept = new Map<string, Kept>();

function forget(key: string): void {
  const k = kept.get(key);
  if (!k) return;
  kept.delete(key);
  clearTimeout(k.timer);
  void k.view.then(
    (view) => view.doc.destroy(),
    () => {},
  );
}

/** The version's read copy; made from its state and stored when it has none yet. 404 for an unknown version. */
export async function readCopyAt(
  ctx: Pick<AppContext, 'storage'>,
  docId: string,
  versionId: string,
): Promise<ReadCopy> {
  const found = await getReadCopy(ctx.storage.db, docId, versionId);
  if (!found) throw notFound(`no version "${versionId}" of this document`);
  if (found.copy) return found.copy;
  // Recorded before read copies existed: built as every version was read before, once.
  const version = await getVersion(ctx.storage.db, docId, versionId);
  if (!version) throw notFound(`no version "${versionId}" of this document`);
  const doc = new Y.Doc({ gc: false });
  let copy: ReadCopy;
  try {
    Y.applyUpdate(doc, version.state);
    copy = readCopyOf(doc);
  } finally {
    doc.destroy();
  }
  await setReadCopy(ctx.storage.db, docId, versionId, copy);
  return copy;
}

function viewOf(copy: ReadCopy): VersionView {
  const doc = readCopyDoc(copy);
  const threads = readCopyThreads(copy);
  let resolved: ResolvedThread[] | null = null;
  return {
    doc,
    threads,
    resolved: () => (resolved ??= resolveThreads(threads, articleIndex(doc))),
  };
}

async function build(
  ctx: Pick<AppContext, 'storage'>,
  docId: string,
  versionId: string,
): Promise<{ view: VersionView; bytes: number }> {
  const copy = await readCopyAt(ctx, docId, versionId);
  return { view: viewOf(copy), bytes: copy.article.byteLength + copy.threads.length };
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

/** The document as of a version, from its read copy (shared, read-only). 404 for an unknown version. */
export function versionView(ctx: Pick<AppContext, 'storage'>, docId: string, versionId: string): Promise<VersionView> {
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
    entry = { view: found.view, timer, size: found.size };
  } else {
    const built = build(ctx, docId, versionId);
    const size = { bytes: 0 };
    const view = built.then((b) => b.view);
    entry = { view, timer, size };
    built.then(
      (b) => {
        size.bytes = b.bytes;
        if (kept.get(key)?.view === view) trim();
      },
      // An unknown version is not kept.
      () => kept.get(key)?.view === view && forget(key),
    );
  }
  kept.set(key, entry);
  trim();
  return entry.view;
}

/**
 * The threads with their anchors resolved, as of `version` or live: a version's are resolved once (it never
 * changes). Shared: never change what it gives.
 */
export async function readResolvedThreadsAt(
  ctx: Pick<AppContext, 'storage' | 'registry'>,
  docId: string,
  version: string | null,
): Promise<ResolvedThread[]> {
  if (version === null) return ctx.registry.with(docId, (live) => readResolvedThreads(live.doc));
  return (await versionView(ctx, docId, version)).resolved();
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
 * Runs `fn` on the document as of `version` (its read copy: the article, metadata and vocabulary), or on the live
 * document when `version` is null; `threads()` gives the threads resolved in it (read from the document when
 * live). `fn` only reads, and should do so synchronously before its first await, so it sees one consistent state
 * of the live document.
 */
export async function readDocumentAt<T>(
  ctx: Pick<AppContext, 'storage' | 'registry'>,
  docId: string,
  version: string | null,
  fn: (doc: Y.Doc, threads: () => readonly ResolvedThread[]) => T | Promise<T>,
): Promise<T> {
  if (version === null) return ctx.registry.with(docId, (live) => fn(live.doc, () => readResolvedThreads(live.doc)));
  const view = await versionView(ctx, docId, version);
  return fn(view.doc, view.resolved);
}
