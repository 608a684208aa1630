/**
 * The clients a load generator runs: cheap raw receivers (handshake, then a byte scan for beacons), raw writers
 * (a private Y.Doc that only ever holds the writer's own thread; its updates are real Yjs updates made by the
 * shared mutators), and real providers (y-websocket's WebsocketProvider, Hocuspocus's provider) to check the
 * raw clients against.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { HocuspocusProvider } from '@hocuspocus/provider';
import { addComment, createThread, threadsMap, type AnchorPositions, type TextQuote } from '@marginalia/shared';
import { Histogram } from './hist.js';
import * as wire from './wire.js';

export type ServerKind = 'marginalia' | 'marginalia-nopersist' | 'y-websocket-server' | 'hocuspocus' | 'floor';

export interface Target {
  server: ServerKind;
  /** ws://host:port */
  base: string;
  token: string;
  userId: string;
  userName: string;
}

export const dialectOf = (s: ServerKind): wire.Dialect => (s === 'hocuspocus' ? 'hp' : 'y');
const isMarginalia = (s: ServerKind) => s === 'marginalia' || s === 'marginalia-nopersist';

/** Shared bookkeeping of one generator run: when each beacon left, who got it, frame counts. */
export class Ledger {
  /** Send time (performance.now) of beacon writer*maxSeq+seq; NaN until sent. */
  readonly sentAt: Float64Array;
  /** Whether the beacon was sent inside the measurement window. */
  readonly measured: Uint8Array;
  /** Deliveries of each beacon to clients that count beacons. */
  readonly deliveries: Uint16Array;
  readonly raw = new Histogram();
  readonly real = new Histogram();
  frames = 0;
  /** Sockets the server closed during the run, by "code reason". */
  readonly closes = new Map<string, number>();
  windowOpen = false;
  sentInWindow = 0;
  constructor(
    readonly writers: number,
    readonly maxSeq: number,
  ) {
    this.sentAt = new Float64Array(writers * maxSeq).fill(NaN);
    this.measured = new Uint8Array(writers * maxSeq);
    this.deliveries = new Uint16Array(writers * maxSeq);
  }
  sent(writer: number, seq: number): void {
    const i = writer * this.maxSeq + seq;
    this.sentAt[i] = performance.now();
    if (this.windowOpen) {
      this.measured[i] = 1;
      this.sentInWindow++;
    }
  }
  delivered(writer: number, seq: number, hist: Histogram): void {
    if (writer >= this.writers || seq >= this.maxSeq) return;
    const i = writer * this.maxSeq + seq;
    this.deliveries[i]!++;
    if (this.measured[i]) hist.record(performance.now() - this.sentAt[i]!);
  }
  frame(): void {
    if (this.windowOpen) this.frames++;
  }
}

/** A WebSocket class for real providers that counts their frames too. */
function countingSocket(ledger: Ledger | null): typeof WebSocket {
  return class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      if (ledger) this.on('message', () => ledger.frame());
    }
  } as typeof WebSocket;
}

export function rawUrl(t: Target, doc: string): string {
  if (isMarginalia(t.server)) return `${t.base}/collab/${encodeURIComponent(doc)}?token=${encodeURIComponent(t.token)}`;
  if (t.server === 'y-websocket-server') return `${t.base}/${encodeURIComponent(doc)}`;
  return t.base;
}

/** A raw client: does the handshake, answers the server's step 1, then counts frames and scans for beacons. */
export class RawClient {
  readonly ws: WebSocket;
  readonly dialect: wire.Dialect;
  private readonly off: number;
  /** Resolves with the server's sync step 2 payload (the document state). */
  readonly synced: Promise<Uint8Array>;
  /**
   * Resolves when the server's sync step 1 arrives: Marginalia sends it once the document is loaded (a client
   * that arrives while it loads is sent the stored state before that).
   */
  readonly serverStep1: Promise<number>;
  /** Resolves when the first frame carrying document state arrives (sync step 2 or update). */
  readonly firstData: Promise<number>;
  beacons = 0;
  private echo: (() => void) | null = null;

  constructor(
    readonly t: Target,
    readonly doc: string,
    ledger: Ledger | null,
  ) {
    this.dialect = dialectOf(t.server);
    this.off = wire.typeOffset(this.dialect, doc);
    this.ws = new WebSocket(rawUrl(t, doc), { perMessageDeflate: false });
    let onSynced!: (u: Uint8Array) => void;
    let onStep1!: (at: number) => void;
    let failed!: (e: Error) => void;
    this.synced = new Promise((res, rej) => ((onSynced = res), (failed = rej)));
    this.serverStep1 = new Promise((res) => (onStep1 = res));
    let onData!: (at: number) => void;
    this.firstData = new Promise((res) => (onData = res));
    this.synced.catch(() => {});
    this.ws.on('open', () => {
      if (this.dialect === 'hp') this.ws.send(wire.hpAuth(doc, t.token));
      this.ws.send(wire.syncStep1(this.dialect, doc));
    });
    this.ws.on('error', (e) => failed(e));
    this.ws.on('close', (code, reason) => {
      const why = `${code} ${reason.toString()}`;
      if (ledger) ledger.closes.set(why, (ledger.closes.get(why) ?? 0) + 1);
      failed(new Error(`closed ${why}`));
    });
    const found = (w: number, s: number) => {
      this.beacons++;
      ledger!.delivered(w, s, ledger!.raw);
    };
    this.ws.on('message', (data: Buffer) => {
      ledger?.frame();
      if (data[this.off] !== wire.SYNC) return;
      const sub = data[this.off + 1];
      if (sub === wire.UPDATE || sub === wire.STEP2) onData(performance.now());
      if (sub === wire.UPDATE) {
        if (ledger) wire.scanBeacons(data, found);
        if (this.echo) this.echo();
      } else if (sub === wire.STEP1) {
        onStep1(performance.now());
        this.ws.send(wire.syncStep2(this.dialect, doc));
      } else if (sub === wire.STEP2) {
        onSynced(wire.parse(this.dialect, data).payload!);
      }
    });
  }

  send(frame: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  /** Sends an update and resolves when the server broadcasts an update back (references echo to the sender). */
  pushAndWait(update: Uint8Array, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo of the seed update')), timeoutMs);
      this.echo = () => {
        clearTimeout(timer);
        this.echo = null;
        resolve();
      };
      this.send(wire.updateFrame(this.dialect, this.doc, update));
    });
  }

  close(): void {
    this.ws.removeAllListeners('close');
    this.ws.on('error', () => {});
    this.ws.terminate();
  }
}

export interface ThreadTarget {
  anchor: AnchorPositions;
  quote: TextQuote;
}

const FILLER = 'A comment of ordinary length: the claim in this passage needs a source; see the 2019 report, p. 12.';

/** A raw writer: its own Y.Doc holds only its own thread; each beacon is a reply made with `addComment`. */
export class RawWriter {
  readonly client: RawClient;
  private readonly doc = new Y.Doc();
  private threadId = '';
  private timer: NodeJS.Timeout | null = null;
  seq = 0;

  get synced(): Promise<Uint8Array> {
    return this.client.synced;
  }

  constructor(
    t: Target,
    docId: string,
    readonly index: number,
    private readonly ledger: Ledger,
  ) {
    this.client = new RawClient(t, docId, ledger);
    this.doc.on('update', (u: Uint8Array) => this.client.send(wire.updateFrame(this.client.dialect, docId, u)));
  }

  openThread(target: ThreadTarget): void {
    const t = this.client.t;
    this.threadId = createThread(this.doc, {
      ...target,
      createdBy: t.userId,
      authorName: t.userName,
      body: `Thread ${this.index}`,
    }).threadId;
  }

  /** Writes `rate` beacons per second, starting after a random phase, until stopped or out of sequence numbers. */
  start(rate: number): void {
    const period = 1000 / rate;
    const tick = () => {
      if (this.seq >= this.ledger.maxSeq) return;
      const seq = this.seq++;
      this.ledger.sent(this.index, seq);
      const t = this.client.t;
      addComment(this.doc, this.threadId, {
        authorId: t.userId,
        authorName: t.userName,
        body: wire.beaconText(this.index, seq, FILLER),
      });
    };
    this.timer = setTimeout(() => {
      tick();
      this.timer = setInterval(tick, period);
    }, Math.random() * period);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  close(): void {
    this.stop();
    this.client.close();
    this.doc.destroy();
  }
}

/** A real provider for the server kind, with a promise of its first sync. */
export class RealClient {
  readonly doc = new Y.Doc();
  readonly synced: Promise<void>;
  private readonly provider: WebsocketProvider | HocuspocusProvider;
  private timer: NodeJS.Timeout | null = null;
  private threadId = '';
  seq = 0;

  constructor(
    t: Target,
    docId: string,
    private readonly ledger: Ledger | null,
  ) {
    const Polyfill = countingSocket(ledger);
    if (t.server === 'hocuspocus') {
      // The provider hands WebSocketPolyfill on to its HocuspocusProviderWebsocket (the type omits it).
      const config = { url: t.base, name: docId, document: this.doc, token: t.token, WebSocketPolyfill: Polyfill };
      const p = new HocuspocusProvider(config as ConstructorParameters<typeof HocuspocusProvider>[0]);
      this.synced = new Promise((res) => p.on('synced', () => res()));
      this.provider = p;
    } else {
      const marginalia = isMarginalia(t.server);
      const p = new WebsocketProvider(marginalia ? `${t.base}/collab` : t.base, docId, this.doc, {
        params: marginalia ? { token: t.token } : {},
        WebSocketPolyfill: Polyfill as unknown as typeof globalThis.WebSocket,
        disableBc: true,
      });
      this.synced = new Promise((res) => p.once('sync', () => res()));
      this.provider = p;
    }
  }

  /** Counts beacons that arrive as new comments (the document really changed, as a user would see it). */
  watchBeacons(): void {
    const ledger = this.ledger!;
    threadsMap(this.doc).observeDeep((events) => {
      for (const e of events) {
        if (!(e.target instanceof Y.Array)) continue;
        for (const item of e.changes.added) {
          for (const c of item.content.getContent()) {
            const b = c instanceof Y.Map ? wire.parseBeacon(String(c.get('body'))) : null;
            if (b) ledger.delivered(b.writer, b.seq, ledger.real);
          }
        }
      }
    });
  }

  /** As a writer: opens a thread on the article (the doc must be synced), then replies `rate` times a second. */
  startWriting(t: Target, index: number, rate: number): void {
    const ledger = this.ledger!;
    this.threadId = createThread(this.doc, {
      start: 20,
      end: 60,
      createdBy: t.userId,
      authorName: t.userName,
      body: 'Writer thread',
    }).threadId;
    this.timer = setInterval(() => {
      if (this.seq >= ledger.maxSeq) return;
      const seq = this.seq++;
      ledger.sent(index, seq);
      addComment(this.doc, this.threadId, {
        authorId: t.userId,
        authorName: t.userName,
        body: wire.beaconText(index, seq, FILLER),
      });
    }, 1000 / rate);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  close(): void {
    this.stop();
    this.provider.destroy();
    this.doc.destroy();
  }
}

/** Connects `n` clients made by `make`, at most `parallel` handshakes at a time; resolves when all are synced. */
export async function connectAll<T extends { synced: Promise<unknown> }>(
  n: number,
  make: (i: number) => T,
  parallel = 50,
): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const c = make(next++);
      out.push(c);
      await c.synced;
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, lane));
  return out;
}
