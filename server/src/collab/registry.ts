/**
 * The loaded documents. A document is loaded on first use (concurrent requests share one load) and unloaded
 * a grace period after its last holder (connection or REST call) lets go; unloading waits for queued writes
 * and background work, and destroys the awareness with its timers.
 *
 * A client that arrives while a document loads can be sent its stored state as soon as it is read, before the
 * document is built from it (see `EarlyHold`).
 */
import type { WebSocket } from 'ws';
import type { Storage, StoredState } from '../storage/types.js';
import type { Limits } from '../config.js';
import { storedPieces } from '../storage/stored-state.js';
import { LiveDocument, type DocumentServices } from './live-document.js';
import { LoadError, buildsSliced } from './document-build.js';
import { EMPTY_UPDATE, encodeStep2Update, encodeUpdate } from './protocol.js';
import { Hooks } from './hooks.js';

/** A document in the registry: loading or loaded, and who holds it. */
interface ResidentDocument {
  loading: Promise<LiveDocument>;
  /** The stored state once read, while the document is being built from it; null once loaded (or failed). */
  stored: Promise<StoredState | null>;
  /** Sends of the stored state to clients that arrived while loading: the build waits for them (bounded). */
  transfers: Promise<void>[];
  holders: number;
  unloadTimer: NodeJS.Timeout | null;
}

/** Longest the build of a loading document waits for the stored state to leave for clients that arrived. */
const BUILD_WAIT_MS = 1000;

/**
 * Sends a stored state (snapshot, then log entries) as it is stored, with no document built: the last piece as
 * sync step 2, so that the client counts itself synced once it has all of it. Resolves when the socket has
 * taken the last byte (or closed).
 */
function sendStoredState(ws: WebSocket, state: StoredState): Promise<void> {
  const pieces = storedPieces(state);
  if (pieces.length === 0) pieces.push(EMPTY_UPDATE);
  // The snapshot's lead first, so that the client can show the article before the rest has arrived.
  if (state.snapshotLead) ws.send(encodeUpdate(state.snapshotLead), { binary: true });
  return new Promise((resolve) => {
    pieces.forEach((piece, i) => {
      const last = i === pieces.length - 1;
      ws.send(
        last ? encodeStep2Update(piece) : encodeUpdate(piece),
        { binary: true },
        last ? () => resolve() : undefined,
      );
    });
  });
}

/** A hold on a document that may still be loading (see `acquireEarly`). */
export class EarlyHold {
  constructor(
    readonly live: Promise<LiveDocument>,
    /** The stored state being loaded, when the document is not loaded yet; null when it is loaded already. */
    private readonly stored: StoredState | null,
    private readonly resident: ResidentDocument,
  ) {}

  /**
   * Sends the stored state to a client now, while the document is built from it (the build waits, at most
   * BUILD_WAIT_MS, until it has left). False when the document is loaded already: nothing was sent.
   */
  sendStoredState(ws: WebSocket): boolean {
    if (!this.stored) return false;
    this.resident.transfers.push(sendStoredState(ws, this.stored));
    return true;
  }
}

export class DocumentRegistry {
  private readonly resident = new Map<string, ResidentDocument>();
  private readonly unloading = new Map<string, Promise<void>>();
  private readonly services: DocumentServices;

  constructor(
    private readonly storage: Storage,
    private readonly limits: Limits,
    private readonly hooks: Hooks = new Hooks(),
  ) {
    this.services = { storage, limits, hooks };
  }

  private async load(
    id: string,
    resident: ResidentDocument,
    storedRead: (s: StoredState | null) => void,
  ): Promise<LiveDocument> {
    try {
      await this.hooks.beforeLoad(id);
      let state;
      try {
        state = await this.storage.log.loadState(id);
      } catch (e) {
        throw new LoadError(`storage unavailable: ${(e as Error).message}`);
      }
      const sliced = buildsSliced(storedPieces(state), this.limits.slicedLoadBytes);
      storedRead(state);
      // Clients admitted in this turn are sent the state before the build starts.
      await new Promise((r) => setImmediate(r));
      // A sliced build leaves the thread free between slices: the sends go on meanwhile. A whole build holds the
      // thread, so it waits (a little) for them to leave first.
      if (!sliced) {
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<void>((r) => (timer = setTimeout(r, BUILD_WAIT_MS)));
        await Promise.race([Promise.allSettled(resident.transfers), limit]);
        clearTimeout(timer);
      }
      const live = await LiveDocument.build(id, state, this.services, { sliced });
      this.hooks.onLoad(live);
      return live;
    } catch (e) {
      this.hooks.onUnload(id);
      throw e;
    } finally {
      storedRead(null);
      resident.transfers = [];
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
    let resident = this.resident.get(id);
    if (!resident) {
      let storedRead!: (s: StoredState | null) => void;
      const created: ResidentDocument = {
        loading: null as unknown as Promise<LiveDocument>,
        stored: new Promise((r) => (storedRead = r)),
        transfers: [],
        holders: 0,
        unloadTimer: null,
      };
      created.loading = this.load(id, created, storedRead);
      created.loading.then(
        () => (created.stored = Promise.resolve(null)),
        () => this.resident.delete(id),
      );
      resident = created;
      this.resident.set(id, resident);
    }
    resident.holders++;
    if (resident.unloadTimer) {
      clearTimeout(resident.unloadTimer);
      resident.unloadTimer = null;
    }
    const held = resident;
    const live = held.loading.catch((e: unknown) => {
      held.holders--;
      throw e;
    });
    live.catch(() => {}); // the caller awaits `live`; a failure before it does is not unhandled
    const stored = await held.stored;
    if (!stored) await live; // loaded already, or the load failed: the caller sees which without a stored state
    return new EarlyHold(live, stored, held);
  }

  release(id: string): void {
    const resident = this.resident.get(id);
    if (!resident) return;
    resident.holders--;
    if (resident.holders > 0) return;
    resident.loading.then(
      (live) => {
        if (live.broken) return void this.unload(id);
        if (resident.holders === 0 && !resident.unloadTimer) {
          resident.unloadTimer = setTimeout(() => void this.unload(id), this.limits.unloadGraceMs);
          resident.unloadTimer.unref();
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
    return this.resident.get(id)?.loading ?? null;
  }

  get residentCount(): number {
    return this.resident.size;
  }

  /** The documents loaded right now. */
  async loaded(): Promise<LiveDocument[]> {
    const settled = await Promise.allSettled([...this.resident.values()].map((e) => e.loading));
    return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  private unload(id: string): Promise<void> {
    const resident = this.resident.get(id);
    if (!resident) return Promise.resolve();
    if (resident.unloadTimer) clearTimeout(resident.unloadTimer);
    this.resident.delete(id);
    const done = resident.loading
      .then(
        async (live) => {
          await live.writes.settled();
          await this.hooks.beforeUnload(live);
          // writes queued while that work ended are stored before the document goes
          await live.writes.settled();
          for (const p of live.peers) p.close(1011, 'document reloading');
          this.hooks.onUnload(id);
          live.destroy();
          live.log.debug('document unloaded');
        },
        () => {},
      )
      .finally(() => this.unloading.delete(id));
    this.unloading.set(id, done);
    return done;
  }

  /** Evicts a document at once (deleted, or its memory copy is no longer trusted). */
  evict(id: string, code = 1011, reason = 'document reloading'): Promise<void> {
    const resident = this.resident.get(id);
    if (resident) {
      resident.loading.then(
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
    await Promise.all([...this.resident.keys()].map((id) => this.evict(id, code, reason)));
  }
}
