/**
 * Building a document from its stored pieces (snapshot, then log entries), whole or a slice per event-loop
 * turn, and the full-state cache a built document starts with. A build that cannot apply its stored state fails:
 * never an empty or partial stand-in document (it would later overwrite the store).
 */
import * as Y from 'yjs';
import { log } from '../log.js';
import { sliceInWorker } from '../storage/storage-worker.js';

/** A full-state encoding kept for clients that join with nothing, and the state vector it covers. */
export interface FullState {
  update: Uint8Array;
  stateVector: Map<number, number>;
  /** Its lead, sent ahead of it (StoredState.snapshotLead), when it has one. */
  lead: Uint8Array | null;
}

/** Documents whose full state encodes smaller than this are encoded per joining client instead of cached. */
const FULL_STATE_CACHE_MIN_BYTES = 64 * 1024;

export const stateVectorOf = (doc: Y.Doc): Map<number, number> => Y.decodeStateVector(Y.encodeStateVector(doc));

/**
 * `update` as the cached full state, covering `covered` (a state vector, or the document it was encoded from), with
 * its lead if it has one, if large.
 */
export function fullStateIfLarge(
  update: Uint8Array,
  covered: Y.Doc | Map<number, number>,
  lead: Uint8Array | null = null,
): FullState | null {
  if (update.byteLength < FULL_STATE_CACHE_MIN_BYTES) return null;
  return { update, stateVector: covered instanceof Y.Doc ? stateVectorOf(covered) : covered, lead };
}

export class LoadError extends Error {}

/** A built document, and its stored bulk as the full-state cache when that is large. */
export interface BuiltDocument {
  doc: Y.Doc;
  full: FullState | null;
}

/** Whether stored pieces this large are built a slice per turn (else in one go). */
export function buildsSliced(pieces: Uint8Array[], slicedLoadBytes: number): boolean {
  return pieces.reduce((n, p) => n + p.byteLength, 0) >= slicedLoadBytes;
}

/**
 * The document from its stored pieces: sliced when asked (and possible), else whole. `lead`: the first piece's lead
 * (the snapshot's), null if none is stored. Throws LoadError.
 */
export async function buildDocument(
  id: string,
  pieces: Uint8Array[],
  sliced: boolean,
  lead: Uint8Array | null,
): Promise<BuiltDocument> {
  return (sliced ? await buildSliced(id, pieces, lead) : null) ?? buildWhole(id, pieces, lead);
}

/** Ends a build whose stored state cannot be applied: never an empty or partial stand-in document. */
function buildFailed(id: string, doc: Y.Doc, e: unknown): never {
  doc.destroy();
  throw new LoadError(`stored state of ${id} could not be applied: ${(e as Error).message}`);
}

/**
 * The document from its stored pieces in one go. The first piece (the snapshot, or the first log entry of a
 * document never compacted: a large import) is a complete update already encoded: cached as the full state.
 */
function buildWhole(id: string, pieces: Uint8Array[], lead: Uint8Array | null): BuiltDocument {
  const doc = new Y.Doc({ gc: true });
  let full: FullState | null = null;
  try {
    for (const [i, piece] of pieces.entries()) {
      Y.applyUpdate(doc, piece);
      if (i === 0) full = fullStateIfLarge(piece, doc, lead);
    }
  } catch (e) {
    buildFailed(id, doc, e);
  }
  return { doc, full };
}

/**
 * The document from its stored pieces a slice per event-loop turn, so that a large document's build never holds
 * the thread: other documents and clients arriving meanwhile are served between slices. The first piece (the
 * bulk) is cut into slices in the worker (slice.ts); the log entries after it are small and already in the order
 * they were written, so they follow as they are. Null when the state cannot be sliced (it is then built whole).
 */
async function buildSliced(id: string, pieces: Uint8Array[], lead: Uint8Array | null): Promise<BuiltDocument | null> {
  let sliced;
  try {
    sliced = await sliceInWorker(pieces[0]!);
  } catch (e) {
    log.warn('stored state not sliced; built whole', { doc: id, error: (e as Error).message });
    return null;
  }
  if (!sliced) return null;
  const doc = new Y.Doc({ gc: true });
  try {
    for (const update of [...sliced.slices, ...pieces.slice(1)]) {
      Y.applyUpdate(doc, update);
      await new Promise((r) => setImmediate(r));
    }
  } catch (e) {
    buildFailed(id, doc, e);
  }
  const short = [...sliced.stateVector].some(([client, clock]) => Y.getState(doc.store, client) < clock);
  if (doc.store.pendingStructs || doc.store.pendingDs || short) {
    // Not what slicing promises: build it the proven way instead.
    log.warn('sliced build incomplete; built whole', { doc: id });
    doc.destroy();
    return null;
  }
  return { doc, full: fullStateIfLarge(pieces[0]!, sliced.stateVector, lead) };
}
