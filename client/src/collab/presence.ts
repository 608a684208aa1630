/**
 * Presence over Yjs awareness. Lexical owns the top-level fields (name, color, focusing, anchorPos, focusPos);
 * Marginalia adds one field of its own, `marginalia`, for every role (Lexical only publishes selections of
 * focused editors): who the user is, the passage they have selected, and the thread they are typing in.
 */
import { useSyncExternalStore } from 'react';
import type { Awareness } from 'y-protocols/awareness';

export interface PresenceField {
  userId: string;
  /** RelativePositions (base64) of the selected passage, start and end. */
  selection: { start: string; end: string } | null;
  /** Thread id of the reply box the user is typing in; 'new' while writing a new thread. */
  typing: string | null;
}

export interface Peer {
  clientId: number;
  userId: string;
  name: string;
  color: string;
  selection: PresenceField['selection'];
  typing: string | null;
  isSelf: boolean;
}

const FIELD = 'marginalia';

export class PresencePublisher {
  private field: PresenceField;
  private readonly onChange: () => void;

  constructor(
    private readonly awareness: Awareness,
    userId: string,
  ) {
    this.field = { userId, selection: null, typing: null };
    // Lexical replaces the whole local state when it (re)initialises it: put our field back.
    this.onChange = () => {
      const local = awareness.getLocalState() as Record<string, unknown> | null;
      if (local && !(FIELD in local)) awareness.setLocalStateField(FIELD, this.field);
    };
    awareness.on('change', this.onChange);
    this.onChange();
  }

  set(patch: Partial<Omit<PresenceField, 'userId'>>): void {
    const next = { ...this.field, ...patch };
    if (JSON.stringify(next) === JSON.stringify(this.field)) return;
    this.field = next;
    if (this.awareness.getLocalState() !== null) this.awareness.setLocalStateField(FIELD, this.field);
  }

  destroy(): void {
    this.awareness.off('change', this.onChange);
  }
}

function readPeers(awareness: Awareness): Peer[] {
  const peers: Peer[] = [];
  for (const [clientId, raw] of awareness.getStates()) {
    const state = raw as { name?: unknown; color?: unknown; [FIELD]?: Partial<PresenceField> };
    const field = state[FIELD];
    if (!field || typeof field.userId !== 'string') continue;
    peers.push({
      clientId,
      userId: field.userId,
      name: typeof state.name === 'string' ? state.name : 'Someone',
      color: typeof state.color === 'string' ? state.color : '#888',
      selection: field.selection ?? null,
      typing: field.typing ?? null,
      isSelf: clientId === awareness.clientID,
    });
  }
  return peers.sort((a, b) => a.name.localeCompare(b.name) || a.clientId - b.clientId);
}

const cache = new WeakMap<Awareness, { peers: Peer[]; key: string }>();

function snapshot(awareness: Awareness): Peer[] {
  const peers = readPeers(awareness);
  const key = JSON.stringify(peers);
  const previous = cache.get(awareness);
  if (previous && previous.key === key) return previous.peers;
  cache.set(awareness, { peers, key });
  return peers;
}

/** Everyone connected to the document, this tab included (isSelf). */
export function usePeers(awareness: Awareness): Peer[] {
  return useSyncExternalStore(
    (listener) => {
      awareness.on('change', listener);
      return () => awareness.off('change', listener);
    },
    () => snapshot(awareness),
  );
}
