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
  /** Whether the update's own delete set removes (part of) this item it inserts. */
  deletesOwn(item: Y.Item): boolean;
}

type ID = { client: number; clock: number };

/** What Y.decodeUpdate gives: the update's structs and its delete set. */
interface DecodedUpdate {
  structs: Array<Y.Item | Y.GC | Y.Skip>;
  ds: { clients: Map<number, { clock: number; len: number }[]> };
}

/** A place in the document: a root type and the chain of types below it. */
interface TypePath {
  root: string;
  steps: Step[];
}

/** Where an item sits: the path of the type holding it (null when unknown), and its own map key. */
interface Place {
  parent: TypePath | null;
  key: string | null;
}

/** The update's own structs, looked up by id and by clock range. */
interface UpdateIndex {
  doc: Y.Doc;
  /** Decoded items per client, in clock order. */
  items: Map<number, Y.Item[]>;
  /** Clock ranges the update carries per client (Skip structs are gaps, not content). */
  spans: Map<number, Array<[number, number]>>;
}

export class MalformedUpdateError extends Error {}

const MAX_DEPTH = 64;

/**
 * Lists what `update` would change in `doc`. `locate: false` skips finding where items sit; `locate: { types,
 * entriesOf }` finds it only for the shared types the update creates and for entries of that root map (owners may
 * change anything but must create threads and comments whole: such items are what may be one, or stand where one
 * would). Throws MalformedUpdateError for bytes that are not an update Yjs
 * could apply and load again.
 */
export function inspectUpdate(
  doc: Y.Doc,
  update: Uint8Array,
  opts: { locate?: boolean | { types: true; entriesOf: string } } = {},
): UpdateChanges {
  const decoded = decodeStrictly(update);
  const index = indexUpdate(doc, decoded);
  // both run: referencesMissing also refuses forward references
  const startsPast = startsPastDocument(index);
  let missingDependencies = referencesMissing(index, decoded) || startsPast;
  const locate = opts.locate ?? true;
  const locator = locate ? new Locator(index) : null;
  const inserts = insertedItems(index, decoded, locator, typeof locate === 'object' ? locate.entriesOf : null);
  const deletes = deletedItems(index, decoded, locate === true ? locator : null);
  missingDependencies ||= deletes.missingDependencies || (locator?.missingDependencies ?? false);
  const changes = [...inserts.changes, ...deletes.changes];
  return {
    changes,
    missingDependencies,
    writers: inserts.writers,
    valueOf: (ref, key) => valueOf(changes, ref, key),
    deletesOwn: (item) => deletesOwn(decoded, item),
  };
}

/** Decodes, refusing what Yjs never encodes: empty structs and empty delete ranges (applying them can throw). */
function decodeStrictly(update: Uint8Array): DecodedUpdate {
  let decoded: DecodedUpdate;
  try {
    decoded = Y.decodeUpdate(update) as DecodedUpdate;
  } catch (e) {
    throw new MalformedUpdateError(`malformed update: ${(e as Error).message}`);
  }
  if (decoded.structs.some((s) => s.length < 1)) throw new MalformedUpdateError('malformed update: empty struct');
  for (const ranges of decoded.ds.clients.values())
    if (ranges.some((r) => !(r.len > 0))) throw new MalformedUpdateError('malformed update: empty delete range');
  return decoded;
}

function indexUpdate(doc: Y.Doc, decoded: DecodedUpdate): UpdateIndex {
  const items = new Map<number, Y.Item[]>();
  const spans = new Map<number, Array<[number, number]>>();
  for (const s of decoded.structs) {
    if (s instanceof Y.Skip) continue;
    const list = spans.get(s.id.client) ?? [];
    list.push([s.id.clock, s.id.clock + s.length]);
    spans.set(s.id.client, list);
    if (s instanceof Y.Item) {
      const own = items.get(s.id.client);
      if (own) own.push(s);
      else items.set(s.id.client, [s]);
    }
  }
  return { doc, items, spans };
}

/** Whether the update itself carries every clock of `client` in [from, to). */
function coveredByUpdate(index: UpdateIndex, client: number, from: number, to: number): boolean {
  let at = from;
  for (const [start, end] of index.spans.get(client) ?? []) if (start <= at && end > at) at = end;
  return at >= to;
}

/** Structs that start past what the document has would wait as pending: a gap no other client can fill. */
function startsPastDocument(index: UpdateIndex): boolean {
  for (const [client, list] of index.spans)
    if (
      list[0]![0] > Y.getState(index.doc.store, client) ||
      !coveredByUpdate(index, client, list[0]![0], list.at(-1)![1])
    )
      return true;
  return false;
}

/**
 * Every struct an item refers to (origin, right origin, parent) must exist: in the document or in the update,
 * and, within one client, before it (Yjs integrates a client's structs in clock order and assumes so; a forward
 * reference makes applying throw after the update was stored, and the stored log no longer loads). Returns
 * whether a reference is missing; throws on a forward reference.
 */
function referencesMissing(index: UpdateIndex, decoded: DecodedUpdate): boolean {
  let missing = false;
  for (const s of decoded.structs) {
    if (!(s instanceof Y.Item)) continue;
    for (const ref of [s.origin, s.rightOrigin, parentId(s)]) {
      if (!ref) continue;
      if (ref.client === s.id.client && ref.clock >= s.id.clock)
        throw new MalformedUpdateError('malformed update: a struct refers to a later one');
      if (
        ref.clock >= Y.getState(index.doc.store, ref.client) &&
        !coveredByUpdate(index, ref.client, ref.clock, ref.clock + 1)
      )
        missing = true;
    }
  }
  return missing;
}

/** The id of the item holding a decoded item's parent type, when the encoder wrote one. */
function parentId(item: Y.Item): ID | null {
  const parent = item.parent as unknown;
  return parent && typeof parent === 'object' && 'client' in parent ? (parent as ID) : null;
}

function findInUpdate(index: UpdateIndex, id: ID): Y.Item | null {
  for (const it of index.items.get(id.client) ?? [])
    if (id.clock >= it.id.clock && id.clock < it.id.clock + it.length) return it;
  return null;
}

function findInDoc(doc: Y.Doc, id: ID): Y.Item | Y.GC | null {
  if (id.clock >= Y.getState(doc.store, id.client)) return null;
  try {
    return Y.getItem(doc.store, id as Y.ID) as Y.Item | Y.GC;
  } catch {
    return null; // the store has no struct there
  }
}

/** Path of a live type: climb `_item` links to the root. */
function locateLive(type: Y.AbstractType<unknown>): TypePath | null {
  const steps: Step[] = [];
  let t: Y.AbstractType<unknown> = type;
  for (let depth = 0; t._item; depth++) {
    if (depth > MAX_DEPTH) return null;
    steps.unshift({ ref: { live: t }, key: t._item.parentSub });
    t = t._item.parent as Y.AbstractType<unknown>;
  }
  try {
    return { root: Y.findRootTypeKey(t), steps };
  } catch {
    return null; // a type not reachable from any root
  }
}

/**
 * Finds where decoded items sit, following parents and (for items that leave them to be inferred) neighbours,
 * through the update and the document. Remembers each answer, and whether some referenced struct was found in
 * neither.
 */
class Locator {
  missingDependencies = false;
  private readonly places = new Map<Y.Item, Place>();

  constructor(private readonly index: UpdateIndex) {}

  placeOf(item: Y.Item, depth = 0): Place {
    const cached = this.places.get(item);
    if (cached) return cached;
    if (depth > MAX_DEPTH) return { parent: null, key: item.parentSub };
    const place = this.findPlace(item, depth);
    this.places.set(item, place);
    return place;
  }

  private findPlace(item: Y.Item, depth: number): Place {
    const parent = item.parent as unknown;
    if (typeof parent === 'string') return { parent: { root: parent, steps: [] }, key: item.parentSub };
    const holder = parentId(item);
    if (holder) return { parent: this.pathOfTypeItem(holder, depth), key: item.parentSub };
    // no parent written: the item sits beside its origin (or right origin), under the same parent and key
    const neighbourId = item.origin ?? item.rightOrigin;
    if (!neighbourId) return { parent: null, key: item.parentSub };
    const own = findInUpdate(this.index, neighbourId);
    if (own) return this.placeOf(own, depth + 1);
    const live = findInDoc(this.index.doc, neighbourId);
    if (live instanceof Y.Item)
      return { parent: locateLive(live.parent as Y.AbstractType<unknown>), key: live.parentSub };
    if (!live) this.missingDependencies = true;
    return { parent: null, key: item.parentSub };
  }

  /** Path of the type held by the item with this id (created by the update, or live). */
  private pathOfTypeItem(id: ID, depth: number): TypePath | null {
    const own = findInUpdate(this.index, id);
    if (own) {
      const place = this.placeOf(own, depth + 1);
      if (!place.parent) return null;
      return { root: place.parent.root, steps: [...place.parent.steps, { ref: { created: own }, key: place.key }] };
    }
    const live = findInDoc(this.index.doc, id);
    if (live instanceof Y.Item && live.content instanceof Y.ContentType) return locateLive(live.content.type);
    if (!live) this.missingDependencies = true;
    return null;
  }

  /** Ids (`client:clock`) of the last clock of update items located as entries of a root map (any root). */
  private readonly rootEntries = new Set<string>();

  /**
   * Whether an item is an entry of a root map, found without a walk or a search of the update: its parent named as
   * a root, or (an entry written again) its neighbour an entry of a root map, live or located before in this update.
   */
  inRootMap(item: Y.Item, root: string): boolean {
    if (typeof item.parent === 'string') return item.parent === root;
    if (parentId(item)) return false;
    const n = item.origin ?? item.rightOrigin;
    if (!n) return false;
    if (this.rootEntries.has(`${n.client}:${n.clock}`)) return true;
    const live = findInDoc(this.index.doc, n);
    return live instanceof Y.Item && live.parentSub !== null && live.parent === this.index.doc.share.get(root);
  }

  locationOf(item: Y.Item): Location | null {
    const place = this.placeOf(item);
    if (place.parent && place.parent.steps.length === 0 && place.key !== null)
      this.rootEntries.add(`${item.id.client}:${item.id.clock + item.length - 1}`);
    return place.parent ? { root: place.parent.root, steps: place.parent.steps, key: place.key } : null;
  }
}

/** The update's structs the document does not have yet, and the client ids writing them. */
function insertedItems(
  index: UpdateIndex,
  decoded: DecodedUpdate,
  locator: Locator | null,
  /** Locate only new shared types and entries of this root map (null: everything). */
  typesAndEntriesOf: string | null,
): { changes: ItemChange[]; writers: number[] } {
  const changes: ItemChange[] = [];
  const writers = new Set<number>();
  for (const s of decoded.structs) {
    if (s instanceof Y.Skip || s.id.clock + s.length <= Y.getState(index.doc.store, s.id.client)) continue; // already in the document
    writers.add(s.id.client);
    if (!(s instanceof Y.Item)) continue;
    const locate =
      locator &&
      (typesAndEntriesOf === null || s.content instanceof Y.ContentType || locator.inRootMap(s, typesAndEntriesOf));
    changes.push({ kind: 'insert', at: locate ? locator.locationOf(s) : null, item: s });
  }
  return { changes, writers: [...writers] };
}

/**
 * The live items the delete set removes. Deleting clocks the document does not have is allowed only for structs
 * this update brings: Yjs would keep any other such range pending and delete whatever another client later writes
 * there (reported as a missing dependency).
 */
function deletedItems(
  index: UpdateIndex,
  decoded: DecodedUpdate,
  locator: Locator | null,
): { changes: ItemChange[]; missingDependencies: boolean } {
  const changes: ItemChange[] = [];
  let missingDependencies = false;
  for (const [client, ranges] of decoded.ds.clients) {
    const structs = index.doc.store.clients.get(client);
    const state = Y.getState(index.doc.store, client);
    for (const { clock, len } of ranges) {
      if (clock + len > state && !coveredByUpdate(index, client, Math.max(clock, state), clock + len))
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
        changes.push({ kind: 'delete', at: locator ? liveLocation(s) : null, item: s });
      }
    }
  }
  return { changes, missingDependencies };
}

function liveLocation(item: Y.Item): Location | null {
  const parent = locateLive(item.parent as Y.AbstractType<unknown>);
  return parent ? { ...parent, key: item.parentSub } : null;
}

/**
 * The value of a map entry: from the live map, or, for a map the update creates, the newest entry the update
 * sets for `key` in it (a later item wins, as in Yjs).
 */
function valueOf(changes: readonly ItemChange[], ref: TypeRef, key: string): unknown {
  if ('live' in ref) return (ref.live as Y.Map<unknown>).get(key);
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
}

function deletesOwn(decoded: DecodedUpdate, item: Y.Item): boolean {
  const { client, clock } = item.id;
  return (decoded.ds.clients.get(client) ?? []).some((r) => r.clock < clock + item.length && r.clock + r.len > clock);
}
