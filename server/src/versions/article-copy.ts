/**
 * A copy of a document that holds only its article, for work that edits or reads the article alone (a revision,
 * a restore, their dry runs). Copying a whole document means encoding and decoding every item of every thread and
 * comment: seconds for 10,000 threads, while the article is a few thousand items.
 *
 * The copy is one Yjs update written from the document's struct store: the article's items as they are (same ids,
 * same origins, so RelativePositions into the article resolve in the copy exactly as in the document), and every
 * other run of items as a GC struct of the same length (a placeholder: deleted, with no content). The copy's state
 * vector is the document's, and no article item refers to a thread's item (an item's origins are its siblings and
 * its parent is in the article), so the copy integrates completely.
 *
 * Updates made on the copy are the article's own changes and apply to the document as any other update; but
 * never send the copy's full state (`Y.encodeStateAsUpdate(copy)`) to the document: its delete set covers the
 * placeholders, which would delete every thread.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { rootText } from '@marginalia/shared';

/** The GC struct's info byte in the update format (yjs `structGCRefNumber`). */
const GC_INFO = 0;

/** Every item of the article: the root's list and the maps and lists under it, deleted items included. */
export function articleItems(doc: Y.Doc): Set<Y.Item> {
  return itemsUnder([rootText(doc)]);
}

/** Every item under the given shared types (their lists, their maps' entries, and the types inside), deleted ones included. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any shared type (its event type is not read)
export function itemsUnder(roots: readonly Y.AbstractType<any>[]): Set<Y.Item> {
  const items = new Set<Y.Item>();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any shared type (its event type is not read)
  const types: Y.AbstractType<any>[] = [...roots];
  const visit = (item: Y.Item): void => {
    items.add(item);
    if (item.content instanceof Y.ContentType) types.push(item.content.type);
  };
  for (let type = types.pop(); type !== undefined; type = types.pop()) {
    for (let n = type._start; n !== null; n = n.right) visit(n);
    // A map entry's earlier values are still its items (to the left of the current one).
    for (const current of type._map.values()) for (let n: Y.Item | null = current; n !== null; n = n.left) visit(n);
  }
  return items;
}

/** The document's article (and nothing else) as one update: see the note at the top. */
export function articleUpdate(doc: Y.Doc): Uint8Array {
  return itemsUpdate(doc, articleItems(doc));
}

/**
 * The document's items `keep` (and nothing else) as one update, every other run a placeholder: see the note at the
 * top. The items kept must refer to no item left out (as the article's items, its metadata's and vocabulary's).
 */
export function itemsUpdate(doc: Y.Doc, keep: ReadonlySet<Y.Item>): Uint8Array {
  const encoder = new Y.UpdateEncoderV1();
  const rest = encoder.restEncoder;
  const deleted = new Map<number, [clock: number, len: number][]>();
  // Higher client ids first, as Yjs writes them.
  const clients = [...doc.store.clients.entries()].sort((a, b) => b[0] - a[0]);
  encoding.writeVarUint(rest, clients.length);
  for (const [client, structs] of clients) {
    // Runs of structs not kept become one placeholder each.
    const out: (Y.Item | number)[] = [];
    const ranges: [number, number][] = [];
    for (const s of structs) {
      if (s instanceof Y.Item && keep.has(s)) {
        out.push(s);
        if (s.deleted) {
          const last = ranges.at(-1);
          if (last && last[0] + last[1] === s.id.clock) last[1] += s.length;
          else ranges.push([s.id.clock, s.length]);
        }
      } else if (typeof out.at(-1) === 'number') {
        (out[out.length - 1] as number) += s.length;
      } else {
        out.push(s.length);
      }
    }
    if (ranges.length) deleted.set(client, ranges);
    encoding.writeVarUint(rest, out.length);
    encoder.writeClient(client);
    encoding.writeVarUint(rest, structs[0]?.id.clock ?? 0);
    for (const o of out) {
      if (typeof o === 'number') {
        encoder.writeInfo(GC_INFO);
        encoder.writeLen(o);
      } else {
        o.write(encoder, 0);
      }
    }
  }
  // The delete set: the deleted items of the article (placeholders are deleted by what they are).
  encoding.writeVarUint(rest, deleted.size);
  for (const [client, ranges] of deleted) {
    encoder.resetDsCurVal();
    encoding.writeVarUint(rest, client);
    encoding.writeVarUint(rest, ranges.length);
    for (const [clock, len] of ranges) {
      encoder.writeDsClock(clock);
      encoder.writeDsLen(len);
    }
  }
  return encoder.toUint8Array();
}

/** A new doc holding the document's article only (gc off: deleted items are kept, as in versions). */
export function articleCopy(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc({ gc: false });
  Y.applyUpdate(copy, articleUpdate(doc));
  return copy;
}
