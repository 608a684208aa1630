/**
 * Presence over Yjs awareness. Lexical owns the top-level fields (name, color, focusing, anchorPos, focusPos);
 * Marginalia adds one field of its own, `marginalia`, for every role (Lexical only publishes selections of
 * focused editors): who the user is, the passage they have selected, and the thread they are typing in.
 */
import type { Awareness } from 'y-protocols/awareness';
import { newStore, useStoreState, type Store } from '../app/store';

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

/** This tab's presence (published) and everyone's (read, as a store of peers). */
export class Presence {
  /** Everyone connected to the document, this tab included (isSelf); sorted by name. */
  readonly peers: Store<{ list: readonly Peer[] }>;
  private field: PresenceField;
  private readonly onChange: () => void;
  private peersKey = '';

  constructor(
    private readonly awareness: Awareness,
    userId: string,
  ) {
    this.field = { userId, selection: null, typing: null };
    this.peers = newStore<{ list: readonly Peer[] }>({ list: [] });
    this.onChange = () => {
      // Lexical replaces the whole local state when it (re)initialises it: put our field back.
      const local = awareness.getLocalState() as Record<string, unknown> | null;
      if (local && !(FIELD in local)) awareness.setLocalStateField(FIELD, this.field);
      this.readPeers();
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

  /** Awareness changes often (cursors, clocks); the list is replaced only when what it shows changed. */
  private readPeers(): void {
    const list = readPeers(this.awareness);
    const key = JSON.stringify(list);
    if (key === this.peersKey) return;
    this.peersKey = key;
    this.peers.setState({ list });
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

/** Everyone connected to the document, this tab included (isSelf). */
export function usePeers(presence: Presence): readonly Peer[] {
  return useStoreState(presence.peers, (s) => s.list);
}
