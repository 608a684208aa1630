/**
 * The WebSocket provider of one open document: y-websocket's provider with what the app needs added as a
 * contract of its own, instead of patching the stock object from outside.
 *
 * - `connect()` / `disconnect()` keep their meaning for their caller (CollaborationPlugin): the wish to be
 *   connected. The socket itself is opened only while the browser is online; `suspend()` drops it (the browser
 *   went offline) and `resume()` opens it again if it is still wished for. Every `connect()` emits `connect`,
 *   the moment the session attaches local persistence (after the editor's binding exists, so the binding sees
 *   what it loads).
 * - `sync-answered` fires for every SyncStep2 the server sends, i.e. for every answer to a SyncStep1: the
 *   acknowledgement the unsynced-change tracker builds on.
 * - `permission-denied` carries the reason of the server's auth message (the stock provider only logs it).
 */
import * as decoding from 'lib0/decoding';
import { ObservableV2 } from 'lib0/observable';
import * as authProtocol from 'y-protocols/auth';
import * as syncProtocol from 'y-protocols/sync';
import { messageAuth, messageSync, WebsocketProvider } from 'y-websocket';
import type * as Y from 'yjs';

export interface ArticleProviderEvents {
  connect: () => void;
  'sync-answered': () => void;
  'permission-denied': (reason: string) => void;
}

export class ArticleProvider extends WebsocketProvider {
  /** The events this subclass adds (the stock ones stay on the provider itself). */
  readonly events = new ObservableV2<ArticleProviderEvents>();
  private wanted = false;

  constructor(serverUrl: string, room: string, doc: Y.Doc) {
    // The browser sends the HttpOnly session cookie with the upgrade: no token in the URL.
    // Another tab's updates must reach us through the server's policy, not around it: no BroadcastChannel.
    super(serverUrl, room, doc, { connect: false, disableBc: true });
    const stockSync = this.messageHandlers[messageSync]!;
    this.messageHandlers[messageSync] = (encoder, decoder, provider, emitSynced, messageType) => {
      const syncType = decoding.peekVarUint(decoder);
      stockSync(encoder, decoder, provider, emitSynced, messageType);
      if (syncType === syncProtocol.messageYjsSyncStep2) this.events.emit('sync-answered', []);
    };
    this.messageHandlers[messageAuth] = (_encoder, decoder) => {
      authProtocol.readAuthMessage(decoder, doc, (_doc, reason) => {
        this.events.emit('permission-denied', [reason || 'permission denied']);
      });
    };
  }

  override connect(): void {
    this.wanted = true;
    this.events.emit('connect', []);
    if (navigator.onLine) super.connect();
  }

  override disconnect(): void {
    this.wanted = false;
    super.disconnect();
  }

  /** Drops the socket but keeps the wish to be connected. */
  suspend(): void {
    super.disconnect();
  }

  /** Opens the socket again if it is wished for and the browser is online. */
  resume(): void {
    if (this.wanted && navigator.onLine) super.connect();
  }

  override destroy(): void {
    this.events.destroy();
    super.destroy();
  }
}
