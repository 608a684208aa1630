/**
 * One WebSocket client of one document: decodes its frames, answers sync and awareness messages, and sends
 * its updates through the document's write path once admitted (admit.ts). A refused update is not applied,
 * stored or broadcast; the client is told why (auth message) and the socket is closed with the code that
 * matches the decision (4403 for a broken rule).
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { applyAwarenessUpdate } from 'y-protocols/awareness';
import type { Role } from '@marginalia/shared';
import type { Limits } from '../config.js';
import type { LiveDocument, Peer } from './live-document.js';
import { admit, admitPresence, type Admission, type Writer } from './admit.js';
import { freshDeletions } from './deleted-ranges.js';
import type { Hooks, VerifiedPrincipal } from './hooks.js';
import {
  CLOSE,
  ProtocolError,
  decodeMessage,
  encodeAwareness,
  encodePermissionDenied,
  encodeSyncStep1,
} from './protocol.js';
import type { Log } from '../log.js';
import { metrics, traffic } from '../metrics.js';
import { Outgoing } from './wire.js';
import type { AccessDecision } from '../access.js';

/**
 * Reads a principal's access to a document at this moment (collab/endpoint.ts): each update is admitted against
 * it. One function for all connections: each passes its own principal and document.
 */
export type AccessCheck = (principal: VerifiedPrincipal, docId: string) => Promise<AccessDecision>;

/** What a client sent before its Connection existed (its socket was upgraded while the document loaded). */
interface EarlyFrames {
  frames: { data: Buffer; isBinary: boolean }[];
  bytes: number;
  /** More than this before the document is ready closes the socket. */
  maxBytes: number;
}

/**
 * The `ws` WebSocket of a collaboration socket (the endpoint's server makes these). Its listeners are the four
 * functions below, shared by every socket, added once at upgrade (never removed: an emitter whose listener is
 * removed keeps a slower, larger table of them); they reach the Connection through the socket.
 */
export class PeerSocket extends WebSocket {
  /** The socket's Connection, once the document is loaded. */
  connection: Connection | null = null;
  /** Until then, what the client sends meanwhile (kept for the Connection). */
  early: EarlyFrames | null = null;

  /**
   * The emitter's listener table (Node's `_events`), replaced as the socket is made: an emitter starts it as an
   * object without a prototype, which V8 keeps as a hash table (~280 bytes with four events); one with the
   * events' names already in it is a plain object (~60 bytes). Node's own streams start theirs the same way; an
   * event whose entry is undefined has no listener.
   */
  protected _events: object = { message: undefined, close: undefined, error: undefined, pong: undefined };

  /** Listens from now on: until a Connection takes the socket over, frames are kept, up to `maxBytes`. */
  listen(maxBytes: number): void {
    this.early = { frames: [], bytes: 0, maxBytes };
    this.on('message', onSocketMessage);
    this.on('pong', onSocketPong);
    this.on('close', onSocketClose);
    this.on('error', onSocketError);
  }
}

const socketOf = (ws: WebSocket) => ws as PeerSocket;

function onSocketMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const ws = socketOf(this);
  if (ws.connection) return ws.connection.onFrame(data, isBinary);
  const early = ws.early;
  if (!early) return;
  early.bytes += data.byteLength;
  if (early.bytes > early.maxBytes) return ws.close(CLOSE.tryAgainLater, 'too much sent before the document was ready');
  early.frames.push({ data, isBinary });
}
function onSocketPong(this: WebSocket): void {
  const c = socketOf(this).connection;
  if (c) c.alive = true;
}
function onSocketClose(this: WebSocket): void {
  socketOf(this).connection?.onClosed();
}
function onSocketError(this: WebSocket, e: Error): void {
  socketOf(this).connection?.log.debug('socket error', { error: e.message });
}

/** Numbers connections in this process, for the logs. */
let connections = 0;

/**
 * What an idle connection keeps is counted (issue 22: <= 5 KB each, `ws` and the socket included): everything
 * here is a field of this one object or made on first use — no closures per connection (the socket's listeners
 * are shared functions), the rate limits are plain numbers, presence ids and the update chain exist once used.
 * The connection is its own `Writer` for admission.
 */
export class Connection implements Peer, Writer {
  /** This connection's number, carried by each line it logs. */
  private readonly number = ++connections;
  private childLog: Log | null = null;
  /** Awareness client ids this connection has announced (made on its first presence); cleared when it leaves. */
  controlledIds: Set<number> | null = null;
  alive = true;
  private closed = false;
  /**
   * This connection's updates, checked and stored one after another: a client's next update may build on its
   * previous one (typing), so it is checked only once that one is in the document. Null while nothing is pending.
   */
  private updates: Promise<void> | null = null;
  /** What this client was sent outside sync answers (the stored state while it loaded): not sent again. */
  private sent: Map<number, number> | null = null;
  /** The rate limits (token buckets): messages and bytes left, refilled by the time since `refilledAt`. */
  private messageTokens: number;
  private byteTokens: number;
  private refilledAt: number;

  constructor(
    readonly ws: PeerSocket,
    /** The socket `ws` was upgraded on: broadcasts, framed once (wire.ts), are written to it directly. */
    private readonly socket: Duplex,
    readonly live: LiveDocument,
    readonly principal: VerifiedPrincipal,
    /** The role at upgrade; updates are admitted against the role `check` reads at that moment. */
    public role: Role,
    private readonly limits: Limits,
    private readonly hooks: Hooks,
    /** What the socket was already sent (the stored state, while the document loaded), as a state vector. */
    sent: Map<number, number> | null,
    private readonly check: AccessCheck | null = null,
  ) {
    this.messageTokens = limits.maxMessagesPerSecond * 2;
    this.byteTokens = byteBurst(limits);
    this.refilledAt = Date.now();
    ws.binaryType = 'nodebuffer';
    const early = ws.early;
    ws.early = null;
    ws.connection = this;
    live.peers.add(this);
    hooks.onConnect(this);
    // The server opens with its own sync step 1 so the client sends what the server lacks.
    this.send(encodeSyncStep1(live.doc));
    const states = [...live.awareness.getStates().keys()];
    if (states.length) this.send(encodeAwareness(live.awareness, states));
    if (sent?.size) this.sent = sent;
    if (early) for (const f of early.frames) this.onFrame(f.data, f.isBinary);
    this.expireIfDue(Date.now());
  }

  /**
   * Logs about this connection (each line carries the document id and the connection's number). Made on first use:
   * most connections never log, and a child logger costs kilobytes per idle connection.
   */
  get log(): Log {
    this.childLog ??= this.live.log.child({ conn: this.number });
    return this.childLog;
  }

  /** As admission sees the writer (`Writer`): the role is this connection's, re-read before each update. */
  get userId(): string {
    return this.principal.id;
  }

  get userName(): string {
    return this.principal.name;
  }

  send(message: Uint8Array | Outgoing): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      metrics.slowConsumersClosed.inc();
      this.close(CLOSE.tryAgainLater, 'too slow to keep up; reconnect to resync');
      return;
    }
    if (message instanceof Outgoing) {
      traffic.broadcastFrames++;
      traffic.bytesSent += message.frame.byteLength;
      this.socket.write(message.frame);
    } else {
      traffic.bytesSent += message.byteLength;
      this.ws.send(message, { binary: true });
    }
  }

  /**
   * Once the token has expired the socket closes 4401 (the shipped client has reconnected with a fresh one before).
   * Checked when the connection is made and by the endpoint's one sweep over all connections (no timer per
   * connection).
   */
  expireIfDue(now: number): boolean {
    if (!this.principal.exp || this.principal.exp > now) return false;
    this.close(CLOSE.unauthorized, 'token expired; sign in again');
    return true;
  }

  /** The role taken away or changed elsewhere: closed (`code`), or, for a new role, admitted with it from now on. */
  setRole(role: Role): void {
    this.role = role;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason.slice(0, 120));
    this.onClosed();
  }

  /** A frame from the socket (its 'message' event). */
  onFrame(data: Buffer, isBinary: boolean): void {
    // Whatever a frame makes go wrong ends this connection, never the process.
    try {
      this.onMessage(data, isBinary);
    } catch (e) {
      this.log.error('message failed', { error: (e as Error).message });
      this.close(CLOSE.internalError, 'internal error');
    }
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    traffic.bytesReceived += data.byteLength;
    if (!isBinary) return this.close(CLOSE.unsupportedData, 'binary y-websocket frames only');
    if (!this.withinRate(data.byteLength)) {
      metrics.updatesRefused.inc({ reason: 'rate-limit' });
      return this.close(CLOSE.tryAgainLater, 'rate limit: too many messages or bytes per second; reconnecting');
    }
    let message;
    try {
      message = decodeMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      return this.close(CLOSE.badRequest, e instanceof ProtocolError ? e.message : 'malformed message');
    }
    switch (message.kind) {
      case 'sync-step1': {
        // Answered after this client's earlier updates are stored, so the answer confirms them (clients count
        // their unconfirmed changes by it), and after server-side changes in flight are stored.
        let stateVector: Map<number, number>;
        try {
          stateVector = Y.decodeStateVector(message.stateVector);
        } catch {
          return this.close(CLOSE.badRequest, 'malformed state vector');
        }
        for (const [client, clock] of this.sent ?? []) {
          if ((stateVector.get(client) ?? 0) < clock) stateVector.set(client, clock);
        }
        return this.inTurn(async () => {
          await this.live.changesSettled();
          // A copy that lost a server-side change is being replaced: this client reconnects to the reloaded one.
          if (this.live.broken) return this.close(CLOSE.internalError, 'document reloading');
          for (const reply of this.live.answerSyncStep1(stateVector)) this.send(reply);
        });
      }
      case 'update': {
        const update = message.update;
        return this.inTurn(() => this.onUpdate(update));
      }
      case 'awareness':
        return this.onAwareness(message.update);
      case 'query-awareness':
        this.send(encodeAwareness(this.live.awareness, [...this.live.awareness.getStates().keys()]));
        return;
      case 'auth':
        return; // clients have nothing to tell the server through auth messages
    }
  }

  /**
   * Runs `step` after this connection's earlier ones; a step that fails closes the connection. The chain is
   * dropped once it has run out, so an idle connection keeps no promise.
   */
  private inTurn(step: () => Promise<void> | void): void {
    const next: Promise<void> = (this.updates ?? Promise.resolve())
      .then(step)
      .catch((e: Error) => {
        this.log.error('update failed', { error: e.message });
        this.close(CLOSE.internalError, 'internal error');
      })
      .then(() => {
        if (this.updates === next) this.updates = null;
      });
    this.updates = next;
  }

  /**
   * Takes one message of `bytes` from the rate limits (token buckets: `maxMessagesPerSecond` and
   * `maxBytesPerSecond` on average, twice that, or one largest frame, at once); false means over a limit.
   */
  private withinRate(bytes: number): boolean {
    const now = Date.now();
    const seconds = (now - this.refilledAt) / 1000;
    this.refilledAt = now;
    const l = this.limits;
    this.messageTokens = Math.min(l.maxMessagesPerSecond * 2, this.messageTokens + seconds * l.maxMessagesPerSecond);
    this.byteTokens = Math.min(byteBurst(l), this.byteTokens + seconds * l.maxBytesPerSecond);
    if (this.messageTokens < 1 || this.byteTokens < bytes) return false;
    this.messageTokens -= 1;
    this.byteTokens -= bytes;
    return true;
  }

  private async onUpdate(update: Uint8Array): Promise<void> {
    if (this.closed) return;
    if (this.check) {
      // The role at this moment, from the database: a change made on any instance holds from its commit on.
      let access: AccessDecision;
      try {
        access = await this.check(this.principal, this.live.id);
      } catch (e) {
        // Storage is unreachable: the update could not be stored either. The client keeps it and resends.
        return this.close(CLOSE.tryAgainLater, `update not stored: ${(e as Error).message}`);
      }
      if (this.closed) return;
      if ('refused' in access) return this.close(access.refused, access.reason);
      if (access.role !== this.role) this.setRole(access.role);
    }
    const decided = admit(this.live, update, this);
    const admission = decided instanceof Promise ? await decided : decided;
    if (admission.kind !== 'accepted') return this.refuse(admission, update.byteLength);
    const note = { author: this.principal.id, deleted: freshDeletions(this.live.doc, update) };
    await this.live.submit(update, note).catch((e: Error) => {
      // Not stored, so not applied: the client keeps it and resends after reconnecting.
      this.close(CLOSE.tryAgainLater, `update not stored: ${e.message}`);
    });
  }

  /** Tells the client why its update was not taken, with the close code that says whether to resend. */
  private refuse(admission: Exclude<Admission, { kind: 'accepted' }>, bytes: number): void {
    if (admission.kind !== 'nothing-new') metrics.updatesRefused.inc({ reason: admission.kind });
    switch (admission.kind) {
      case 'nothing-new':
        return;
      case 'malformed':
        return this.close(CLOSE.badRequest, admission.reason);
      case 'not-now':
        return this.close(CLOSE.tryAgainLater, admission.reason);
      case 'reloading':
        return this.close(CLOSE.internalError, 'document reloading');
      case 'refused':
        this.hooks.onRefused(this, admission.rule, bytes);
        this.send(encodePermissionDenied(`permission denied: ${admission.rule}`));
        return this.close(CLOSE.forbidden, `permission denied: ${admission.rule}`);
      case 'too-large':
        this.send(encodePermissionDenied(admission.rule));
        return this.close(CLOSE.documentTooLarge, admission.rule);
    }
  }

  /** Presence: what admission lets through applies, as this connection's change (see `admitPresence`). */
  private onAwareness(update: Uint8Array): void {
    const admitted = admitPresence(this.live, update, this);
    if (admitted === null) return;
    if (!(admitted instanceof Uint8Array)) return this.close(CLOSE.badRequest, admitted.reason);
    applyAwarenessUpdate(this.live.awareness, admitted, this);
  }

  /** The socket closed (its 'close' event), or this side closed it. */
  onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.live.peers.delete(this);
    this.live.forgetAwareness(this);
    this.hooks.onDisconnect(this);
  }
}

/** The byte bucket's size: twice the rate, and at least one frame of the largest size allowed. */
function byteBurst(l: Limits): number {
  return Math.max(l.maxBytesPerSecond * 2, l.maxFrameBytes);
}
