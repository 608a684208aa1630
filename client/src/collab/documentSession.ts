/**
 * Everything one open document needs outside React: the Y.Doc, the WebSocket provider, IndexedDB
 * persistence, the unsynced-change tracker and the connection state the header shows.
 *
 * IndexedDB is attached on the first `connect()`, which CollaborationPlugin calls only once its binding
 * exists: content loaded before the binding would never reach the editor (the binding only sees changes).
 */
import type { Provider } from '@lexical/yjs';
import * as decoding from 'lib0/decoding';
import { IndexeddbPersistence } from 'y-indexeddb';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { PresencePublisher } from './presence';
import { SyncTracker } from './syncTracker';

export type ConnectionStatus =
  'connecting' | 'connected' | 'reconnecting' | 'offline' | 'denied' | 'expired' | 'missing';

export interface ConnectionState {
  status: ConnectionStatus;
  /** The server has sent us everything it had at least once since we opened the document. */
  synced: boolean;
  /** Local changes the server has not confirmed yet. */
  pending: number;
  /** Why the server refused us, when it did. */
  reason: string | null;
}

const MESSAGE_AUTH = 2;

function collabUrl(): string {
  const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${protocol}//${location.host}/collab`;
}

export class DocumentSession {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly tracker: SyncTracker;
  readonly presence: PresencePublisher;
  private persistence: IndexeddbPersistence | null = null;
  private state: ConnectionState;
  private everConnected = false;
  private localCopyDiscarded = false;
  private wantConnection = false;
  private readonly listeners = new Set<() => void>();
  private readonly cleanups: Array<() => void> = [];

  constructor(
    readonly docId: string,
    token: string,
    userId: string,
  ) {
    this.provider = new WebsocketProvider(collabUrl(), docId, this.doc, {
      params: { token },
      connect: false,
      // Another tab's updates must reach us through the server's policy, not around it.
      disableBc: true,
    });
    this.tracker = new SyncTracker(
      this.doc,
      this.provider,
      `marginalia.pending.${userId}.${docId}`,
      (origin) => origin !== this.provider && (this.persistence === null || origin !== this.persistence),
    );
    this.presence = new PresencePublisher(this.provider.awareness, userId);
    this.state = {
      status: navigator.onLine ? 'connecting' : 'offline',
      synced: false,
      pending: this.tracker.pending,
      reason: null,
    };
    this.watchProvider();
    this.watchNetwork();
    this.cleanups.push(this.tracker.subscribe(() => this.update({ pending: this.tracker.pending })));

    // Lexical drives connect/disconnect; we hand it a provider whose connect also opens local persistence
    // and which stays down while the browser is offline.
    const connect = this.provider.connect.bind(this.provider);
    const disconnect = this.provider.disconnect.bind(this.provider);
    this.provider.connect = () => {
      this.wantConnection = true;
      this.persist(userId);
      if (navigator.onLine) connect();
    };
    this.provider.disconnect = () => {
      this.wantConnection = false;
      disconnect();
    };
    this.reconnect = () => {
      if (this.wantConnection && navigator.onLine) connect();
    };
    this.dropConnection = disconnect;
  }

  private readonly reconnect: () => void;
  private readonly dropConnection: () => void;

  /** The provider as @lexical/yjs types it (its awareness states are Lexical's UserState). */
  get lexicalProvider(): Provider {
    return this.provider as unknown as Provider;
  }

  get connection(): ConnectionState {
    return this.state;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getConnection = (): ConnectionState => this.state;

  /** Resolves once IndexedDB has given back what this browser kept of the document. */
  whenLocalLoaded(): Promise<void> {
    return this.persistence ? this.persistence.whenSynced.then(() => undefined) : Promise.resolve();
  }

  destroy(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.tracker.destroy();
    this.presence.destroy();
    this.provider.awareness.setLocalState(null);
    this.dropConnection();
    this.provider.destroy();
    this.provider.awareness.destroy();
    void this.persistence?.destroy();
    this.doc.destroy();
    this.listeners.clear();
  }

  private discardLocalCopy(): void {
    const persistence = this.persistence;
    this.persistence = null;
    this.localCopyDiscarded = true;
    this.tracker.forget();
    void persistence?.clearData().catch((error: unknown) => {
      console.error('Could not clear the local copy of the document.', error);
    });
  }

  private persist(userId: string): void {
    if (this.persistence || this.localCopyDiscarded) return;
    this.persistence = new IndexeddbPersistence(`marginalia:${userId}:${this.docId}`, this.doc);
  }

  private update(patch: Partial<ConnectionState>): void {
    const next = { ...this.state, ...patch };
    if (
      next.status === this.state.status &&
      next.synced === this.state.synced &&
      next.pending === this.state.pending &&
      next.reason === this.state.reason
    ) {
      return;
    }
    this.state = next;
    for (const listener of this.listeners) listener();
  }

  private watchProvider(): void {
    const provider = this.provider;
    const onStatus = ({ status }: { status: string }) => {
      if (this.isRefused()) return;
      if (!navigator.onLine) return this.update({ status: 'offline' });
      if (status === 'connected') {
        this.everConnected = true;
        this.update({ status: 'connected' });
      } else {
        this.update({ status: this.everConnected ? 'reconnecting' : 'connecting' });
      }
    };
    const onSync = (synced: boolean) => {
      if (synced && !this.state.synced) performance.mark('marginalia:synced');
      if (synced) this.update({ synced: true });
    };
    const onClosed = ({ code, reason }: { code: number; reason: string }) => {
      const status: ConnectionStatus = code === 4401 ? 'expired' : code === 4404 ? 'missing' : 'denied';
      this.update({ status, reason: this.state.reason ?? (reason || null) });
      // A change the server refused would be sent again from IndexedDB on every reload and refused again:
      // forget this device's copy, so a reload starts over from what the server has.
      if (status === 'denied' || status === 'missing') {
        this.discardLocalCopy();
      }
    };
    provider.on('status', onStatus);
    provider.on('sync', onSync);
    provider.on('closed', onClosed);
    this.cleanups.push(() => {
      provider.off('status', onStatus);
      provider.off('sync', onSync);
      provider.off('closed', onClosed);
    });

    // The stock client only logs the server's "permission denied"; keep the reason to show it.
    const originalAuth = provider.messageHandlers[MESSAGE_AUTH]!;
    provider.messageHandlers[MESSAGE_AUTH] = (encoder, decoder, prov, emitSynced, messageType) => {
      const copy = decoding.clone(decoder);
      originalAuth(encoder, decoder, prov, emitSynced, messageType);
      // An auth message is a varUint kind (0: permission denied) followed by the reason as a varString.
      decoding.readVarUint(copy);
      this.update({ reason: decoding.readVarString(copy) || 'permission denied' });
    };
  }

  private isRefused(): boolean {
    return this.state.status === 'denied' || this.state.status === 'expired' || this.state.status === 'missing';
  }

  private watchNetwork(): void {
    const goOffline = () => {
      this.dropConnection();
      if (!this.isRefused()) this.update({ status: 'offline' });
    };
    const goOnline = () => {
      if (this.isRefused()) return;
      this.update({ status: this.everConnected ? 'reconnecting' : 'connecting' });
      this.reconnect();
    };
    window.addEventListener('offline', goOffline);
    window.addEventListener('online', goOnline);
    this.cleanups.push(() => {
      window.removeEventListener('offline', goOffline);
      window.removeEventListener('online', goOnline);
    });
  }
}
