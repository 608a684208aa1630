/** Folding a stored state (snapshot + log) into one update, as compaction stores it. */
import * as Y from 'yjs';
import type { StoredState } from './types.js';

/** A stored state as the updates that rebuild it, in order: the snapshot (if any), then the log entries. */
export function storedPieces(state: Pick<StoredState, 'snapshot' | 'updates'>): Uint8Array[] {
  const log = state.updates.map((u) => u.data);
  return state.snapshot ? [state.snapshot, ...log] : log;
}

/** Updates folded into one, and the state vector it covers (encoded), from one pass. */
export function foldPieces(pieces: Uint8Array[]): { update: Uint8Array; stateVector: Uint8Array };
export function foldPieces<T>(
  pieces: Uint8Array[],
  read: (doc: Y.Doc) => T,
): { update: Uint8Array; stateVector: Uint8Array; readCopy: T };
/** `read`: also reads the folded document (before it is destroyed), its result as `readCopy`. */
export function foldPieces<T>(
  pieces: Uint8Array[],
  read?: (doc: Y.Doc) => T,
): { update: Uint8Array; stateVector: Uint8Array; readCopy?: T } {
  const doc = new Y.Doc({ gc: true });
  try {
    for (const piece of pieces) Y.applyUpdate(doc, piece);
    const folded = { update: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) };
    return read ? { ...folded, readCopy: read(doc) } : folded;
  } finally {
    doc.destroy();
  }
}

export function foldState(state: Pick<StoredState, 'snapshot' | 'updates'>): Uint8Array {
  return foldPieces(storedPieces(state)).update;
}
