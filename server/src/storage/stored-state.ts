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
 * Updates folded into one, and the state vector it covers (encoded), from one pass. On the folded document, before
 * it is destroyed: with `findInvalid`, the keys of `threads` that hold junk no reader can read (invalidThreadKeys);
 * with `read`, whatever it reads (its result as `readCopy`).
 */
export function foldPieces(
  pieces: Uint8Array[],
  opts?: { findInvalid?: boolean },
): { update: Uint8Array; stateVector: Uint8Array; invalid: string[] };
export function foldPieces<T>(
  pieces: Uint8Array[],
  opts: { findInvalid?: boolean; read: (doc: Y.Doc) => T },
): { update: Uint8Array; stateVector: Uint8Array; invalid: string[]; readCopy: T };
export function foldPieces<T>(
  pieces: Uint8Array[],
  opts: { findInvalid?: boolean; read?: (doc: Y.Doc) => T } = {},
): { update: Uint8Array; stateVector: Uint8Array; invalid: string[]; readCopy?: T } {
  const doc = new Y.Doc({ gc: true });
  try {
    for (const piece of pieces) Y.applyUpdate(doc, piece);
    const folded = {
      update: Y.encodeStateAsUpdate(doc),
      stateVector: Y.encodeStateVector(doc),
      invalid: opts.findInvalid ? invalidThreadKeys(doc) : [],
    };
    return opts.read ? { ...folded, readCopy: opts.read(doc) } : folded;
  } finally {
    doc.destroy();
  }
}

export function foldState(state: Pick<StoredState, 'snapshot' | 'updates'>): Uint8Array {
  return foldPieces(storedPieces(state)).update;
}
