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
  /** Other clients' IDs it refers to, as [client, clock, client, clock, …]. */
  deps: number[];
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
      let length: number;
      if (ref === 0) {
        length = decoding.readVarUint(d); // GC
      } else if (ref === 10) {
        throw new NotSliceable('a gap (skip)');
      } else {
        if (info & 0b10000000) deps.push(decoding.readVarUint(d), decoding.readVarUint(d)); // origin
        if (info & 0b01000000) deps.push(decoding.readVarUint(d), decoding.readVarUint(d)); // right origin
        if ((info & 0b11000000) === 0) {
          if (decoding.readVarUint(d) === 1)
            skipBytes(d); // a root type's name
          else deps.push(decoding.readVarUint(d), decoding.readVarUint(d)); // the parent type's item
          if (info & 0b00100000) skipBytes(d); // map key
        }
        length = skipContent(d, ref);
      }
      if (length < 1) throw new NotSliceable('an empty struct');
      list.push({ client, clock, length, start, end: d.pos, deps });
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
