/**
 * Everything one open document needs outside React: the Y.Doc, the WebSocket provider, IndexedDB
 * persistence, the unsynced-change tracker and the connection state the header shows.
 *
 * IndexedDB is attached on the provider's first `connect` event, which comes when CollaborationPlugin
 * connects, once its binding exists: content loaded before the binding would never reach the editor (the
 * binding only sees changes).
 */
import type { Provider } from '@lexical/yjs';
import { IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';
import { newStore, type Store } from '../app/store';
import { onSessionRefreshed } from '../app/session';
import { ArticleProvider } from './articleProvider';
import { Presence } from './presence';
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

/** The close code of a role change (the socket reconnects with the new role). */
const ROLE_CHANGED = 4000;
/** A window event (detail: the document id) telling the view to re-read the caller's role. */
export const ROLE_CHANGED_EVENT = 'marginalia:role-changed';

function collabUrl(): string {
  const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${protocol}//${location.host}/collab`;
}

export class DocumentSession {
  readonly doc = new Y.Doc();
  readonly provider: ArticleProvider;
  readonly tracker: SyncTracker;
  readonly presence: Presence;
  /** What the header shows of the connection; one store for the whole document view. */
  readonly connection: Store<ConnectionState>;
  private persistence: IndexeddbPersistence | null = null;
  private everConnected = false;
  private localCopyDiscarded = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    readonly docId: string,
    userId: string,
  ) {
    this.provider = new ArticleProvider(collabUrl(), docId, this.doc);
    this.tracker = new SyncTracker(
      this.doc,
      this.provider,
      `marginalia.pending.${userId}.${docId}`,
      (origin) => origin !== this.provider && (this.persistence === null || origin !== this.persistence),
    );
    this.presence = new Presence(this.provider.awareness, userId);
    this.connection = newStore<ConnectionState>({
      status: navigator.onLine ? 'connecting' : 'offline',
      synced: false,
      pending: this.tracker.state.getState().pending,
      reason: null,
    });
    this.watchProvider(userId);
    this.watchNetwork();
    this.cleanups.push(this.tracker.state.subscribe(({ pending }) => this.update({ pending })));
    // The socket's token expires with the old cookie: reconnect with the refreshed one (the provider resends
    // whatever the server has not confirmed).
    this.cleanups.push(
      onSessionRefreshed(() => {
        if (this.isRefused()) return;
        this.provider.suspend();
        this.provider.resume();
      }),
    );
  }

  /** The provider as @lexical/yjs types it (its awareness states are Lexical's UserState). */
  get lexicalProvider(): Provider {
    return this.provider as unknown as Provider;
  }

  /** Resolves once IndexedDB has given back what this browser kept of the document. */
  whenLocalLoaded(): Promise<void> {
    return this.persistence ? this.persistence.whenSynced.then(() => undefined) : Promise.resolve();
  }

  destroy(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.tracker.destroy();
    this.presence.destroy();
    this.provider.awareness.setLocalState(null);
    this.provider.destroy();
    this.provider.awareness.destroy();
    void this.persistence?.destroy();
    this.doc.destroy();
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

  private get state(): ConnectionState {
    return this.connection.getState();
  }

  private update(patch: Partial<ConnectionState>): void {
    const state = this.state;
    const changed = (Object.keys(patch) as Array<keyof ConnectionState>).some((key) => patch[key] !== state[key]);
    if (changed) this.connection.setState(patch);
  }

  private watchProvider(userId: string): void {
    const provider = this.provider;
    // CollaborationPlugin connects once its binding exists: IndexedDB content loaded now reaches the editor.
    const onConnect = () => this.persist(userId);
    const onDenied = (reason: string) => this.update({ reason });
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
    // 4000: the server says our role changed and we reconnect by ourselves; the view re-reads the role.
    const onConnectionClose = (event: CloseEvent | null) => {
      if (event?.code === ROLE_CHANGED)
        window.dispatchEvent(new CustomEvent(ROLE_CHANGED_EVENT, { detail: this.docId }));
    };
    provider.on('connection-close', onConnectionClose);
    provider.on('closed', onClosed);
    provider.events.on('connect', onConnect);
    provider.events.on('permission-denied', onDenied);
    this.cleanups.push(() => {
      provider.off('status', onStatus);
      provider.off('sync', onSync);
      provider.off('closed', onClosed);
      provider.off('connection-close', onConnectionClose);
      provider.events.off('connect', onConnect);
      provider.events.off('permission-denied', onDenied);
    });
  }

  private isRefused(): boolean {
    return this.state.status === 'denied' || this.state.status === 'expired' || this.state.status === 'missing';
  }

  private watchNetwork(): void {
    const goOffline = () => {
      this.provider.suspend();
      if (!this.isRefused()) this.update({ status: 'offline' });
    };
    const goOnline = () => {
      if (this.isRefused()) return;
      this.update({ status: this.everConnected ? 'reconnecting' : 'connecting' });
      this.provider.resume();
    };
    window.addEventListener('offline', goOffline);
    window.addEventListener('online', goOnline);
    this.cleanups.push(() => {
      window.removeEventListener('offline', goOffline);
      window.removeEventListener('online', goOnline);
    });
  }
}
