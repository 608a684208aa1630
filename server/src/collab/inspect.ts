/**
 * What an incoming update would change, found before it is applied: every new item and every deletion of a
 * live item, each with the root shared type it belongs to. The policy decides on this, not on the raw bytes.
 *
 * A decoded Item names its parent directly (a root name, or the ID of the item holding its parent type), or
 * leaves the parent to be inferred from its left/right origin (then it sits beside that item). Referenced items
 * are found in the update itself or in the current document. Structs the document already has (a sync step 2
 * carries the sender's whole state) and ranges that are already deleted are not changes.
 */
import * as Y from 'yjs';

export interface ItemChange {
  kind: 'insert' | 'delete';
  /** The root type's name (`root`, `meta`, `vocabulary`, `threads`), or null when it cannot be determined. */
  root: string | null;
  /** For inserts: the decoded item; for deletes: the live item in the document. */
  item: Y.Item;
}

export interface UpdateChanges {
  changes: ItemChange[];
  /** True when the update references content neither it nor the document has (it would wait as pending). */
  missingDependencies: boolean;
}

type ID = { client: number; clock: number };

export class MalformedUpdateError extends Error {}

export function inspectUpdate(doc: Y.Doc, update: Uint8Array): UpdateChanges {
  let decoded: { structs: Array<Y.Item | Y.GC | Y.Skip>; ds: { clients: Map<number, { clock: number; len: number }[]> } };
  try {
    decoded = Y.decodeUpdate(update) as typeof decoded;
  } catch (e) {
    throw new MalformedUpdateError(`malformed update: ${(e as Error).message}`);
  }
  const known = Y.decodeStateVector(Y.encodeStateVector(doc));
  const ownItems = new Map<number, Y.Item[]>();
  for (const s of decoded.structs) {
    if (s instanceof Y.Item) {
      const list = ownItems.get(s.id.client);
      if (list) list.push(s);
      else ownItems.set(s.id.client, [s]);
    }
  }

  let missingDependencies = false;
  const rootCache = new Map<Y.Item, string | null>();

  const findInUpdate = (id: ID): Y.Item | null => {
    const list = ownItems.get(id.client);
    if (!list) return null;
    for (const it of list) if (id.clock >= it.id.clock && id.clock < it.id.clock + it.length) return it;
    return null;
  };
  const findInDoc = (id: ID): Y.Item | Y.GC | null => {
    if (id.clock >= Y.getState(doc.store, id.client)) return null;
    try {
      return Y.getItem(doc.store, id as Y.ID) as Y.Item | Y.GC;
    } catch {
      return null;
    }
  };
  const rootOfType = (type: Y.AbstractType<unknown>): string | null => {
    try {
      return Y.findRootTypeKey(type);
    } catch {
      return null;
    }
  };
  /** Root of a live (integrated) item: its parent is a type object. */
  const rootOfLive = (item: Y.Item): string | null => rootOfType(item.parent as Y.AbstractType<unknown>);

  const rootOfDecoded = (item: Y.Item, depth = 0): string | null => {
    if (rootCache.has(item)) return rootCache.get(item)!;
    if (depth > 10_000) return null;
    let root: string | null = null;
    const parent = item.parent as unknown;
    if (typeof parent === 'string') root = parent;
    else if (parent && typeof parent === 'object' && 'client' in parent) root = rootOfTypeItem(parent as ID, depth);
    else {
      const neighbour = item.origin ?? item.rightOrigin;
      if (neighbour) root = rootOfNeighbour(neighbour, depth);
    }
    rootCache.set(item, root);
    return root;
  };
  /** The root of the type held by the item with this id. */
  const rootOfTypeItem = (id: ID, depth: number): string | null => {
    const own = findInUpdate(id);
    if (own) return rootOfDecoded(own, depth + 1);
    const live = findInDoc(id);
    if (live instanceof Y.Item) {
      const content = live.content;
      return content instanceof Y.ContentType ? rootOfType(content.type) : rootOfLive(live);
    }
    missingDependencies = true;
    return null;
  };
  /** The root of the type that contains the item with this id. */
  const rootOfNeighbour = (id: ID, depth: number): string | null => {
    const own = findInUpdate(id);
    if (own) return rootOfDecoded(own, depth + 1);
    const live = findInDoc(id);
    if (live instanceof Y.Item) return rootOfLive(live);
    if (!live) missingDependencies = true;
    return null;
  };

  const changes: ItemChange[] = [];
  for (const s of decoded.structs) {
    if (!(s instanceof Y.Item)) continue;
    if (s.id.clock + s.length <= (known.get(s.id.client) ?? 0)) continue; // already in the document
    changes.push({ kind: 'insert', root: rootOfDecoded(s), item: s });
  }

  for (const [client, ranges] of decoded.ds.clients) {
    const structs = doc.store.clients.get(client);
    if (!structs) continue; // deletes of items we do not have: they belong to new structs of this update
    const state = Y.getState(doc.store, client);
    for (const { clock, len } of ranges) {
      const end = Math.min(clock + len, state);
      if (clock >= end) continue;
      let i = Y.findIndexSS(structs, clock);
      while (i < structs.length) {
        const s = structs[i]!;
        if (s.id.clock >= end) break;
        if (s instanceof Y.Item && !s.deleted) changes.push({ kind: 'delete', root: rootOfLive(s), item: s });
        i++;
      }
    }
  }
  return { changes, missingDependencies };
}
