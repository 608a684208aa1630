/**
 * The collaboration server's write path in this process, with no CLI, socket or HTTP in between: a document
 * created in a real storage, loaded through the registry with the given extensions, and helpers to build
 * updates the way a client makes them.
 */
import * as Y from 'yjs';
import { loadConfig, type Limits } from '@marginalia/server/config.js';
import type { DocumentLog, Storage } from '@marginalia/server/storage/types.js';
import { createDocument } from '@marginalia/server/documents.js';
import { DocumentRegistry } from '@marginalia/server/collab/registry.js';
import { Hooks, type Extension } from '@marginalia/server/collab/hooks.js';
import type { LiveDocument, Peer } from '@marginalia/server/collab/live-document.js';
import type { Outgoing } from '@marginalia/server/collab/wire.js';

/** The server's default limits, with some replaced. */
export const limitsWith = (changes: Partial<Limits> = {}): Limits => ({ ...loadConfig({}).limits, ...changes });

export interface OpenDocument {
  registry: DocumentRegistry;
  live: LiveDocument;
  id: string;
}

/** A new document holding `article` (plain text), stored in `storage` and loaded with `extensions`. */
export async function openDocument(
  storage: Storage,
  article: string,
  opts: { extensions?: Extension[]; limits?: Limits } = {},
): Promise<OpenDocument> {
  const id = await createDocument(storage, {
    title: 'T',
    format: 'text',
    content: article,
    guestRole: null,
    createdBy: 'owner-1',
    ownerId: null,
  });
  const registry = new DocumentRegistry(storage, opts.limits ?? limitsWith(), new Hooks(opts.extensions ?? []));
  return { registry, live: await registry.acquire(id), id };
}

/** A client's copy of the document as it is now. */
export function clientCopy(live: LiveDocument, clientID?: number): Y.Doc {
  const doc = new Y.Doc();
  if (clientID !== undefined) doc.clientID = clientID;
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(live.doc));
  return doc;
}

/** The update `change` makes to `doc` (one transaction). */
export function updateFrom(doc: Y.Doc, change: (doc: Y.Doc) => void): Uint8Array {
  const updates: Uint8Array[] = [];
  const capture = (u: Uint8Array) => updates.push(u);
  doc.on('update', capture);
  try {
    doc.transact(() => change(doc));
  } finally {
    doc.off('update', capture);
  }
  if (updates.length !== 1) throw new Error(`expected one update, got ${updates.length}`);
  return updates[0]!;
}

/** A peer that records what it is sent and how it was closed. */
export class RecordingPeer implements Peer {
  readonly received: Uint8Array[] = [];
  closed: { code: number; reason: string } | null = null;
  send(message: Uint8Array | Outgoing): void {
    this.received.push(message instanceof Uint8Array ? message : message.payload);
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
}

/** `storage` with some of its log's methods replaced (to make one fail, or to watch or hold its calls). */
export function storageWith(storage: Storage, overrides: Partial<DocumentLog>): Storage {
  const log = new Proxy(storage.log, {
    get(target, key, receiver) {
      if (key in overrides) return overrides[key as keyof DocumentLog];
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { ...storage, log };
}
