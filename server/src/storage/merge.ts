/** Folding a stored state (snapshot + log) into one update, as compaction stores it. */
import * as Y from 'yjs';
import type { StoredState } from './types.js';

export function foldState(state: Pick<StoredState, 'snapshot' | 'updates'>): Uint8Array {
  const doc = new Y.Doc({ gc: true });
  try {
    if (state.snapshot) Y.applyUpdate(doc, state.snapshot);
    for (const u of state.updates) Y.applyUpdate(doc, u.data);
    return Y.encodeStateAsUpdate(doc);
  } finally {
    doc.destroy();
  }
}
