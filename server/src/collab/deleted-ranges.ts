/**
 * What an update deletes that is live in the document: Yjs records no author for a deletion (a delete set names
 * items, not who removed them), so the write path notes, when an update arrives, which live items it removes and
 * who sent it (versions/deletions.ts keeps that for the diff's attribution).
 */
import * as Y from 'yjs';
import type { DeletedRange } from './hooks.js';

interface DecodedDeleteSet {
  ds: { clients: Map<number, { clock: number; len: number }[]> };
}

/** Ranges of items live in `doc` that `update` deletes (a delete set can repeat ones already deleted: skipped). */
export function freshDeletions(doc: Y.Doc, update: Uint8Array): DeletedRange[] {
  // A (v1) update ends with its delete set, whose last number is a range's length (never 0) unless it is empty:
  // then the last byte is 0. Most updates (typing) delete nothing and are not decoded again.
  if (update.byteLength === 0 || update[update.byteLength - 1] === 0) return [];
  let decoded: DecodedDeleteSet;
  try {
    decoded = Y.decodeUpdate(update) as unknown as DecodedDeleteSet;
  } catch {
    return []; // admission decoded it already: not reached
  }
  const out: DeletedRange[] = [];
  for (const [client, ranges] of decoded.ds.clients) {
    const structs = doc.store.clients.get(client);
    if (!structs) continue;
    const state = Y.getState(doc.store, client);
    for (const { clock, len } of ranges) {
      const end = Math.min(clock + len, state);
      if (clock >= end) continue;
      for (let i = Y.findIndexSS(structs, clock); i < structs.length; i++) {
        const s = structs[i]!;
        if (s.id.clock >= end) break;
        if (!(s instanceof Y.Item) || s.deleted) continue;
        const from = Math.max(s.id.clock, clock);
        const to = Math.min(s.id.clock + s.length, end);
        const last = out.at(-1);
        if (last && last.client === client && last.clock + last.len === from) {
          out[out.length - 1] = { client, clock: last.clock, len: to - last.clock };
        } else {
          out.push({ client, clock: from, len: to - from });
        }
      }
    }
  }
  return out;
}
