/**
 * What an incoming update would change, found before it is applied: every new item and every deletion of a
 * live item, each with where it sits — the chain of shared types from a root down to the type that holds it,
 * and the map key it is stored under. The policy decides on this, not on the raw bytes.
 *
 * A decoded Item names its parent (a root name, or the ID of the item holding its parent type) and map key, or
 * leaves both to be inferred from its left/right origin (then it sits beside that item: same parent, same key —
 * this is how a map-key overwrite arrives). Referenced items are found in the update itself or in the document.
 * Structs the document already has (a sync step 2 carries the sender's whole state) and ranges that are already
 * deleted are not changes.
 */
import * as Y from 'yjs';

/** A shared type: live in the document, or created by this update (the decoded item that holds it). */
export type TypeRef = { live: Y.AbstractType<unknown> } | { created: Y.Item };

/** One step of a location: the type, and the key (map) or null (array/text element) under its parent. */
export interface Step {
  ref: TypeRef;
  key: string | null;
}

export interface Location {
  /** The root type's name (`root`, `meta`, `vocabulary`, `threads`). */
  root: string;
  /** Types below the root, outermost first, each with the key it sits under in its parent. */
  steps: Step[];
  /** The map key of the changed item itself (null inside arrays and text). */
  key: string | null;
}

export interface ItemChange {
  kind: 'insert' | 'delete';
  /** Where the item sits, or null when it cannot be determined. */
  at: Location | null;
  /** For inserts: the decoded item; for deletes: the live item in the document. */
  item: Y.Item;
}

export interface UpdateChanges {
  changes: ItemChange[];
  /** True when the update references content neither it nor the document has (it would wait as pending). */
  missingDependencies: boolean;
  /** Yjs client ids under which the update writes new structs. */
  writers: number[];
  /** Values of map entries this update creates, by their holding type: read to validate new threads/comments. */
  valueOf(ref: TypeRef, key: string): unknown;
}

type ID = { client: number; clock: number };

export class MalformedUpdateError extends Error {}

const MAX_DEPTH = 64;

export function inspectUpdate(doc: Y.Doc, update: Uint8Array, opts: { locate?: boolean } = {}): UpdateChanges {
  let decoded: {
    structs: Array<Y.Item | Y.GC | Y.Skip>;
    ds: { clients: Map<number, { clock: number; len: number }[]> };
  };
  try {
    decoded = Y.decodeUpdate(update) as typeof decoded;
  } catch (e) {
    throw new MalformedUpdateError(`malformed update: ${(e as Error).message}`);
  }
  // Yjs never encodes empty structs or empty delete ranges; applying them can throw after the update is stored.
  if (decoded.structs.some((s) => s.length < 1)) throw new MalformedUpdateError('malformed update: empty struct');
  for (const ranges of decoded.ds.clients.values())
    if (ranges.some((r) => !(r.len > 0))) throw new MalformedUpdateError('malformed update: empty delete range');
  const locate = opts.locate ?? true;
  const ownItems = new Map<number, Y.Item[]>();
  for (const s of decoded.structs) {
    if (s instanceof Y.Item) {
      const list = ownItems.get(s.id.client);
      if (list) list.push(s);
      else ownItems.set(s.id.client, [s]);
    }
  }
  let missingDependencies = false;
  // Clock ranges this update itself carries, per client (Skip structs are gaps, not content).
  const spans = new Map<number, Array<[number, number]>>();
  for (const s of decoded.structs) {
    if (s instanceof Y.Skip) continue;
    const list = spans.get(s.id.client) ?? [];
    list.push([s.id.clock, s.id.clock + s.length]);
    spans.set(s.id.client, list);
  }
  const coveredByUpdate = (client: number, from: number, to: number): boolean => {
    let at = from;
    for (const [start, end] of spans.get(client) ?? []) if (start <= at && end > at) at = end;
    return at >= to;
  };
  // Structs that start past what the document has would wait as pending: a gap no other client can fill.
  for (const [client, list] of spans)
    if (list[0]![0] > Y.getState(doc.store, client) || !coveredByUpdate(client, list[0]![0], list.at(-1)![1]))
      missingDependencies = true;
  // Every struct an item refers to (origin, right origin, parent) must exist: in the document or in the update,
  // and, within one client, before it (Yjs integrates a client's structs in clock order and assumes so; a
  // forward reference makes applying throw after the update was stored, and the stored log no longer loads).
  for (const s of decoded.structs) {
    if (!(s instanceof Y.Item)) continue;
    const parent = s.parent as unknown;
    for (const ref of [
      s.origin,
      s.rightOrigin,
      parent && typeof parent === 'object' && 'client' in parent ? (parent as ID) : null,
    ]) {
      if (!ref) continue;
      if (ref.client === s.id.client && ref.clock >= s.id.clock)
        throw new MalformedUpdateError('malformed update: a struct refers to a later one');
      if (ref.clock >= Y.getState(doc.store, ref.client) && !coveredByUpdate(ref.client, ref.clock, ref.clock + 1))
        missingDependencies = true;
    }
  }

  const findInUpdate = (id: ID): Y.Item | null => {
    for (const it of ownItems.get(id.client) ?? [])
      if (id.clock >= it.id.clock && id.clock < it.id.clock + it.length) return it;
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

  /** Location of a live type: climb `_item` links to the root. */
  const locateLive = (type: Y.AbstractType<unknown>): { root: string; steps: Step[] } | null => {
    const steps: Step[] = [];
    let t: Y.AbstractType<unknown> = type;
    for (let depth = 0; t._item; depth++) {
      if (depth > MAX_DEPTH) return null;
      steps.unshift({ ref: { live: t }, key: t._item.parentSub });
      t = t._item.parent as Y.AbstractType<unknown>;
    }
    let root: string;
    try {
      root = Y.findRootTypeKey(t);
    } catch {
      return null;
    }
    return { root, steps };
  };

  const placeCache = new Map<Y.Item, { parent: { root: string; steps: Step[] } | null; key: string | null }>();
  /** Where a decoded item sits: its parent type's location and its own key. */
  const placeOfDecoded = (
    item: Y.Item,
    depth = 0,
  ): { parent: { root: string; steps: Step[] } | null; key: string | null } => {
    const cached = placeCache.get(item);
    if (cached) return cached;
    let place: { parent: { root: string; steps: Step[] } | null; key: string | null } = {
      parent: null,
      key: item.parentSub,
    };
    if (depth > MAX_DEPTH) return place;
    const parent = item.parent as unknown;
    if (typeof parent === 'string') place = { parent: { root: parent, steps: [] }, key: item.parentSub };
    else if (parent && typeof parent === 'object' && 'client' in parent) {
      place = { parent: locateTypeItem(parent as ID, depth), key: item.parentSub };
    } else {
      const neighbourId = item.origin ?? item.rightOrigin;
      if (neighbourId) {
        const own = findInUpdate(neighbourId);
        if (own) place = placeOfDecoded(own, depth + 1);
        else {
          const live = findInDoc(neighbourId);
          if (live instanceof Y.Item)
            place = { parent: locateLive(live.parent as Y.AbstractType<unknown>), key: live.parentSub };
          else if (!live) missingDependencies = true;
        }
      }
    }
    placeCache.set(item, place);
    return place;
  };
  /** Location of the type held by the item with this id (created by the update, or live). */
  const locateTypeItem = (id: ID, depth: number): { root: string; steps: Step[] } | null => {
    const own = findInUpdate(id);
    if (own) {
      const place = placeOfDecoded(own, depth + 1);
      if (!place.parent) return null;
      return { root: place.parent.root, steps: [...place.parent.steps, { ref: { created: own }, key: place.key }] };
    }
    const live = findInDoc(id);
    if (live instanceof Y.Item && live.content instanceof Y.ContentType) return locateLive(live.content.type);
    if (!live) missingDependencies = true;
    return null;
  };

  const changes: ItemChange[] = [];
  const writers = new Set<number>();
  for (const s of decoded.structs) {
    if (s instanceof Y.Skip || s.id.clock + s.length <= Y.getState(doc.store, s.id.client)) continue; // already in the document
    writers.add(s.id.client);
    if (!(s instanceof Y.Item)) continue;
    let at: Location | null = null;
    if (locate) {
      const place = placeOfDecoded(s);
      if (place.parent) at = { root: place.parent.root, steps: place.parent.steps, key: place.key };
    }
    changes.push({ kind: 'insert', at, item: s });
  }

  for (const [client, ranges] of decoded.ds.clients) {
    const structs = doc.store.clients.get(client);
    const state = Y.getState(doc.store, client);
    // Deleting clocks the document does not have is allowed only for structs this update brings: Yjs would keep
    // any other such range pending and delete whatever another client later writes there.
    for (const { clock, len } of ranges) {
      if (clock + len > state && !coveredByUpdate(client, Math.max(clock, state), clock + len))
        missingDependencies = true;
    }
    if (!structs) continue; // deletes of items the document does not have: new structs of this update
    for (const { clock, len } of ranges) {
      const end = Math.min(clock + len, state);
      if (clock >= end) continue;
      for (let i = Y.findIndexSS(structs, clock); i < structs.length; i++) {
        const s = structs[i]!;
        if (s.id.clock >= end) break;
        if (!(s instanceof Y.Item) || s.deleted) continue;
        let at: Location | null = null;
        if (locate) {
          const parent = locateLive(s.parent as Y.AbstractType<unknown>);
          if (parent) at = { ...parent, key: s.parentSub };
        }
        changes.push({ kind: 'delete', at, item: s });
      }
    }
  }

  const valueOf = (ref: TypeRef, key: string): unknown => {
    if ('live' in ref) return (ref.live as Y.Map<unknown>).get(key);
    // the newest entry this update sets for `key` in the created map (a later item wins, as in Yjs)
    let value: unknown = undefined;
    for (const c of changes) {
      if (c.kind !== 'insert' || !c.at || c.at.key !== key) continue;
      const last = c.at.steps.at(-1);
      if (!last || !('created' in last.ref) || last.ref.created !== ref.created) continue;
      const content = c.item.content;
      if (content instanceof Y.ContentAny) value = content.getContent()[0];
      else if (content instanceof Y.ContentType) value = content.type;
      else if (content instanceof Y.ContentString) value = content.str;
    }
    return value;
  };

  return { changes, missingDependencies, valueOf, writers: [...writers] };
}
