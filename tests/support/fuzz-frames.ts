/**
 * Frames for fuzzing the y-websocket endpoint: valid sync / awareness / auth frames built from a copy of the
 * live document (so many of them are meaningful updates), and mutations of them (bit flips, truncation,
 * length-prefix lies, huge varints, spliced bytes) applied to the whole frame or to the update inside it.
 */
import fc from 'fast-check';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import {
  addComment,
  createThread,
  deleteComment,
  editComment,
  setTag,
  setThreadStatus,
  setThreadTags,
  threadsMap,
} from '@marginalia/shared';

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'lengthLie'; delta: number }
  | { kind: 'hugeVarint'; at: number; n: number }
  | { kind: 'splice'; at: number; remove: number; bytes: Uint8Array }
  | { kind: 'duplicate' };

export interface Op {
  op: number;
  a: number;
  b: number;
  s: string;
}

export interface FrameRecipe {
  base: 'step1' | 'step2' | 'update' | 'awareness' | 'auth' | 'query' | 'random';
  ops: Op[];
  /** Mutate the update/awareness payload (then re-frame it correctly) or the whole frame. */
  target: 'payload' | 'frame';
  mutations: Mutation[];
  random: Uint8Array;
  /** Use another user's id where an id is written (forgery attempts). */
  foreignIds: boolean;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('lengthLie' as const),
    delta: fc.oneof(fc.integer({ min: -16, max: 16 }), fc.integer({ min: 1 << 16, max: 2 ** 31 })),
  }),
  fc.record({ kind: fc.constant('hugeVarint' as const), at: fc.nat(), n: fc.integer({ min: 5, max: 12 }) }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    remove: fc.integer({ min: 0, max: 8 }),
    bytes: fc.uint8Array({ maxLength: 12 }),
  }),
  fc.record({ kind: fc.constant('duplicate' as const) }),
);

export const frameRecipe: fc.Arbitrary<FrameRecipe> = fc.record({
  base: fc.constantFrom('step1', 'step2', 'update', 'update', 'update', 'awareness', 'auth', 'query', 'random'),
  ops: fc.array(
    fc.record({ op: fc.integer({ min: 0, max: 14 }), a: fc.nat(), b: fc.nat(), s: fc.string({ maxLength: 12 }) }),
    { minLength: 1, maxLength: 4 },
  ),
  target: fc.constantFrom('payload', 'payload', 'frame'),
  mutations: fc.array(mutation, { maxLength: 3 }),
  random: fc.uint8Array({ maxLength: 48 }),
  foreignIds: fc.boolean(),
});

export function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const len = bytes.length;
  switch (m.kind) {
    case 'flip': {
      if (!len) return bytes;
      const out = bytes.slice();
      out[m.at % len]! ^= 1 << m.bit;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, len ? m.at % len : 0);
    case 'hugeVarint': {
      const at = len ? m.at % (len + 1) : 0;
      const huge = new Uint8Array(m.n).fill(0xff);
      huge[m.n - 1] = 0x0f;
      return concat(bytes.slice(0, at), huge, bytes.slice(at));
    }
    case 'splice': {
      const at = len ? m.at % (len + 1) : 0;
      return concat(bytes.slice(0, at), m.bytes, bytes.slice(at + m.remove));
    }
    case 'duplicate':
      return concat(bytes, bytes);
    case 'lengthLie':
      return bytes; // applied when framing
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A frame whose length prefix says `payload.length + lie` bytes. */
function frame(prefix: number[], payload: Uint8Array, lie: number): Uint8Array {
  const e = encoding.createEncoder();
  for (const p of prefix) encoding.writeVarUint(e, p);
  encoding.writeVarUint(e, Math.max(0, payload.length + lie));
  encoding.writeUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

/** Applies the recipe's ops to a copy of `live` and returns the update they make (may be empty). */
function changes(
  live: Y.Doc,
  r: FrameRecipe,
  self: { id: string; name: string },
  other: { id: string; name: string },
): Uint8Array {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(live));
  const before = Y.encodeStateVector(doc);
  const who = r.foreignIds ? other : self;
  const threads = [...threadsMap(doc).keys()];
  const pick = <T>(list: T[], n: number): T | undefined => (list.length ? list[n % list.length] : undefined);
  for (const { op, a, b, s } of r.ops) {
    try {
      const threadId = pick(threads, a);
      const root = doc.get('root', Y.XmlText);
      const paragraph = (root.toDelta() as { insert: unknown }[])
        .map((d) => d.insert)
        .find((x): x is Y.XmlText => x instanceof Y.XmlText);
      switch (op) {
        case 0:
          paragraph?.insert(a % (paragraph.length + 1), s || 'x');
          break;
        case 1:
          if (paragraph && paragraph.length > 1) paragraph.delete(a % (paragraph.length - 1), 1 + (b % 3));
          break;
        case 2:
          doc.getMap('meta').set(s || 'title', s);
          break;
        case 3:
          threads.push(
            createThread(doc, {
              start: a % 40,
              end: (a % 40) + 1 + (b % 10),
              createdBy: who.id,
              authorName: who.name,
              body: s || 'b',
            }).threadId,
          );
          break;
        case 4:
          if (threadId) addComment(doc, threadId, { authorId: who.id, authorName: who.name, body: s || 'c' });
          break;
        case 5:
          if (threadId) setThreadStatus(doc, threadId, b % 2 ? 'resolved' : 'open', who.id);
          break;
        case 6:
          if (threadId) setThreadTags(doc, threadId, [s || 'question']);
          break;
        case 7:
          setTag(doc, s || 'tag', { color: '#123456' });
          break;
        case 8: {
          const t = threadId && threadsMap(doc).get(threadId);
          const c =
            t &&
            (t.get('comments') as Y.Array<Y.Map<unknown>>).get(
              b % Math.max(1, (t.get('comments') as Y.Array<unknown>).length),
            );
          if (threadId && c) editComment(doc, threadId, String(c.get('id')), s || 'e');
          break;
        }
        case 9: {
          const t = threadId && threadsMap(doc).get(threadId);
          const c = t && (t.get('comments') as Y.Array<Y.Map<unknown>>).get(0);
          if (threadId && c) deleteComment(doc, threadId, String(c.get('id')));
          break;
        }
        case 10:
          if (threadId) threadsMap(doc).delete(threadId);
          break;
        case 11: {
          const t = threadId && threadsMap(doc).get(threadId);
          if (t) (t as Y.Map<unknown>).set(s || 'quote', { exact: s });
          break;
        }
        // incomplete new threads: an empty map (under any key, long ones too), a field left out, an extra field
        case 12:
          threadsMap(doc).set(b % 2 ? crypto.randomUUID() : (s || 'x').repeat(1 + (a % 20_000)), new Y.Map());
          break;
        case 13:
        case 14:
          doc.transact(() => {
            const id = createThread(doc, {
              start: a % 40,
              end: (a % 40) + 1 + (b % 10),
              createdBy: who.id,
              authorName: who.name,
              body: s || 'b',
            }).threadId;
            const t = threadsMap(doc).get(id)!;
            if (op === 13) t.delete([...t.keys()][b % t.size]!);
            else t.set(s || 'extra', 1);
          });
          break;
      }
    } catch {
      /* the model refused: fine, the frame is whatever was made */
    }
  }
  const update = Y.encodeStateAsUpdate(doc, before);
  doc.destroy();
  return update;
}

/** Builds the frame a recipe describes, against the current document. */
export function buildFrame(
  live: Y.Doc,
  r: FrameRecipe,
  self: { id: string; name: string },
  other: { id: string; name: string },
): Uint8Array {
  const lie =
    r.mutations.find((m): m is Extract<Mutation, { kind: 'lengthLie' }> => m.kind === 'lengthLie')?.delta ?? 0;
  const others = r.mutations.filter((m) => m.kind !== 'lengthLie');
  const mutateAll = (b: Uint8Array) => others.reduce(mutate, b);
  let prefix: number[];
  let payload: Uint8Array;
  switch (r.base) {
    case 'random':
      return mutateAll(r.random);
    case 'query':
      return mutateAll(Uint8Array.of(3));
    case 'auth':
      prefix = [2, 0];
      payload = new TextEncoder().encode(r.ops[0]!.s);
      break;
    case 'step1':
      prefix = [0, 0];
      payload = Y.encodeStateVector(live);
      break;
    case 'awareness': {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, r.ops[0]!.a);
      encoding.writeVarUint(e, r.ops[0]!.b);
      encoding.writeVarString(
        e,
        r.foreignIds ? 'null' : JSON.stringify({ user: { name: r.ops[0]!.s }, anchorPos: r.random.length }),
      );
      prefix = [1];
      payload = encoding.toUint8Array(e);
      break;
    }
    default:
      prefix = [0, r.base === 'step2' ? 1 : 2];
      payload = changes(live, r, self, other);
  }
  if (r.target === 'payload') return frame(prefix, mutateAll(payload), lie);
  return mutateAll(frame(prefix, payload, lie));
}
