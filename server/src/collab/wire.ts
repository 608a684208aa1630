/**
 * A message for many sockets, framed for the wire once.
 *
 * A broadcast sends the same bytes to every recipient. Through `ws`, each `send` builds a frame header and
 * writes header and payload as two corked writes (a writev) through the socket's stream: per recipient, per
 * message. Here the whole frame (RFC 6455 header + payload, one buffer) is built on first use and each
 * connection writes that one buffer to its socket. The server negotiates no extensions (no permessage-deflate),
 * so `ws` itself only ever writes whole frames to the socket, in call order: frames written here and by `ws`
 * interleave as whole frames, in the order they were sent.
 */
export class Outgoing {
  private framed: Buffer | null = null;

  constructor(readonly payload: Uint8Array) {}

  /** The complete WebSocket frame: FIN, binary opcode, unmasked (server to client), then the payload. */
  get frame(): Buffer {
    return (this.framed ??= frameBinary(this.payload));
  }
}

export function frameBinary(payload: Uint8Array): Buffer {
  const n = payload.byteLength;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + n);
  out[0] = 0x82;
  if (n < 126) {
    out[1] = n;
  } else if (n < 65536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  out.set(payload, head);
  return out;
}
