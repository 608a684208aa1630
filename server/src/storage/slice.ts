/**
 * Cutting a stored state into slices that rebuild the document a bit at a time.
 *
 * Applying a large stored state is one `Y.applyUpdate` that holds the thread for as long as it takes (over a
 * second for 13 MB). Sliced, the document is built one slice per event-loop turn, and everything else the
 * process serves (other documents, clients arriving meanwhile) goes on between slices.
 *
 * A slice may only refer to what is in it or in the slices before it, or Yjs would park it as pending (and retry
 * it, re-encoded, with every later slice). So the structs are put in an order where each comes after everything
 * it refers to: its own client's earlier structs, the items left and right of where it was inserted (origins),
 * and the item of the type it was inserted into. The order the document was written in is one such order, so one
 * always exists for a consistent state; the one used here is found with a worklist: a client's next struct is
 * taken as soon as what it refers to is taken, and a client blocked on another waits until that one has come far
 * enough. The order is then cut into slices of about the same number of structs; within a slice each client's
 * structs are consecutive, which is what an update can hold. Deletions go with the last slice.
 *
 * The update is read without building its structs (Y.decodeUpdate would cost as much as applying it): each
 * struct's header is read for what it refers to and how many clocks it spans, its content is skipped, and a
 * slice copies the structs' bytes as they are (the update format, v1, encodes each struct on its own).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/** What applying a slice costs is about proportional to its structs: this many is ~10–25 ms here. */
export const SLICE_STRUCTS = 5_000;

interface Struct {
  client: number;
  clock: number;
  /** Clocks it spans. */
  length: number;
  /** Its bytes in the update. */
  start: number;
  end: number;
  /** The IDs it refers to (its own client's too), as [client, clock, client, clock, …]. */
  deps: number[];
  /** The root type it was inserted into, when it names one (else null). */
  root: string | null;
  /**
   * Where in `deps` the struct whose root type it shares is (its origin, else its right origin, else the item of
   * the type it was inserted into); -1 when it names its root type or is garbage-collected content (`GC`).
   */
  up: number;
  /** The root type it belongs to (null: unknown, garbage-collected content): set by `leadOf`. */
  owner?: string | null;
}

class NotSliceable extends Error {}

const readLen = (d: decoding.Decoder) => decoding.readVarUint(d);
const skipBytes = (d: decoding.Decoder) => {
  const n = decoding.readVarUint(d);
  if (d.pos + n > d.arr.length) throw new NotSliceable('truncated');
  d.pos += n;
};

/** Reads a string's length in UTF-16 units, as Yjs counts it (decoding only strings that are not ASCII). */
function stringLength(d: decoding.Decoder): number {
  const start = d.pos;
  const n = decoding.readVarUint(d);
  const from = d.pos;
  if (from + n > d.arr.length) throw new NotSliceable('truncated');
  for (let i = from; i < from + n; i++) {
    if (d.arr[i]! >= 0x80) {
      d.pos = start;
      return decoding.readVarString(d).length;
    }
  }
  d.pos = from + n;
  return n;
}

/** Skips an item's content; returns how many clocks it spans (content refs as Yjs numbers them). */
function skipContent(d: decoding.Decoder, ref: number): number {
  switch (ref) {
    case 1: // deleted
      return readLen(d);
    case 2: {
      // JSON: a count, then each value as a string
      const n = readLen(d);
      for (let i = 0; i < n; i++) skipBytes(d);
      return n;
    }
    case 3: // binary
      skipBytes(d);
      return 1;
    case 4: // string
      return stringLength(d);
    case 5: // embed (JSON string)
      skipBytes(d);
      return 1;
    case 6: // format: key, value
      skipBytes(d);
      skipBytes(d);
      return 1;
    case 7: {
      // a type; an XML element or hook also carries its name
      const typeRef = decoding.readVarUint(d);
      if (typeRef === 3 || typeRef === 5) skipBytes(d);
      return 1;
    }
    case 8: {
      // any: a count, then each value
      const n = readLen(d);
      for (let i = 0; i < n; i++) decoding.readAny(d);
      return n;
    }
    case 9: // a subdocument: guid, options
      skipBytes(d);
      decoding.readAny(d);
      return 1;
    default:
      throw new NotSliceable(`content type ${ref}`);
  }
}

/** The structs of a v1 update by client, in order, and where its delete set starts. */
function scan(update: Uint8Array): { byClient: Map<number, Struct[]>; dsStart: number } {
  const d = decoding.createDecoder(update);
  const byClient = new Map<number, Struct[]>();
  const clients = decoding.readVarUint(d);
  for (let i = 0; i < clients; i++) {
    const count = decoding.readVarUint(d);
    const client = decoding.readVarUint(d);
    let clock = decoding.readVarUint(d);
    if (byClient.has(client)) throw new NotSliceable('a client listed twice');
    const list: Struct[] = [];
    byClient.set(client, list);
    for (let j = 0; j < count; j++) {
      const start = d.pos;
      const info = decoding.readUint8(d);
      const ref = info & 0b11111;
      const deps: number[] = [];
      let root: string | null = null;
      let up = -1;
      let length: number;
      if (ref === 0) {
        length = decoding.readVarUint(d); // GC
      } else if (ref === 10) {
        throw new NotSliceable('a gap (skip)');
      } else {
        // Whatever it refers to first shares its root type: its origin, else its right origin, else its parent.
        if (info & 0b11000000) up = 0;
        if (info & 0b10000000) deps.push(decoding.readVarUint(d), decoding.readVarUint(d)); // origin
        if (info & 0b01000000) deps.push(decoding.readVarUint(d), decoding.readVarUint(d)); // right origin
        if ((info & 0b11000000) === 0) {
          if (decoding.readVarUint(d) === 1)
            root = decoding.readVarString(d); // a root type's name
          else {
            up = 0;
            deps.push(decoding.readVarUint(d), decoding.readVarUint(d)); // the parent type's item
          }
          if (info & 0b00100000) skipBytes(d); // map key
        }
        length = skipContent(d, ref);
      }
      if (length < 1) throw new NotSliceable('an empty struct');
      list.push({ client, clock, length, start, end: d.pos, deps, root, up });
      clock += length;
    }
  }
  return { byClient, dsStart: d.pos };
}

/** Each struct after what it refers to (see the top); null if some reference points outside the update. */
function causalOrder(byClient: Map<number, Struct[]>): Struct[] | null {
  const first = new Map<number, number>();
  const reached = new Map<number, number>(); // per client: clocks below this are taken
  const next = new Map<number, number>(); // per client: index of the next struct to take
  let total = 0;
  for (const [client, list] of byClient) {
    first.set(client, list[0]?.clock ?? 0);
    reached.set(client, list[0]?.clock ?? 0);
    next.set(client, 0);
    total += list.length;
  }
  const waiting = new Map<number, { clock: number; client: number }[]>();
  const order: Struct[] = [];
  const ready = [...byClient.keys()];
  while (ready.length) {
    const client = ready.pop()!;
    const list = byClient.get(client)!;
    let i = next.get(client)!;
    take: for (; i < list.length; i++) {
      const s = list[i]!;
      for (let k = 0; k < s.deps.length; k += 2) {
        const depClient = s.deps[k]!;
        const depClock = s.deps[k + 1]!;
        if (depClient === client) {
          if (depClock >= s.clock) return null; // refers to its own future
          continue; // its own earlier clocks: taken, in order
        }
        const start = first.get(depClient);
        if (start === undefined || depClock < start) return null; // refers to what the update does not hold
        if (depClock >= reached.get(depClient)!) {
          const w = waiting.get(depClient);
          if (w) w.push({ clock: depClock, client });
          else waiting.set(depClient, [{ clock: depClock, client }]);
          break take;
        }
      }
      order.push(s);
      reached.set(client, s.clock + s.length);
    }
    next.set(client, i);
    const w = waiting.get(client);
    if (w) {
      const now = reached.get(client)!;
      const still = w.filter((x) => x.clock >= now);
      for (const x of w) if (x.clock < now) ready.push(x.client);
      if (still.length) waiting.set(client, still);
      else waiting.delete(client);
    }
  }
  return order.length === total ? order : null; // short: a cycle, not a state any history produced
}

/** One update holding `part` (each client's structs consecutive, in order), then `deletions` (a v1 delete set). */
function encodeSlice(update: Uint8Array, part: Struct[], deletions: Uint8Array): Uint8Array {
  const runs = new Map<number, { first: Struct; last: Struct; count: number }>();
  for (const s of part) {
    const run = runs.get(s.client);
    if (run) {
      run.last = s;
      run.count++;
    } else runs.set(s.client, { first: s, last: s, count: 1 });
  }
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, runs.size);
  for (const [client, run] of [...runs].sort((a, b) => b[0] - a[0])) {
    encoding.writeVarUint(enc, run.count);
    encoding.writeVarUint(enc, client);
    encoding.writeVarUint(enc, run.first.clock);
    // A client's structs are consecutive in the update, so a run is one range of its bytes.
    encoding.writeUint8Array(enc, update.subarray(run.first.start, run.last.end));
  }
  encoding.writeUint8Array(enc, deletions);
  return encoding.toUint8Array(enc);
}

/**
 * The update (v1) as slices of about `size` structs each, in an order that leaves nothing pending, and the state
 * vector it covers; null when it cannot be cut that way (it refers to structs it does not hold, has gaps, or is
 * not well formed): then it must be applied whole.
 */
export function sliceUpdate(
  update: Uint8Array,
  size = SLICE_STRUCTS,
): { slices: Uint8Array[]; stateVector: Map<number, number> } | null {
  let scanned;
  try {
    scanned = scan(update);
  } catch {
    return null; // not well formed (applying it whole will say how), or not sliceable
  }
  const order = causalOrder(scanned.byClient);
  if (!order) return null;
  const deletions = update.subarray(scanned.dsStart);
  const none = Uint8Array.of(0);
  const slices: Uint8Array[] = [];
  for (let at = 0; at < order.length || slices.length === 0; at += size) {
    const last = at + size >= order.length;
    slices.push(encodeSlice(update, order.slice(at, at + size), last ? deletions : none));
  }
  const stateVector = new Map<number, number>();
  for (const [client, list] of scanned.byClient)
    if (list.length) stateVector.set(client, list.at(-1)!.clock + list.at(-1)!.length);
  return { slices, stateVector };
}

/** The index of the struct of `list` (one client's, in order) that holds `clock`; -1 if none does. */
function holding(list: Struct[] | undefined, clock: number): number {
  if (!list) return -1;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = list[mid]!;
    if (clock < s.clock) hi = mid - 1;
    else if (clock >= s.clock + s.length) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** A v1 delete set with each client's ranges cut at `ends` (clients not in it: dropped). */
function clipDeleteSet(update: Uint8Array, dsStart: number, ends: Map<number, number>): Uint8Array {
  const d = decoding.createDecoder(update.subarray(dsStart));
  const kept: [number, [number, number][]][] = [];
  const clients = decoding.readVarUint(d);
  for (let i = 0; i < clients; i++) {
    const client = decoding.readVarUint(d);
    const n = decoding.readVarUint(d);
    const end = ends.get(client) ?? 0;
    const ranges: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      const clock = decoding.readVarUint(d);
      const len = decoding.readVarUint(d);
      if (clock < end) ranges.push([clock, Math.min(len, end - clock)]);
    }
    if (ranges.length) kept.push([client, ranges]);
  }
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, kept.length);
  for (const [client, ranges] of kept) {
    encoding.writeVarUint(enc, client);
    encoding.writeVarUint(enc, ranges.length);
    for (const [clock, len] of ranges) {
      encoding.writeVarUint(enc, clock);
      encoding.writeVarUint(enc, len);
    }
  }
  return encoding.toUint8Array(enc);
}

/**
 * The lead of a full state (v1): the smallest part of it that holds everything outside the root types named in
 * `deferred` and can be applied on its own (each client's structs from its first, up to the last one needed or
 * referred to by what is taken), with the deletions of what it holds. Sent to a client ahead of the full state, it
 * lets the client show the article before the threads (most of a large document) have arrived and been applied;
 * the full state that follows repeats those structs, which Yjs skips.
 *
 * Null when the state cannot be read that way (as `sliceUpdate`), holds nothing outside `deferred`, or when the
 * lead would be more than `maxShare` of the state's size (its writers wrote the threads first: sending it
 * first would gain little for the bytes it repeats).
 */
export function leadOf(update: Uint8Array, deferred: ReadonlySet<string>, maxShare = 0.25): Uint8Array | null {
  let scanned;
  try {
    scanned = scan(update);
  } catch {
    return null;
  }
  const { byClient } = scanned;
  const order = causalOrder(byClient);
  if (!order) return null;
  // What each struct belongs to, in an order where what it refers to comes first.
  for (const s of order) {
    if (s.root !== null) s.owner = s.root;
    else if (s.up < 0) s.owner = null;
    else {
      const list = byClient.get(s.deps[s.up]!);
      s.owner = list?.[holding(list, s.deps[s.up + 1]!)]?.owner ?? null;
    }
  }
  // Each client's prefix (structs taken), grown until what is taken refers only to what is taken.
  const taken = new Map<number, number>();
  const todo: Struct[] = [];
  const take = (client: number, index: number) => {
    const from = taken.get(client) ?? 0;
    if (index < from) return;
    const list = byClient.get(client)!;
    for (let i = from; i <= index; i++) todo.push(list[i]!);
    taken.set(client, index + 1);
  };
  for (const [client, list] of byClient) {
    for (let i = list.length - 1; i >= 0; i--) {
      const owner = list[i]!.owner;
      if (owner != null && !deferred.has(owner)) {
        take(client, i);
        break;
      }
    }
  }
  if (taken.size === 0) return null;
  for (let s = todo.pop(); s; s = todo.pop()) {
    for (let k = 0; k < s.deps.length; k += 2) {
      const client = s.deps[k]!;
      if (client !== s.client) take(client, holding(byClient.get(client), s.deps[k + 1]!));
    }
  }
  const part: Struct[] = [];
  const ends = new Map<number, number>();
  for (const [client, n] of taken) {
    const list = byClient.get(client)!;
    for (let i = 0; i < n; i++) part.push(list[i]!);
    ends.set(client, list[n - 1]!.clock + list[n - 1]!.length);
  }
  const lead = encodeSlice(update, part, clipDeleteSet(update, scanned.dsStart, ends));
  return lead.byteLength <= update.byteLength * maxShare ? lead : null;
}
