/**
 * The y-websocket wire protocol, in-process: what `decodeMessage` makes of each frame a client may send, what
 * it refuses, and that what the server encodes is what y-protocols reads. Randomised parts are seeded
 * (MARGINALIA_PROPERTY_SEED replays a run; fast-check prints the seed and path of a failure).
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import * as authProtocol from 'y-protocols/auth';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import {
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  ProtocolError,
  decodeAwarenessEntries,
  decodeMessage,
  encodeAwareness,
  encodeAwarenessEntries,
  encodePermissionDenied,
  encodeStep2Update,
  encodeSyncStep1,
  encodeUpdate,
} from '@marginalia/server/collab/protocol.js';
import { Outgoing, frameBinary } from '@marginalia/server/collab/wire.js';

const SEED = Number(process.env.MARGINALIA_PROPERTY_SEED ?? Date.now() % 2 ** 31);

/** A frame as a client's y-protocols code writes it. */
function frame(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  write(e);
  return encoding.toUint8Array(e);
}

function docWithText(s: string): Y.Doc {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, s);
  return doc;
}

describe('decodeMessage', () => {
  test('sync step 1 carries the client state vector', () => {
    const doc = docWithText('hello');
    const message = decodeMessage(
      frame((e) => {
        encoding.writeVarUint(e, MESSAGE_SYNC);
        syncProtocol.writeSyncStep1(e, doc);
      }),
    );
    expect(message.kind).toBe('sync-step1');
    const sv = Y.decodeStateVector((message as { stateVector: Uint8Array }).stateVector);
    expect(sv.get(doc.clientID)).toBe(5);
  });

  test('sync step 2 and update messages both decode to an update, marked by which they were', () => {
    const doc = docWithText('hi');
    const update = Y.encodeStateAsUpdate(doc);
    const step2 = decodeMessage(
      frame((e) => {
        encoding.writeVarUint(e, MESSAGE_SYNC);
        syncProtocol.writeSyncStep2(e, doc);
      }),
    );
    expect(step2).toEqual({ kind: 'update', update, step2: true });
    const plain = decodeMessage(
      frame((e) => {
        encoding.writeVarUint(e, MESSAGE_SYNC);
        syncProtocol.writeUpdate(e, update);
      }),
    );
    expect(plain).toEqual({ kind: 'update', update, step2: false });
  });

  test('awareness, query-awareness and auth messages are told apart', () => {
    const awareness = new Awareness(new Y.Doc());
    awareness.setLocalState({ name: 'Ann' });
    const payload = encodeAwarenessUpdate(awareness, [awareness.clientID]);
    expect(
      decodeMessage(
        frame((e) => {
          encoding.writeVarUint(e, MESSAGE_AWARENESS);
          encoding.writeVarUint8Array(e, payload);
        }),
      ),
    ).toEqual({ kind: 'awareness', update: payload });
    expect(decodeMessage(frame((e) => encoding.writeVarUint(e, MESSAGE_QUERY_AWARENESS)))).toEqual({
      kind: 'query-awareness',
    });
    expect(decodeMessage(frame((e) => encoding.writeVarUint(e, MESSAGE_AUTH)))).toEqual({ kind: 'auth' });
    awareness.destroy();
  });

  test('an unknown message type is a protocol error that names it', () => {
    expect(() => decodeMessage(frame((e) => encoding.writeVarUint(e, 9)))).toThrow(
      new ProtocolError('unknown message type 9'),
    );
  });

  test('an unknown sync message type is a protocol error that names it', () => {
    const bytes = frame((e) => {
      encoding.writeVarUint(e, MESSAGE_SYNC);
      encoding.writeVarUint(e, 7);
      encoding.writeVarUint8Array(e, new Uint8Array([0, 0]));
    });
    expect(() => decodeMessage(bytes)).toThrow(new ProtocolError('unknown sync message type 7'));
  });

  test('a frame cut short anywhere is a protocol error, never another exception', () => {
    const whole = encodeUpdate(Y.encodeStateAsUpdate(docWithText('a sentence long enough to cut')));
    for (let n = 0; n < whole.length; n++) {
      expect(() => decodeMessage(whole.subarray(0, n))).toThrow(ProtocolError);
    }
    expect(() => decodeMessage(whole.subarray(0, 2))).toThrow(/^malformed message/);
  });

  test('any bytes either decode or throw a ProtocolError (seeded)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeMessage(bytes);
        } catch (e) {
          return e instanceof ProtocolError;
        }
        return true;
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('encoders', () => {
  test('what the server encodes, y-protocols reads back into the same document', () => {
    const server = docWithText('shared text');
    const client = new Y.Doc();
    for (const message of [
      encodeStep2Update(Y.encodeStateAsUpdate(server)),
      encodeUpdate(Y.encodeStateAsUpdate(server)),
    ]) {
      const d = decoding.createDecoder(message);
      expect(decoding.readVarUint(d)).toBe(MESSAGE_SYNC);
      syncProtocol.readSyncMessage(d, encoding.createEncoder(), client, 'server');
    }
    expect(client.getText('t').toString()).toBe('shared text');
  });

  test("sync step 1 carries the server's state vector", () => {
    const server = docWithText('abc');
    const decoded = decodeMessage(encodeSyncStep1(server));
    expect(decoded.kind).toBe('sync-step1');
    expect((decoded as { stateVector: Uint8Array }).stateVector).toEqual(Y.encodeStateVector(server));
  });

  test('a permission-denied message carries its reason', () => {
    const d = decoding.createDecoder(encodePermissionDenied('permission denied: no'));
    expect(decoding.readVarUint(d)).toBe(MESSAGE_AUTH);
    let reason = '';
    authProtocol.readAuthMessage(d, new Y.Doc(), (_doc, r) => (reason = r));
    expect(reason).toBe('permission denied: no');
  });

  test('an awareness message decodes to the entries it was encoded from', () => {
    const awareness = new Awareness(new Y.Doc());
    awareness.setLocalState({ name: 'Ann', cursor: null });
    const message = decodeMessage(encodeAwareness(awareness, [awareness.clientID]));
    expect(message.kind).toBe('awareness');
    const entries = decodeAwarenessEntries((message as { update: Uint8Array }).update);
    expect(entries).toEqual([
      { clientId: awareness.clientID, clock: expect.any(Number), state: JSON.stringify({ name: 'Ann', cursor: null }) },
    ]);
    awareness.destroy();
  });
});

describe('awareness entries', () => {
  test('entries encode and decode unchanged (seeded)', () => {
    const entry = fc.record({
      clientId: fc.nat(),
      clock: fc.nat(),
      state: fc.oneof(fc.constant('null'), fc.json()),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
        expect(decodeAwarenessEntries(encodeAwarenessEntries(entries))).toEqual(entries);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  test('trailing bytes after the entries are refused', () => {
    const bytes = encodeAwarenessEntries([{ clientId: 1, clock: 1, state: '{}' }]);
    const padded = new Uint8Array([...bytes, 0]);
    expect(() => decodeAwarenessEntries(padded)).toThrow(new ProtocolError('trailing bytes after awareness entries'));
  });

  test('a count larger than the entries that follow is refused', () => {
    const bytes = encodeAwarenessEntries([{ clientId: 1, clock: 1, state: '{}' }]);
    const lying = new Uint8Array([2, ...bytes.subarray(1)]);
    expect(() => decodeAwarenessEntries(lying)).toThrow();
  });
});

describe('Outgoing', () => {
  test('a broadcast is framed once, however many recipients take it', () => {
    const out = new Outgoing(new Uint8Array([1, 2, 3]));
    const first = out.frame;
    expect(out.frame).toBe(first);
    expect(first).toEqual(frameBinary(new Uint8Array([1, 2, 3])));
    expect([...first.subarray(0, 2)]).toEqual([0x82, 3]);
  });
});
