/**
 * One WebSocket client of one document: decodes its frames, answers sync and awareness messages, and sends
 * its updates through the document's write path once admitted (admit.ts). A refused update is not applied,
 * stored or broadcast; the client is told why (auth message) and the socket is closed with the code that
 * matches the decision (4403 for a broken rule).
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import * as Y from 'yjs';
import { applyAwarenessUpdate } from 'y-protocols/awareness';
import type { Role } from '@marginalia/shared';
import type { Principal } from '../auth/tokens.js';
import type { Limits } from '../config.js';
import type { LiveDocument, Peer } from './live-document.js';
import { admit, admitPresence, type Admission, type Writer } from './admit.js';
import { freshDeletions } from './deleted-ranges.js';
import type { Hooks } from './hooks.js';
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
import { TokenBucket } from '../limits.js';
import { Outgoing } from './wire.js';
import type { AccessDecision } from '../access.js';

/** Reads a connection's access at this moment (collab/endpoint.ts): each update is admitted against it. */
export type AccessCheck = () => Promise<AccessDecision>;

/** What happened on a socket before its Connection existed (it was upgraded while the document loaded). */
export interface EarlyStart {
  /** State vector of what the socket was already sent (the stored state, while the document loaded). */
  sent: Map<number, number>;
  /** Frames the client sent meanwhile, in order. */
  frames: { data: Buffer; isBinary: boolean }[];
}

/** Numbers connections in this process, for the logs. */
let connections = 0;

export class Connection implements Peer {
  /** This connection's number, carried by each line it logs. */
  private readonly number = ++connections;
  private childLog: Log | null = null;
  /** Awareness client ids this connection has announced; cleared when it leaves. */
  readonly controlledIds = new Set<number>();
  alive = true;
  private closed = false;
  /**
   * This connection's updates, checked and stored one after another: a client's next update may build on its
   * previous one (typing), so it is checked only once that one is in the document.
   */
  private updates: Promise<void> = Promise.resolve();
  /** What this client was sent outside sync answers (the stored state while it loaded): not sent again. */
  private sent: Map<number, number> | null = null;
  private readonly messages: TokenBucket;
  private readonly bytes: TokenBucket;
  /** Who writes through this connection, as admission sees it (its role is re-read before each update). */
  private readonly writer: Writer;

  constructor(
    readonly ws: WebSocket,
    /** The socket `ws` was upgraded on: broadcasts, framed once (wire.ts), are written to it directly. */
    private readonly socket: Duplex,
    readonly live: LiveDocument,
    readonly principal: Principal & { jti?: string; exp?: number },
    /** The role at upgrade; updates are admitted against the role `check` reads at that moment. */
    public role: Role,
    private readonly limits: Limits,
    private readonly hooks: Hooks,
    early?: EarlyStart,
    private readonly check: AccessCheck | null = null,
  ) {
    this.writer = { role, userId: principal.id, userName: principal.name };
    this.messages = new TokenBucket(limits.maxMessagesPerSecond, limits.maxMessagesPerSecond * 2);
    this.bytes = new TokenBucket(
      limits.maxBytesPerSecond,
      Math.max(limits.maxBytesPerSecond * 2, limits.maxFrameBytes),
    );
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.onClosed());
    ws.on('error', (e) => this.log.debug('socket error', { error: e.message }));
    live.peers.add(this);
    hooks.onConnect(this);
    // The server opens with its own sync step 1 so the client sends what the server lacks.
    this.send(encodeSyncStep1(live.doc));
    const states = [...live.awareness.getStates().keys()];
    if (states.length) this.send(encodeAwareness(live.awareness, states));
    if (early) {
      this.sent = early.sent;
      for (const f of early.frames) this.onFrame(f.data, f.isBinary);
    }
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
    this.writer.role = role;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason.slice(0, 120));
    this.onClosed();
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
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
    if (!this.messages.take(1) || !this.bytes.take(data.byteLength)) {
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
        this.updates = this.updates
          .then(() => this.live.changesSettled())
          .then(() => {
            // A copy that lost a server-side change is being replaced: this client reconnects to the reloaded one.
            if (this.live.broken) return this.close(CLOSE.internalError, 'document reloading');
            for (const reply of this.live.answerSyncStep1(stateVector)) this.send(reply);
          });
        return;
      }
      case 'update': {
        const update = message.update;
        this.updates = this.updates
          .then(() => this.onUpdate(update))
          .catch((e: Error) => {
            this.log.error('update failed', { error: e.message });
            this.close(CLOSE.internalError, 'internal error');
          });
        return;
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

  private async onUpdate(update: Uint8Array): Promise<void> {
    if (this.closed) return;
    if (this.check) {
      // The role at this moment, from the database: a change made on any instance holds from its commit on.
      let access: AccessDecision;
      try {
        access = await this.check();
      } catch (e) {
        // Storage is unreachable: the update could not be stored either. The client keeps it and resends.
        return this.close(CLOSE.tryAgainLater, `update not stored: ${(e as Error).message}`);
      }
      if (this.closed) return;
      if ('refused' in access) return this.close(access.refused, access.reason);
      if (access.role !== this.role) this.setRole(access.role);
    }
    const decided = admit(this.live, update, this.writer);
    const admission = decided instanceof Promise ? await decided : decided;
    if (admission.kind !== 'accepted') return this.refuse(admission, update.byteLength);
    const note = { author: this.writer.userId, deleted: freshDeletions(this.live.doc, update) };
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

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.live.peers.delete(this);
    this.live.forgetAwareness(this);
    this.hooks.onDisconnect(this);
  }
}
