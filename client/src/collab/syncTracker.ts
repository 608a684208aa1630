/**
 * Counts the local changes the server has not yet confirmed.
 *
 * The y-websocket protocol has no acknowledgements, but the server answers every SyncStep1 with a SyncStep2
 * and handles one connection's messages in order. So a SyncStep1 sent after some updates is a probe: its
 * answer proves the server has stored (or, with a 4403 close, refused) everything sent before it.
 * The count and the threads it concerns survive a reload (localStorage), like the changes themselves do
 * (y-indexeddb).
 */
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { messageSync } from 'y-websocket';
import type * as Y from 'yjs';
import { newStore, type Store } from '../app/store';
import type { ArticleProvider } from './articleProvider';

const PROBE_DELAY_MS = 50;

interface Persisted {
  count: number;
  threads: string[];
}

export interface UnsyncedState {
  /** Local changes not yet confirmed by the server. */
  pending: number;
  /** Threads holding such changes (their cards say so until the server has them). */
  threads: ReadonlySet<string>;
}

export class SyncTracker {
  readonly state: Store<UnsyncedState>;
  private count: number;
  private confirmed = 0;
  /** Local counts at the time each outstanding SyncStep1 was sent, oldest first. */
  private probes: number[] = [];
  private probeTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly detach: () => void;

  constructor(
    private readonly doc: Y.Doc,
    private readonly provider: ArticleProvider,
    private readonly storageKey: string,
    isLocalOrigin: (origin: unknown) => boolean,
  ) {
    const saved = this.load();
    this.count = saved.count;
    this.state = newStore<UnsyncedState>({ pending: saved.count, threads: new Set(saved.threads) });

    const onUpdate = (_update: Uint8Array, origin: unknown) => {
      if (!isLocalOrigin(origin)) return;
      this.count += 1;
      this.commit();
      this.scheduleProbe();
    };
    const onStatus = ({ status }: { status: string }) => {
      // y-websocket sends its own SyncStep1 on open, before our offline changes go up (they travel in the
      // answer to the server's SyncStep1): its reply confirms nothing new.
      this.probes = status === 'connected' ? [this.confirmed] : [];
    };
    const onSync = (synced: boolean) => {
      if (synced) this.scheduleProbe();
    };
    const onAnswer = () => this.onProbeAnswered();
    doc.on('update', onUpdate);
    provider.on('status', onStatus);
    provider.on('sync', onSync);
    provider.events.on('sync-answered', onAnswer);

    this.detach = () => {
      doc.off('update', onUpdate);
      provider.off('status', onStatus);
      provider.off('sync', onSync);
      provider.events.off('sync-answered', onAnswer);
      if (this.probeTimer) clearTimeout(this.probeTimer);
    };
  }

  /** Local changes not yet confirmed by the server. */
  private get pending(): number {
    return Math.max(0, this.count - this.confirmed);
  }

  /** Remember that a thread holds unconfirmed work, to mark its card until the server has it. */
  markThread(threadId: string): void {
    const threads = this.state.getState().threads;
    if (threads.has(threadId)) return;
    this.commit(new Set(threads).add(threadId));
  }

  /** Drops the count and marks: the unconfirmed changes are being thrown away. */
  forget(): void {
    this.count = 0;
    this.confirmed = 0;
    this.probes = [];
    this.commit(new Set());
  }

  destroy(): void {
    this.detach();
  }

  private scheduleProbe(): void {
    if (this.probeTimer || !this.provider.synced) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      this.sendProbe();
    }, PROBE_DELAY_MS);
  }

  private sendProbe(): void {
    const ws = this.provider.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.provider.wsconnected) return;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, messageSync);
    syncProtocol.writeSyncStep1(encoder, this.doc);
    this.probes.push(this.count);
    ws.send(encoding.toUint8Array(encoder));
  }

  private onProbeAnswered(): void {
    const upTo = this.probes.shift();
    if (upTo === undefined || upTo <= this.confirmed) return;
    this.confirmed = upTo;
    if (this.pending > 0) return this.commit();
    this.count = 0;
    this.confirmed = 0;
    this.probes = this.probes.map(() => 0);
    this.commit(new Set());
  }

  /** Publishes the count (and the marked threads, when given) and keeps them for a reload. */
  private commit(threads: ReadonlySet<string> = this.state.getState().threads): void {
    const pending = this.pending;
    this.state.setState({ pending, threads });
    if (pending === 0 && threads.size === 0) localStorage.removeItem(this.storageKey);
    else localStorage.setItem(this.storageKey, JSON.stringify({ count: pending, threads: [...threads] }));
  }

  private load(): Persisted {
    try {
      const raw = localStorage.getItem(this.storageKey);
      if (raw) return JSON.parse(raw) as Persisted;
    } catch {
      // A corrupt entry only loses the count, never the changes themselves (they are in IndexedDB).
    }
    return { count: 0, threads: [] };
  }
}
