/**
 * The lifecycle hooks of the collaboration server: one typed list of extensions, registered at start-up.
 * Each subsystem that reacts to what happens to documents and connections (scale-out, compaction, activity
 * bookkeeping, the audit of refused updates, access checks at upgrade) is one extension implementing the hooks
 * it needs; the write path, the registry and the endpoint know only this list.
 *
 * Dispatch is a direct call over a precomputed array per hook: an update on the hot path costs one loop over the
 * extensions that implement `onStored`, nothing more (no event emitter, no allocation per call).
 */
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../auth/tokens.js';
import type { LiveDocument } from './live-document.js';
import type { Connection } from './connection.js';
import { log } from '../log.js';

/** One batch of updates stored to a document's log, applied and broadcast (in that order). */
export interface StoredEvent {
  readonly document: LiveDocument;
  /** The document's id (`document.id`). */
  readonly documentId: string;
  /** Log sequence numbers of the batch's updates, in order. */
  readonly seqs: number[];
  /** The batch's updates merged into one (the update itself when the batch holds one). */
  readonly update: Uint8Array;
  /** Per update of the batch (in order, beside `seqs`): who sent it and what it was noted to delete, if known. */
  readonly writes: readonly WriteNote[];
}

/** What is known of one stored update beyond its bytes (see LiveDocument.submit). */
export interface WriteNote {
  /** The user who sent it; null for changes without one. */
  readonly author: string | null;
  /** Ranges of items live in the document that it deletes (Yjs records no deleter: noted when it arrived). */
  readonly deleted: readonly DeletedRange[];
}

export interface DeletedRange {
  readonly client: number;
  readonly clock: number;
  readonly len: number;
}

/** A token that verified, with its id (revocation is checked against it). */
export type VerifiedPrincipal = Principal & { jti: string; exp: number; iat?: number };

export interface Extension {
  /**
   * Before a document's stored state is read. Awaited: scale-out subscribes here, so that nothing another
   * instance publishes between the read and the end of the load is missed.
   */
  beforeLoad?(documentId: string): Promise<void>;
  /** The document is loaded and serves its first clients. */
  onLoad?(document: LiveDocument): void;
  /**
   * After each stored batch: its updates are durable and applied. Called just before the batch is sent to local
   * clients (so that a scale-out publish is not behind the local fan-out): keep what runs at once small.
   */
  onStored?(event: StoredEvent): void;
  /** A local client's presence changed (the awareness update that encodes the change). */
  onLocalAwareness?(document: LiveDocument, update: Uint8Array): void;
  /** Before a document that is being unloaded is destroyed. Awaited: background work on it ends here. */
  beforeUnload?(document: LiveDocument): Promise<void>;
  /** The document is gone from this instance: unloaded, or its load failed. */
  onUnload?(documentId: string): void;

  /** A WebSocket upgrade request, before authentication: a reason to refuse it (HTTP 403), or null. */
  onUpgrade?(request: IncomingMessage): string | null;
  /** A verified token on a WebSocket upgrade: a reason to refuse it (close 4401), or null. */
  onAuthenticate?(principal: VerifiedPrincipal, documentId: string): string | null;
  /** A WebSocket client joined a loaded document. */
  onConnect?(connection: Connection): void;
  /** An update from a WebSocket client was refused by `admit` (not applied, stored or broadcast). */
  onRefused?(connection: Connection, rule: string, bytes: number): void;
  /** A WebSocket client left (its presence is already cleared). */
  onDisconnect?(connection: Connection): void;
}

type HookName = keyof Extension;

/** The extensions that implement `name`, in registration order. */
const implementing = <K extends HookName>(extensions: readonly Extension[], name: K) =>
  extensions.filter((e) => typeof e[name] === 'function') as (Extension & Required<Pick<Extension, K>>)[];

/** An extension that threw: the others still run, and the write path goes on (what failed is logged). */
function failed(hook: HookName, e: unknown): void {
  log.error('extension failed', { hook, error: (e as Error).message });
}

/** The registered extensions, called hook by hook in registration order. */
export class Hooks {
  private readonly beforeLoads;
  private readonly loads;
  private readonly storeds;
  private readonly localAwarenesses;
  private readonly beforeUnloads;
  private readonly unloads;
  private readonly upgrades;
  private readonly authentications;
  private readonly connects;
  private readonly refusals;
  private readonly disconnects;

  constructor(readonly extensions: readonly Extension[] = []) {
    this.beforeLoads = implementing(extensions, 'beforeLoad');
    this.loads = implementing(extensions, 'onLoad');
    this.storeds = implementing(extensions, 'onStored');
    this.localAwarenesses = implementing(extensions, 'onLocalAwareness');
    this.beforeUnloads = implementing(extensions, 'beforeUnload');
    this.unloads = implementing(extensions, 'onUnload');
    this.upgrades = implementing(extensions, 'onUpgrade');
    this.authentications = implementing(extensions, 'onAuthenticate');
    this.connects = implementing(extensions, 'onConnect');
    this.refusals = implementing(extensions, 'onRefused');
    this.disconnects = implementing(extensions, 'onDisconnect');
  }

  /** Whether any extension listens to local presence changes (else they need not be encoded for it). */
  get listensToLocalAwareness(): boolean {
    return this.localAwarenesses.length > 0;
  }

  /** These hooks followed by `more` (a component adds its own bookkeeping to the list it was given). */
  with(...more: Extension[]): Hooks {
    return new Hooks([...this.extensions, ...more]);
  }

  /** Awaited one after another: a failure fails the load. */
  async beforeLoad(documentId: string): Promise<void> {
    for (const e of this.beforeLoads) await e.beforeLoad(documentId);
  }

  onLoad(document: LiveDocument): void {
    for (const e of this.loads) {
      try {
        e.onLoad(document);
      } catch (err) {
        failed('onLoad', err);
      }
    }
  }

  onStored(event: StoredEvent): void {
    for (const e of this.storeds) {
      try {
        e.onStored(event);
      } catch (err) {
        failed('onStored', err);
      }
    }
  }

  onLocalAwareness(document: LiveDocument, update: Uint8Array): void {
    for (const e of this.localAwarenesses) {
      try {
        e.onLocalAwareness(document, update);
      } catch (err) {
        failed('onLocalAwareness', err);
      }
    }
  }

  /** Every extension's, each awaited; a failure is logged and the unload goes on. */
  async beforeUnload(document: LiveDocument): Promise<void> {
    for (const e of this.beforeUnloads) {
      try {
        await e.beforeUnload(document);
      } catch (err) {
        failed('beforeUnload', err);
      }
    }
  }

  onUnload(documentId: string): void {
    for (const e of this.unloads) {
      try {
        e.onUnload(documentId);
      } catch (err) {
        failed('onUnload', err);
      }
    }
  }

  /** The first refusal any extension gives, or null. */
  onUpgrade(request: IncomingMessage): string | null {
    for (const e of this.upgrades) {
      const refusal = e.onUpgrade(request);
      if (refusal !== null) return refusal;
    }
    return null;
  }

  /** The first refusal any extension gives, or null. */
  onAuthenticate(principal: VerifiedPrincipal, documentId: string): string | null {
    for (const e of this.authentications) {
      const refusal = e.onAuthenticate(principal, documentId);
      if (refusal !== null) return refusal;
    }
    return null;
  }

  onConnect(connection: Connection): void {
    for (const e of this.connects) {
      try {
        e.onConnect(connection);
      } catch (err) {
        failed('onConnect', err);
      }
    }
  }

  onRefused(connection: Connection, rule: string, bytes: number): void {
    for (const e of this.refusals) {
      try {
        e.onRefused(connection, rule, bytes);
      } catch (err) {
        failed('onRefused', err);
      }
    }
  }

  onDisconnect(connection: Connection): void {
    for (const e of this.disconnects) {
      try {
        e.onDisconnect(connection);
      } catch (err) {
        failed('onDisconnect', err);
      }
    }
  }
}
