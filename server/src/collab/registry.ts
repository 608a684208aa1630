/**
 * The loaded documents. A document is loaded on first use (concurrent requests share one load) and unloaded
 * a grace period after its last holder (connection or REST call) lets go; unloading waits for queued writes
 * and destroys the awareness with its timers.
 */
import type { Storage, StoredState } from '../storage/types.js';
import type { Limits } from '../config.js';
import { LiveDocument, type DocumentHooks } from './live-document.js';

/** Scale-out: keeps a loaded document in step with the other instances serving it. */
export interface Replicator {
  /** Starts listening for the document's updates from other instances; called before it is loaded. */
  attach(id: string): Promise<void>;
  /** The document is loaded: deliver what arrived meanwhile, and everything after. */
  ready(live: LiveDocument): void;
  detach(id: string): void;
}
import { log } from '../log.js';

interface Entry {
  loading: Promise<LiveDocument>;
  /** The stored state once read, while the document is being built from it; null once loaded (or failed). */
  stored: Promise<StoredState | null>;
  /** Sends of the stored state to clients that arrived while loading: the build waits for them (bounded). */
  transfers: Promise<void>[];
  holders: number;
  unloadTimer: NodeJS.Timeout | null;
}

/** A hold on a document that may still be loading (see `acquireEarly`). */
export interface EarlyHold {
  live: Promise<LiveDocument>;
  /** The stored state being loaded, when the document is not loaded yet: it can be sent to the client now. */
  stored: StoredState | null;
  /** Lets the build wait (at most BUILD_WAIT_MS) until this send of the stored state has left. */
  sending(transfer: Promise<void>): void;
}

/** Longest the build of a loading document waits for the stored state to leave for clients that arrived. */
const BUILD_WAIT_MS = 1000;

export class DocumentRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly unloading = new Map<string, Promise<void>>();

  constructor(
    private readonly storage: Storage,
    private readonly limits: Limits,
    private readonly hooks: DocumentHooks = {},
    private readonly replicator: Replicator | null = null,
  ) {}

  private async load(id: string, entry: Entry, storedRead: (s: StoredState | null) => void): Promise<LiveDocument> {
    try {
      await this.replicator?.attach(id);
      const live = await LiveDocument.load(id, this.storage, this.limits, this.hooks, async (state, { sliced }) => {
        storedRead(state);
        // Clients admitted in this turn are sent the state before the build starts.
        await new Promise((r) => setImmediate(r));
        // A sliced build leaves the thread free between slices: the sends go on meanwhile. A whole build holds the
        // thread, so it waits (a little) for them to leave first.
        if (sliced) return;
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<void>((r) => (timer = setTimeout(r, BUILD_WAIT_MS)));
        await Promise.race([Promise.allSettled(entry.transfers), limit]);
        clearTimeout(timer);
      });
      this.replicator?.ready(live);
      return live;
    } catch (e) {
      this.replicator?.detach(id);
      throw e;
    } finally {
      storedRead(null);
      entry.transfers = [];
    }
  }

  /** Loads (or reuses) the document and holds it until `release`. */
  async acquire(id: string): Promise<LiveDocument> {
    return (await this.acquireEarly(id)).live;
  }

  /**
   * Holds the document (until `release`) and starts loading it if needed. Resolves as soon as the stored state
   * is read: a client can be sent it while the document is built from it. `live` rejects if the load fails
   * (the hold is then already given back).
   */
  async acquireEarly(id: string): Promise<EarlyHold> {
    await this.unloading.get(id);
    let entry = this.entries.get(id);
    if (!entry) {
      let storedRead!: (s: StoredState | null) => void;
      const created: Entry = {
        loading: null as unknown as Promise<LiveDocument>,
        stored: new Promise((r) => (storedRead = r)),
        transfers: [],
        holders: 0,
        unloadTimer: null,
      };
      created.loading = this.load(id, created, storedRead);
      created.loading.then(
        () => (created.stored = Promise.resolve(null)),
        () => this.entries.delete(id),
      );
      entry = created;
      this.entries.set(id, entry);
    }
    entry.holders++;
    if (entry.unloadTimer) {
      clearTimeout(entry.unloadTimer);
      entry.unloadTimer = null;
    }
    const held = entry;
    const live = held.loading.catch((e: unknown) => {
      held.holders--;
      throw e;
    });
    live.catch(() => {}); // the caller awaits `live`; a failure before it does is not unhandled
    const stored = await held.stored;
    if (!stored) await live; // loaded already, or the load failed: the caller sees which without a stored state
    return { live, stored, sending: (t) => void held.transfers.push(t) };
  }

  release(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.holders--;
    if (entry.holders > 0) return;
    entry.loading.then(
      (live) => {
        if (live.broken) return void this.unload(id);
        if (entry.holders === 0 && !entry.unloadTimer) {
          entry.unloadTimer = setTimeout(() => void this.unload(id), this.limits.unloadGraceMs);
          entry.unloadTimer.unref();
        }
      },
      () => {},
    );
  }

  /** Runs `fn` with the document loaded, then lets go of it. */
  async with<T>(id: string, fn: (live: LiveDocument) => Promise<T> | T): Promise<T> {
    const live = await this.acquire(id);
    try {
      return await fn(live);
    } finally {
      this.release(id);
    }
  }

  /** The loaded document, if it is loaded (no load is started). */
  peek(id: string): Promise<LiveDocument> | null {
    return this.entries.get(id)?.loading ?? null;
  }

  get residentCount(): number {
    return this.entries.size;
  }

  /** The documents loaded right now. */
  async loaded(): Promise<LiveDocument[]> {
    const settled = await Promise.allSettled([...this.entries.values()].map((e) => e.loading));
    return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  private unload(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return Promise.resolve();
    if (entry.unloadTimer) clearTimeout(entry.unloadTimer);
    this.entries.delete(id);
    const done = entry.loading
      .then(
        async (live) => {
          await live.idle();
          for (const p of live.peers) p.close(1011, 'document reloading');
          this.replicator?.detach(id);
          live.destroy();
          log.debug('document unloaded', { doc: id });
        },
        () => {},
      )
      .finally(() => this.unloading.delete(id));
    this.unloading.set(id, done);
    return done;
  }

  /** Evicts a document at once (deleted, or its memory copy is no longer trusted). */
  evict(id: string, code = 1011, reason = 'document reloading'): Promise<void> {
    const entry = this.entries.get(id);
    if (entry) {
      entry.loading.then(
        (live) => {
          for (const p of live.peers) p.close(code, reason);
        },
        () => {},
      );
    }
    return this.unload(id);
  }

  /** Stores every queued write and unloads everything (shutdown). */
  async closeAll(code: number, reason: string): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.evict(id, code, reason)));
  }
}
