/**
 * Broadcasts are framed once and written to each socket directly (server/src/collab/wire.ts). The frames must
 * be what a WebSocket client parses, at every length encoding, and must stay in order with the messages `ws`
 * frames itself (sync answers, awareness) on the same socket.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createRequire } from 'node:module';
import { frameBinary } from '@marginalia/server/collab/wire.js';
import { startServer, createDocument, type TestServer } from '../support/server.js';
import { rawClient } from '../support/raw-client.js';

/** ws's own frame parser: ws exports it, its type definitions do not declare it. */
interface FrameParser {
  write(chunk: Buffer): boolean;
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', fn: (e: Error) => void): void;
}
const { Receiver } = createRequire(import.meta.url)('ws') as {
  Receiver: new (options: { isServer: boolean; binaryType: string }) => FrameParser;
};

describe('pre-framed broadcast frames', () => {
  // 125/126 and 65535/65536: where the length moves from 7 bits to 16 and from 16 to 64.
  test.each([0, 1, 125, 126, 127, 65535, 65536, 300_000])(
    'a %i-byte payload is parsed back by a WebSocket client',
    (n) => {
      const payload = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
      const receiver = new Receiver({ isServer: false, binaryType: 'nodebuffer' });
      const messages: { data: Buffer; isBinary: boolean }[] = [];
      receiver.on('message', (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
      const errors: Error[] = [];
      receiver.on('error', (e: Error) => errors.push(e));
      // Fed in two pieces, split inside the header, as TCP may deliver it; the receiver parses as it is fed.
      const frame = frameBinary(payload);
      receiver.write(frame.subarray(0, 1));
      receiver.write(frame.subarray(1));
      expect(errors).toEqual([]);
      expect(messages).toHaveLength(1);
      const { data, isBinary } = messages[0]!;
      expect(isBinary).toBe(true);
      expect(data.byteLength).toBe(n);
      expect(Buffer.compare(data, Buffer.from(payload))).toBe(0);
    },
  );
});

describe('broadcasts on the wire', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('updates of every frame size reach the other clients intact and in order', async () => {
    const docId = await createDocument(server.url, server.adminToken, 'A short article for frame sizes.');
    const writer = rawClient(server.wsUrl, docId, server.adminToken);
    const readers = [0, 1, 2].map(() => rawClient(server.wsUrl, docId, server.adminToken));
    await Promise.all([writer.synced, ...readers.map((r) => r.synced)]);
    // The ws client offers permessage-deflate; the server declines it (frames are written as built, in order).
    for (const c of [writer, ...readers]) expect(c.ws.extensions).toBe('');
    const notes = writer.doc.getArray<string>('frame-test');
    // Each insert is one update, broadcast as one frame: 7-bit, 16-bit and 64-bit lengths, small again.
    const sizes = [10, 200, 70_000, 3, 1_000, 150_000, 20];
    for (const n of sizes) notes.push(['x'.repeat(n)]);
    const expected = sizes.map((n) => 'x'.repeat(n));
    for (const r of readers) {
      await r.until(() => r.doc.getArray<string>('frame-test').length === sizes.length, 10_000, 'all notes');
      expect(r.doc.getArray<string>('frame-test').toArray()).toEqual(expected);
    }
    // Messages ws frames itself still parse after the pre-framed ones: a sync step 1 gets its answer.
    for (const r of readers) expect(await r.probe()).toBe(true);
    await Promise.all([writer, ...readers].map((c) => c.close()));
  });
});
