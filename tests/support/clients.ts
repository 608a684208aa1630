/** Real y-websocket clients (the stock WebsocketProvider over the `ws` package) for tests. */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { waitFor } from './wait.js';

export interface TestClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** Close events seen (code, reason), newest last. */
  closes: { code: number; reason: string }[];
  /** Resolves once the first sync with the server completed. */
  synced(timeout?: number): Promise<void>;
  destroy(): void;
}

export function connectClient(
  wsUrl: string,
  docId: string,
  token: string | null,
  opts: { connect?: boolean; doc?: Y.Doc } = {},
): TestClient {
  const doc = opts.doc ?? new Y.Doc();
  const provider = new WebsocketProvider(`${wsUrl}/collab`, docId, doc, {
    params: token ? { token } : {},
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    connect: opts.connect ?? true,
    maxBackoffTime: 500,
    disableBc: true,
  });
  const closes: { code: number; reason: string }[] = [];
  let destroyed = false;
  provider.on('connection-close', (event) => {
    if (event) closes.push({ code: event.code, reason: event.reason });
  });
  return {
    doc,
    provider,
    closes,
    synced: (timeout = 10_000) =>
      waitFor(() => provider.synced, { timeout, message: `sync of ${docId}` }).then(() => {}),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      provider.destroy();
      provider.awareness.destroy();
      doc.destroy();
    },
  };
}

/** JSON of a value with object keys sorted (Y.Map.toJSON key order differs between replicas). */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
