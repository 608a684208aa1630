/** Folding a stored state (snapshot + log) into one update, as compaction stores it. */
import * as Y from 'yjs';
import { invalidThreadKeys } from '@marginalia/shared';
import type { StoredState } from './types.js';

/** A stored state as the updates that rebuild it, in order: the snapshot (if any), then the log entries. */
export function storedPieces(state: Pick<StoredState, 'snapshot' | 'updates'>): Uint8Array[] {
  const log = state.updates.map((u) => u.data);
  return state.snapshot ? [state.snapshot, ...log] : log;
}

/**
 * Updates folded into one, and the state vector it covers (encoded), from one pass; with `findInvalid`, also the
 * keys of `threads` that hold junk no reader can read (invalidThreadKeys), found on the folded document.
 */
export function foldPieces(
  pieces: Uint8Array[],
  opts: { findInvalid?: boolean } = {},
): { update: Uint8Array; stateVector: Uint8Array; invalid: string[] } {
  const doc = new Y.Doc({ gc: true });
  try {
    for (const piece of pieces) Y.applyUpdate(doc, piece);
    return {
      update: Y.encodeStateAsUpdate(doc),
      stateVector: Y.encodeStateVector(doc),
      invalid: opts.findInvalid ? invalidThreadKeys(doc) : [],
    };
  } finally {
    doc.destroy();
  }
}

export function foldState(state: Pick<StoredState, 'snapshot' | 'updates'>): Uint8Array {
  return foldPieces(storedPieces(state)).update;
}
