/** Folding a stored state (snapshot + log) into one update, as compaction stores it. */
import * as Y from 'yjs';
import { invalidThreadKeys } from '@marginalia/shared';
import type { FoldedSnapshot, StoredState } from './types.js';
import { leadOf } from './slice.js';

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

/** Snapshots smaller than this get no lead: they arrive and apply in a moment anyway. */
export const LEAD_MIN_BYTES = 256 * 1024;

/** What a joining client can do without until the article shows: the threads. */
const DEFERRED = new Set(['threads']);

/** A snapshot's lead (StoredState.snapshotLead), or null when it is small or has none worth sending. */
export function snapshotLeadOf(update: Uint8Array): Uint8Array | null {
  return update.byteLength >= LEAD_MIN_BYTES ? leadOf(update, DEFERRED) : null;
}

/** A stored state folded as compaction stores it, in this thread: the snapshot and its lead. */
export function foldSnapshot(state: Pick<StoredState, 'snapshot' | 'updates'>): FoldedSnapshot {
  const snapshot = foldState(state);
  return { snapshot, lead: snapshotLeadOf(snapshot) };
}
