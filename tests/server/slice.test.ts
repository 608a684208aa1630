/**
 * Building a large document in slices (server/src/storage/slice.ts): applied in order, the slices must make
 * exactly the document the whole state makes, with nothing left pending, whatever the history — several
 * clients editing concurrently (text inserts and deletes, map keys set and overwritten, nested types, deletions
 * that garbage-collect) and exchanging updates in a random order. The same histories for a state's lead (what a
 * joining client is sent first): applied alone it leaves nothing pending and holds everything but the threads as
 * the whole state has it; the whole state after it makes the same document. Seeded: the seed is printed, and
 * TEST_SEED=<seed> replays a failure.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import * as Y from 'yjs';
import { leadOf, sliceUpdate } from '@marginalia/server/storage/slice.js';
import { testSeed } from '../support/random.js';

const SEED = testSeed();

type Step =
  | { kind: 'insert'; who: number; at: number; text: string }
  | { kind: 'delete'; who: number; at: number; len: number }
  | { kind: 'set'; who: number; key: number; value: number }
  | { kind: 'thread'; who: number; key: number; body: string }
  | { kind: 'reply'; who: number; key: number; body: string }
  | { kind: 'drop'; who: number; key: number }
  | { kind: 'format'; who: number; at: number; len: number; bold: boolean }
  | { kind: 'embed'; who: number; at: number; n: number }
  | { kind: 'element'; who: number; name: string; attr: string }
  | { kind: 'sync'; from: number; to: number };

const step = (clients: number): fc.Arbitrary<Step> => {
  const who = fc.integer({ min: 0, max: clients - 1 });
  return fc.oneof(
    // Any code points, lone surrogates too: the slicer counts clocks in UTF-16 units from the encoded bytes.
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('insert' as const),
        who,
        at: fc.nat(),
        text: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
      }),
    },
    fc.record({
      kind: fc.constant('format' as const),
      who,
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 6 }),
      bold: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('embed' as const), who, at: fc.nat(), n: fc.integer() }),
    fc.record({
      kind: fc.constant('element' as const),
      who,
      name: fc.constantFrom('p', 'h1', 'quote'),
      attr: fc.string({ unit: 'grapheme', maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant('delete' as const), who, at: fc.nat(), len: fc.integer({ min: 1, max: 5 }) }),
    fc.record({ kind: fc.constant('set' as const), who, key: fc.integer({ min: 0, max: 3 }), value: fc.integer() }),
    fc.record({
      kind: fc.constant('thread' as const),
      who,
      key: fc.integer({ min: 0, max: 5 }),
      body: fc.string({ maxLength: 8 }),
    }),
    fc.record({
      kind: fc.constant('reply' as const),
      who,
      key: fc.integer({ min: 0, max: 5 }),
      body: fc.string({ maxLength: 8 }),
    }),
    fc.record({ kind: fc.constant('drop' as const), who, key: fc.integer({ min: 0, max: 5 }) }),
    // Exchanges are frequent, so that replicas build on each other's structs (what slicing must order).
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: who, to: who }) },
  );
};

/** Runs the steps on `clients` replicas; returns every update any replica made, in the order made. */
function play(clients: number, steps: Step[], ids: number[]): { docs: Y.Doc[]; log: Uint8Array[] } {
  const docs = Array.from({ length: clients }, (_, i) => {
    const d = new Y.Doc({ gc: true });
    d.clientID = ids[i]!; // from the scenario, so that a failure replays exactly
    return d;
  });
  const log: Uint8Array[] = [];
  docs.forEach((d) => d.on('update', (u: Uint8Array, origin: unknown) => origin !== 'sync' && log.push(u)));
  for (const s of steps) {
    if (s.kind === 'sync') {
      const from = docs[s.from]!;
      const to = docs[s.to]!;
      Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)), 'sync');
      continue;
    }
    const d = docs[s.who]!;
    const text = d.getText('root');
    const threads = d.getMap<Y.Map<unknown>>('threads');
    const key = 'key' in s ? `t${s.key}` : '';
    switch (s.kind) {
      case 'insert':
        text.insert(s.at % (text.length + 1), s.text);
        break;
      case 'delete':
        if (text.length) text.delete(s.at % text.length, Math.min(s.len, text.length - (s.at % text.length)));
        break;
      case 'set':
        d.getMap('meta').set(`k${s.key}`, s.value);
        break;
      case 'thread': {
        const t = new Y.Map<unknown>();
        const comments = new Y.Array<Y.Map<unknown>>();
        t.set('status', 'open');
        t.set('comments', comments);
        d.transact(() => {
          threads.set(key, t);
          const c = new Y.Map<unknown>();
          comments.push([c]);
          c.set('body', s.body);
        });
        break;
      }
      case 'reply': {
        const comments = threads.get(key)?.get('comments') as Y.Array<Y.Map<unknown>> | undefined;
        if (!comments) break;
        const c = new Y.Map<unknown>();
        comments.push([c]);
        c.set('body', s.body);
        break;
      }
      case 'drop':
        threads.delete(key);
        break;
      case 'format':
        if (text.length) text.format(s.at % text.length, s.len, { bold: s.bold || null });
        break;
      case 'embed':
        text.insertEmbed(s.at % (text.length + 1), { n: s.n, bytes: Uint8Array.of(s.n & 0xff) });
        break;
      case 'element': {
        const el = new Y.XmlElement(s.name);
        el.setAttribute('data', s.attr);
        d.getXmlFragment('blocks').insert(0, [el]);
        el.insert(0, [new Y.XmlText(s.attr)]);
        d.getMap('meta').set('bytes', Uint8Array.of(s.attr.length));
        break;
      }
    }
  }
  return { docs, log };
}

/** Whether some struct was inserted next to, or into, another replica's. */
function crossClient(log: Uint8Array[]): boolean {
  return log.some((u) =>
    Y.decodeUpdate(u).structs.some(
      (st) =>
        st instanceof Y.Item &&
        [st.origin, st.rightOrigin, st.parent].some((id) => id instanceof Y.ID && id.client !== st.id.client),
    ),
  );
}

function built(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc({ gc: true });
  for (const u of updates) Y.applyUpdate(doc, u);
  return doc;
}

const same = (a: Y.Doc, b: Y.Doc) => {
  expect(Buffer.from(Y.encodeStateAsUpdate(a)).equals(Buffer.from(Y.encodeStateAsUpdate(b)))).toBe(true);
  expect(a.getText('root').toString()).toBe(b.getText('root').toString());
  expect(a.getMap('threads').toJSON()).toEqual(b.getMap('threads').toJSON());
  expect(a.getMap('meta').toJSON()).toEqual(b.getMap('meta').toJSON());
  expect(a.getXmlFragment('blocks').toString()).toBe(b.getXmlFragment('blocks').toString());
  expect(a.getText('root').toDelta()).toEqual(b.getText('root').toDelta());
};

/** Histories: 1–4 replicas (ids from the scenario, so that a failure replays exactly), their steps, a slice size. */
const histories = fc.integer({ min: 1, max: 4 }).chain((clients) =>
  fc.record({
    clients: fc.constant(clients),
    ids: fc.uniqueArray(fc.integer({ min: 1, max: 0x7fffffff }), { minLength: 4, maxLength: 4 }),
    steps: fc.array(step(clients), { minLength: 10, maxLength: 80, size: 'max' }),
    size: fc.integer({ min: 1, max: 12 }),
  }),
);

/** As the server stores a history: a snapshot of some of it and the log after it, merged on load. */
function asStored(log: Uint8Array[]): Uint8Array {
  const half = Math.floor(log.length / 2);
  return Y.mergeUpdates([Y.encodeStateAsUpdate(built(log.slice(0, half))), ...log.slice(half)]);
}

describe(`building a document in slices (seed ${SEED}; replay with TEST_SEED=${SEED})`, () => {
  test('slices applied in order make the same document as the whole state, with nothing pending', () => {
    let crossed = 0;
    fc.assert(
      fc.property(histories, ({ clients, ids, steps, size }) => {
        const { docs, log } = play(clients, steps, ids);
        const merged = asStored(log);
        const whole = built([merged]);
        const cut = sliceUpdate(merged, size);
        expect(cut).not.toBeNull();
        const sliced = new Y.Doc({ gc: true });
        for (const s of cut!.slices) {
          Y.applyUpdate(sliced, s);
          expect(sliced.store.pendingStructs).toBeNull();
        }
        expect(sliced.store.pendingDs).toBeNull();
        same(sliced, whole);
        expect(cut!.stateVector).toEqual(Y.decodeStateVector(Y.encodeStateVector(whole)));
        crossed += crossClient(log) ? 1 : 0;
        // And the same as every replica once they have all exchanged everything.
        const everything = built(log);
        same(sliced, everything);
        for (const d of docs) d.destroy();
      }),
      { seed: SEED, numRuns: 150, endOnFailure: true },
    );
    // The histories exercised the ordering: many had structs that build on another replica's.
    expect(crossed).toBeGreaterThan(45);
  });

  test("a state's lead applies alone, holds everything but the threads, and the whole state after it makes the same document", () => {
    let withLead = 0;
    let threadsLeftOut = 0;
    fc.assert(
      fc.property(histories, ({ clients, ids, steps }) => {
        const { docs, log } = play(clients, steps, ids);
        const merged = asStored(log);
        const whole = built([merged]);
        const lead = leadOf(merged, new Set(['threads']), 1);
        const outside =
          Y.encodeStateAsUpdate(whole).byteLength > 2 &&
          (whole.getText('root').length > 0 ||
            whole.getMap('meta').size > 0 ||
            whole.getXmlFragment('blocks').length > 0);
        if (outside) expect(lead).not.toBeNull();
        if (lead) {
          withLead++;
          const doc = new Y.Doc({ gc: true });
          Y.applyUpdate(doc, lead);
          expect(doc.store.pendingStructs).toBeNull();
          expect(doc.store.pendingDs).toBeNull();
          expect(doc.getText('root').toDelta()).toEqual(whole.getText('root').toDelta());
          expect(doc.getMap('meta').toJSON()).toEqual(whole.getMap('meta').toJSON());
          expect(doc.getXmlFragment('blocks').toString()).toBe(whole.getXmlFragment('blocks').toString());
          if (doc.getMap('threads').size < whole.getMap('threads').size) threadsLeftOut++;
          Y.applyUpdate(doc, merged);
          expect(doc.store.pendingStructs).toBeNull();
          expect(doc.store.pendingDs).toBeNull();
          same(doc, whole);
          doc.destroy();
        }
        for (const d of docs) d.destroy();
      }),
      { seed: SEED, numRuns: 150, endOnFailure: true },
    );
    expect(withLead).toBeGreaterThan(100);
    expect(threadsLeftOut).toBeGreaterThan(10);
  });

  test('a large document: the lead is the article without the threads, and is left out when the threads came first', () => {
    const doc = new Y.Doc();
    doc.clientID = 1;
    doc.getText('root').insert(0, 'The article, written first. '.repeat(20));
    doc.getMap('meta').set('title', 'A title');
    const threads = doc.getMap<Y.Map<unknown>>('threads');
    for (let i = 0; i < 400; i++) {
      doc.clientID = 10 + (i % 10); // other writers
      const t = new Y.Map<unknown>();
      threads.set(`t${i}`, t);
      t.set('body', `comment ${i} `.repeat(5));
    }
    doc.clientID = 11;
    threads.get('t399')!.set('reply', 'into client 19’s thread'); // so client 19's threads must come along too
    doc.getText('root').insert(0, 'Now: '); // an edit after that writer's threads: its threads come along
    const update = Y.encodeStateAsUpdate(doc);
    const lead = leadOf(update, new Set(['threads']))!;
    expect(lead).not.toBeNull();
    const early = new Y.Doc();
    Y.applyUpdate(early, lead);
    expect(early.getText('root').toString()).toBe(doc.getText('root').toString());
    expect(early.getMap('meta').get('title')).toBe('A title');
    expect(early.store.pendingStructs).toBeNull();
    expect(early.getMap('threads').size).toBe(80); // client 11's, and client 19's that it replied to
    expect(early.getMap<Y.Map<unknown>>('threads').get('t399')?.get('reply')).toBe('into client 19’s thread');
    expect(lead.byteLength).toBeLessThan(update.byteLength / 4);
    // Everything written by the article's own writers: no lead worth sending.
    const mixed = new Y.Doc();
    mixed.getText('root').insert(0, 'x');
    for (let i = 0; i < 50; i++) mixed.getMap('threads').set(`t${i}`, `comment ${i}`);
    mixed.getText('root').insert(1, 'y');
    expect(leadOf(Y.encodeStateAsUpdate(mixed), new Set(['threads']))).toBeNull();
    expect(leadOf(Y.encodeStateAsUpdate(mixed), new Set(['threads']), 1)).not.toBeNull();
  });

  test('an update that refers to structs it does not hold is not sliced (it is applied whole, as before)', () => {
    const a = new Y.Doc();
    a.getText('root').insert(0, 'hello');
    const b = new Y.Doc();
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const before = Y.encodeStateVector(b);
    b.getText('root').insert(5, ' world');
    const onlyB = Y.encodeStateAsUpdate(b, before);
    expect(sliceUpdate(onlyB, 1)).toBeNull();
    expect(sliceUpdate(Y.encodeStateAsUpdate(b), 1)).not.toBeNull();
  });

  test('a single-writer state is cut into slices of the given size, the deletions only in the last', () => {
    const doc = new Y.Doc();
    const threads = doc.getMap('threads');
    for (let i = 0; i < 300; i++) {
      const t = new Y.Map<unknown>();
      threads.set(`t${i}`, t);
      t.set('body', `comment ${i}`);
    }
    for (let i = 0; i < 300; i += 3) threads.delete(`t${i}`);
    const update = Y.encodeStateAsUpdate(doc);
    const slices = sliceUpdate(update, 100)!.slices;
    expect(slices.length).toBeGreaterThan(3);
    const decoded = slices.map((s) => Y.decodeUpdate(s));
    expect(decoded.slice(0, -1).every((d) => d.ds.clients.size === 0)).toBe(true);
    expect(decoded.at(-1)!.ds).toEqual(Y.decodeUpdate(update).ds);
    expect(decoded.slice(0, -1).every((d) => d.structs.length === 100)).toBe(true);
    expect(decoded.reduce((n, d) => n + d.structs.length, 0)).toBe(Y.decodeUpdate(update).structs.length);
    const partial = new Y.Doc();
    for (const s of slices) Y.applyUpdate(partial, s);
    expect(partial.getMap('threads').size).toBe(200);
    same(partial, doc);
  });
});
