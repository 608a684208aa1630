/**
 * Scale-out over Redis (REDIS_URL): every instance that has a document loaded publishes the updates it stored
 * (with their log sequence numbers) and its clients' awareness changes, and applies what the others publish.
 *
 * Redis pub/sub may drop messages (a reconnect, a slow subscriber), so it is never the source of truth: the
 * shared log is. A document notices a hole in the sequence numbers it has applied and reads the missing entries
 * from storage; a periodic check and every Redis reconnect do the same, so no instance stays behind for long.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { applyAwarenessUpdate } from 'y-protocols/awareness';
import type { Storage } from '../storage/types.js';
import type { LiveDocument } from '../collab/live-document.js';
import type { Extension, StoredEvent } from '../collab/hooks.js';
import { log } from '../log.js';
import { metrics } from '../metrics.js';

const KIND_UPDATE = 0;
const KIND_AWARENESS = 1;
const REMOTE_ORIGIN = 'marginalia:remote-instance';

interface Message {
  kind: number;
  firstSeq: number;
  count: number;
  payload: Uint8Array;
}

/** A document this instance has loaded (or is loading), subscribed to the other instances' messages about it. */
interface SubscribedDocument {
  live: LiveDocument | null;
  /** Messages that arrived while the document was loading. */
  buffer: Message[];
  gapTimer: NodeJS.Timeout | null;
}

export interface RedisReplicatorOptions {
  url: string;
  prefix: string;
  storage: Storage;
  /** How often loaded documents are compared with the log (ms). */
  catchUpIntervalMs: number;
  /** How long a hole in sequence numbers may last before the log is read (messages can arrive out of order). */
  gapGraceMs?: number;
}

export class RedisReplicator implements Extension {
  readonly instanceId = randomBytes(8);
  private readonly docs = new Map<string, SubscribedDocument>();
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly poller: NodeJS.Timeout;
  private wasReady = false;

  private constructor(private readonly opts: RedisReplicatorOptions) {
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: (n: number) => Math.min(100 * 2 ** n, 2000),
    };
    // Publishing while disconnected fails at once instead of queueing without bound; the log covers the gap.
    this.pub = new Redis(opts.url, { ...common, enableOfflineQueue: false });
    this.sub = new Redis(opts.url, { ...common, enableOfflineQueue: true });
    for (const [name, client] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      client.on('error', (e: Error) => log.debug('redis error', { client: name, error: e.message }));
    }
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message));
    this.sub.on('ready', () => {
      if (this.wasReady) {
        log.info('redis reconnected; catching up loaded documents');
        this.catchUpAll();
      }
      this.wasReady = true;
    });
    this.poller = setInterval(() => void this.poll(), opts.catchUpIntervalMs);
    this.poller.unref();
  }

  static async connect(opts: RedisReplicatorOptions): Promise<RedisReplicator> {
    const r = new RedisReplicator(opts);
    try {
      await Promise.all([r.pub.connect(), r.sub.connect()]);
    } catch (e) {
      // Start anyway: clients are served locally and the instance catches up when Redis returns.
      log.warn('redis unavailable at start; serving local clients only until it returns', {
        error: (e as Error).message,
      });
    }
    return r;
  }

  get healthy(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  /** Publishes what this instance stored, with its sequence numbers: the others apply it. */
  onStored({ documentId, seqs, update }: StoredEvent): void {
    this.publish(documentId, KIND_UPDATE, seqs[0] ?? 0, seqs.length, update);
  }

  /** Publishes a local client's presence change. */
  onLocalAwareness(live: LiveDocument, update: Uint8Array): void {
    this.publish(live.id, KIND_AWARENESS, 0, 0, update);
  }

  private channel(docId: string): string {
    return `${this.opts.prefix}doc:${docId}`;
  }

  /** Subscribes to the document's channel before its stored state is read: what arrives meanwhile is kept. */
  async beforeLoad(id: string): Promise<void> {
    this.docs.set(id, { live: null, buffer: [], gapTimer: null });
    try {
      await this.sub.subscribe(this.channel(id));
    } catch (e) {
      log.warn('redis subscribe failed; the document catches up from the log', {
        doc: id,
        error: (e as Error).message,
      });
    }
  }

  /** The document is loaded: delivers what arrived while it loaded, and everything after. */
  onLoad(live: LiveDocument): void {
    const entry = this.docs.get(live.id);
    if (!entry) return;
    entry.live = live;
    for (const m of entry.buffer.splice(0)) this.deliver(entry, live, m);
  }

  onUnload(id: string): void {
    const entry = this.docs.get(id);
    if (entry?.gapTimer) clearTimeout(entry.gapTimer);
    this.docs.delete(id);
    this.sub
      .unsubscribe(this.channel(id))
      // Redis is down: if the subscription outlives the document, its messages are ignored (it is not loaded here).
      .catch((e: Error) => log.debug('unsubscribe failed', { doc: id, error: e.message }));
  }

  private publish(docId: string, kind: number, firstSeq: number, count: number, payload: Uint8Array): void {
    if (!this.docs.has(docId)) return;
    const enc = encoding.createEncoder();
    encoding.writeUint8(enc, kind);
    encoding.writeUint8Array(enc, this.instanceId);
    encoding.writeVarUint(enc, firstSeq);
    encoding.writeVarUint(enc, count);
    encoding.writeUint8Array(enc, payload);
    metrics.redisPublished.inc({ kind: kind === KIND_UPDATE ? 'update' : 'awareness' });
    this.pub.publish(this.channel(docId), Buffer.from(encoding.toUint8Array(enc))).catch(() => {
      metrics.redisPublishFailures.inc();
      // Redis is down: other instances read this update from the log when they notice the hole or reconnect.
    });
  }

  private onMessage(channel: string, raw: Buffer): void {
    const docId = channel.slice(this.channel('').length);
    const entry = this.docs.get(docId);
    if (!entry) return;
    let message: Message;
    try {
      const dec = decoding.createDecoder(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
      const kind = decoding.readUint8(dec);
      const sender = decoding.readUint8Array(dec, 8);
      if (Buffer.compare(Buffer.from(sender), this.instanceId) === 0) return;
      const firstSeq = decoding.readVarUint(dec);
      const count = decoding.readVarUint(dec);
      message = { kind, firstSeq, count, payload: decoding.readTailAsUint8Array(dec) };
    } catch {
      log.warn('malformed scale-out message ignored', { doc: docId });
      return;
    }
    metrics.redisReceived.inc({ kind: message.kind === KIND_UPDATE ? 'update' : 'awareness' });
    if (!entry.live) entry.buffer.push(message);
    else this.deliver(entry, entry.live, message);
  }

  private deliver(entry: SubscribedDocument, live: LiveDocument, m: Message): void {
    try {
      if (m.kind === KIND_AWARENESS) {
        applyAwarenessUpdate(live.awareness, m.payload, REMOTE_ORIGIN);
        return;
      }
      const seqs = Array.from({ length: m.count }, (_, i) => m.firstSeq + i);
      live.applyStored([m.payload], seqs);
    } catch (e) {
      log.warn('scale-out message could not be applied; reading the log instead', {
        doc: live.id,
        error: (e as Error).message,
      });
      void this.catchUp(live);
      return;
    }
    if (live.seqs.hasGap && !entry.gapTimer) {
      entry.gapTimer = setTimeout(() => {
        entry.gapTimer = null;
        if (live.seqs.hasGap) void this.catchUp(live);
      }, this.opts.gapGraceMs ?? 250);
      entry.gapTimer.unref();
    }
  }

  private async catchUp(live: LiveDocument): Promise<void> {
    metrics.replicationCatchUps.inc();
    try {
      await live.catchUp();
    } catch (e) {
      log.warn('catch-up from the log failed; retrying on the next check', {
        doc: live.id,
        error: (e as Error).message,
      });
    }
  }

  private catchUpAll(): void {
    for (const entry of this.docs.values()) if (entry.live) void this.catchUp(entry.live);
  }

  /** Compares each loaded document with the log and reads what it lacks. */
  private async poll(): Promise<void> {
    let lag = 0;
    for (const entry of this.docs.values()) {
      const live = entry.live;
      if (!live) continue;
      try {
        const behind = (await this.opts.storage.log.lastSeq(live.id)) - live.seqs.through;
        lag = Math.max(lag, behind);
        if (behind > 0) await this.catchUp(live);
      } catch (e) {
        log.warn('catch-up check failed; tried again at the next check', { doc: live.id, error: (e as Error).message });
      }
    }
    metrics.replicationLag.set(lag);
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    for (const entry of this.docs.values()) if (entry.gapTimer) clearTimeout(entry.gapTimer);
    this.docs.clear();
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
