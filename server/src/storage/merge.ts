/** Folding a stored state (snapshot + log) into one update, as compaction stores it. */
import * as Y from 'yjs';
import type { StoredState } from './types.js';

/** The folded update and the state vector it covers (encoded), from one pass over the state. */
export function foldWithVector(state: Pick<StoredState, 'snapshot' | 'updates'>): { update: Uint8Array; stateVector: Uint8Array } {
  const doc = new Y.Doc({ gc: true });
  try {
    if (state.snapshot) Y.applyUpdate(doc, state.snapshot);
    for (const u of state.updates) Y.applyUpdate(doc, u.data);
    return { update: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) };
  } finally {
    doc.destroy();
  }
}

export function foldState(state: Pick<StoredState, 'snapshot' | 'updates'>): Uint8Array {
  return foldWithVector(state).update;
}
