/**
 * One WebSocket client of one document: decodes its frames, answers sync and awareness messages, and sends
 * its updates through the document's write path after the policy check. A refused update is not applied,
 * stored or broadcast; the client is told why (auth message) and the socket is closed with 4403.
 */
import type { WebSocket } from 'ws';
import { applyAwarenessUpdate } from 'y-protocols/awareness';
import type { Role } from '@marginalia/shared';
import type { Principal } from '../auth/tokens.js';
import type { Limits } from '../config.js';
import type { LiveDocument, Peer } from './live-document.js';
import { checkUpdate } from './policy.js';
import { MalformedUpdateError } from './inspect.js';
import {
  CLOSE,
  ProtocolError,
  decodeMessage,
  encodeAwareness,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncStep2,
} from './protocol.js';
import { log } from '../log.js';
import { TokenBucket } from '../limits.js';

export interface ConnectionHooks {
  /** Records a refused update in the audit log. */
  onRejected(conn: Connection, rule: string, bytes: number): void;
  onClose(conn: Connection): void;
}

export class Connection implements Peer {
  /** Awareness client ids this connection has announced; cleared when it leaves. */
  readonly controlledIds = new Set<number>();
  alive = true;
  private closed = false;
  /**
   * This connection's updates, checked and stored one after another: a client's next update may build on its
   * previous one (typing), so it is checked only once that one is in the document.
   */
  private updates: Promise<void> = Promise.resolve();
  private readonly messages: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(
    readonly ws: WebSocket,
    readonly live: LiveDocument,
    readonly principal: Principal,
    readonly role: Role,
    private readonly limits: Limits,
    private readonly hooks: ConnectionHooks,
  ) {
    this.messages = new TokenBucket(limits.maxMessagesPerSecond, limits.maxMessagesPerSecond * 2);
    this.bytes = new TokenBucket(limits.maxBytesPerSecond, Math.max(limits.maxBytesPerSecond * 2, limits.maxFrameBytes));
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => {
      // Whatever a frame makes go wrong ends this connection, never the process.
      try {
        this.onMessage(data as Buffer, isBinary);
      } catch (e) {
        log.error('message failed', { doc: live.id, error: (e as Error).message });
        this.close(CLOSE.internalError, 'internal error');
      }
    });
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.onClosed());
    ws.on('error', (e) => log.debug('socket error', { doc: live.id, error: e.message }));
    live.peers.add(this);
    // The server opens with its own sync step 1 so the client sends what the server lacks.
    this.send(encodeSyncStep1(live.doc));
    const states = [...live.awareness.getStates().keys()];
    if (states.length) this.send(encodeAwareness(live.awareness, states));
  }

  send(message: Uint8Array): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CLOSE.tryAgainLater, 'too slow to keep up; reconnect to resync');
      return;
    }
    this.ws.send(message, { binary: true });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason.slice(0, 120));
    this.onClosed();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) return this.close(CLOSE.unsupportedData, 'binary y-websocket frames only');
    if (!this.messages.take(1) || !this.bytes.take(data.byteLength)) {
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
        let reply: Uint8Array;
        try {
          reply = encodeSyncStep2(this.live.doc, message.stateVector);
        } catch {
          return this.close(CLOSE.badRequest, 'malformed state vector');
        }
        this.send(reply);
        return;
      }
      case 'update': {
        const update = message.update;
        this.updates = this.updates
          .then(() => this.onUpdate(update))
          .catch((e: Error) => {
            log.error('update failed', { doc: this.live.id, error: e.message });
            this.close(CLOSE.internalError, 'internal error');
          });
        return;
      }
      case 'awareness':
        try {
          applyAwarenessUpdate(this.live.awareness, message.update, this);
        } catch {
          this.close(CLOSE.badRequest, 'malformed awareness update');
        }
        return;
      case 'query-awareness':
        this.send(encodeAwareness(this.live.awareness, [...this.live.awareness.getStates().keys()]));
        return;
      case 'auth':
        return; // clients have nothing to tell the server through auth messages
    }
  }

  private async onUpdate(update: Uint8Array): Promise<void> {
    if (this.closed) return;
    let decision;
    try {
      decision = checkUpdate({ role: this.role, userId: this.principal.id, userName: this.principal.name }, this.live.doc, update);
    } catch (e) {
      if (e instanceof MalformedUpdateError) return this.close(CLOSE.badRequest, e.message);
      throw e;
    }
    if (!decision.ok) {
      this.hooks.onRejected(this, decision.rule, update.byteLength);
      this.send(encodePermissionDenied(`permission denied: ${decision.rule}`));
      this.close(CLOSE.forbidden, `permission denied: ${decision.rule}`);
      return;
    }
    if (decision.empty) return;
    if (this.live.storedBytes > this.limits.maxDocumentBytes) {
      const rule = `the document has reached its size limit (${Math.round(this.limits.maxDocumentBytes / 1048576)} MiB)`;
      this.send(encodePermissionDenied(rule));
      this.close(CLOSE.documentTooLarge, rule);
      return;
    }
    await this.live.submit(update, this).catch((e: Error) => {
      // Not stored, so not applied: the client keeps it and resends after reconnecting.
      this.close(CLOSE.tryAgainLater, `update not stored: ${e.message}`);
    });
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.live.peers.delete(this);
    this.live.forgetAwareness(this);
    this.hooks.onClose(this);
  }
}
