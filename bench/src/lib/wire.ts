/**
 * The two wire dialects the benchmark speaks, at byte level, for cheap raw clients:
 *  - 'y':  y-websocket (Marginalia, @y/websocket-server): [type][payload]
 *  - 'hp': Hocuspocus: [varString documentName][type][payload]; the client authenticates first.
 * Message types: 0 sync (sub 0 step 1, 1 step 2, 2 update), 1 awareness, 2 auth.
 * Beacons are comment bodies that start "@@B<writer:4><seq:7>@@": found in frames by a byte scan.
 */
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';

export type Dialect = 'y' | 'hp';

export const SYNC = 0;
export const AWARENESS = 1;
export const AUTH = 2;
export const STEP1 = 0;
export const STEP2 = 1;
export const UPDATE = 2;

/** Yjs encoding of an empty state vector, and of an empty update. */
const EMPTY_SV = new Uint8Array([0]);
const EMPTY_UPDATE = new Uint8Array([0, 0]);

function frame(dialect: Dialect, doc: string, write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  if (dialect === 'hp') encoding.writeVarString(e, doc);
  write(e);
  return encoding.toUint8Array(e);
}

export const syncStep1 = (d: Dialect, doc: string, sv: Uint8Array = EMPTY_SV) =>
  frame(d, doc, (e) => {
    encoding.writeVarUint(e, SYNC);
    encoding.writeVarUint(e, STEP1);
    encoding.writeVarUint8Array(e, sv);
  });

export const syncStep2 = (d: Dialect, doc: string, update: Uint8Array = EMPTY_UPDATE) =>
  frame(d, doc, (e) => {
    encoding.writeVarUint(e, SYNC);
    encoding.writeVarUint(e, STEP2);
    encoding.writeVarUint8Array(e, update);
  });

export const updateFrame = (d: Dialect, doc: string, update: Uint8Array) =>
  frame(d, doc, (e) => {
    encoding.writeVarUint(e, SYNC);
    encoding.writeVarUint(e, UPDATE);
    encoding.writeVarUint8Array(e, update);
  });

/** Hocuspocus: the token message every client sends first for each document. */
export const hpAuth = (doc: string, token: string) =>
  frame('hp', doc, (e) => {
    encoding.writeVarUint(e, AUTH);
    encoding.writeVarUint(e, 0); // AuthMessageType.Token
    encoding.writeVarString(e, token);
  });

export interface Parsed {
  type: number;
  /** For sync messages: 0 step 1, 1 step 2, 2 update; -1 otherwise. */
  sub: number;
  /** For sync messages: the payload (state vector or update). */
  payload: Uint8Array | null;
}

/** Reads a frame's header (and sync payload); only used on the few frames that need it. */
export function parse(d: Dialect, data: Uint8Array): Parsed {
  const dec = decoding.createDecoder(data);
  if (d === 'hp') decoding.readVarString(dec);
  const type = decoding.readVarUint(dec);
  if (type !== SYNC) return { type, sub: -1, payload: null };
  const sub = decoding.readVarUint(dec);
  return { type, sub, payload: decoding.readVarUint8Array(dec) };
}

/** Offset of the message type byte: 0 for 'y'; after the document name for 'hp' (names < 128 bytes). */
export const typeOffset = (d: Dialect, doc: string) => (d === 'hp' ? 1 + Buffer.byteLength(doc) : 0);

export const BEACON_MARK = Buffer.from('@@B');
export const BEACON_LEN = 3 + 4 + 7 + 2;

export function beaconText(writer: number, seq: number, filler: string): string {
  return `@@B${String(writer).padStart(4, '0')}${String(seq).padStart(7, '0')}@@ ${filler}`;
}

const digits = (b: Uint8Array, from: number, n: number): number => {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
};

/** Calls `found(writer, seq)` for every beacon in `buf`. */
export function scanBeacons(buf: Buffer, found: (writer: number, seq: number) => void): void {
  let at = buf.indexOf(BEACON_MARK, 0);
  while (at !== -1 && at + BEACON_LEN <= buf.length) {
    const writer = digits(buf, at + 3, 4);
    const seq = digits(buf, at + 7, 7);
    if (writer >= 0 && seq >= 0 && buf[at + 14] === 64 && buf[at + 15] === 64) found(writer, seq);
    at = buf.indexOf(BEACON_MARK, at + BEACON_LEN);
  }
}

/** Parses a beacon at the start of a string (a comment body seen by a real provider). */
export function parseBeacon(s: string): { writer: number; seq: number } | null {
  const m = /^@@B(\d{4})(\d{7})@@/.exec(s);
  return m ? { writer: Number(m[1]), seq: Number(m[2]) } : null;
}
