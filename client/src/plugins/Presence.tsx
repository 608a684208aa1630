/**
 * Presence: who else is here (avatars), where their selection is (drawn in their colour with their name),
 * and this user's own selection published for them.
 */
import { memo, useEffect, useLayoutEffect, useMemo, useState } from 'react';
import { decodeRelative, encodeRelative } from '@marginalia/shared';
import { usePeers, type Peer } from '../collab/presence';
import type { Rect, TextSpan } from '../editor/geometry';
import { Avatar } from '../ui/Avatar';
import { distinctColors } from '../ui/format';
import { useDocument } from '../views/document/DocumentContext';
import { useLayoutVersion } from './AnnotationHighlights';

/** Publishes the local selection in the article (for every role) so others can see it. */
export function SelectionPublisher() {
  const { bridge, model, session, permissions } = useDocument();
  useEffect(() => {
    let frame = 0;
    const publish = () => {
      frame = 0;
      const geometry = bridge.geometry;
      const root = bridge.rootElement;
      const selection = window.getSelection();
      if (!geometry || !root || !selection || selection.rangeCount === 0) return;
      const range = selection.getRangeAt(0);
      // Leaving the article for the composer keeps the passage published: others see what is being discussed.
      if (!root.contains(range.commonAncestorContainer)) return;
      // A bare caret means something only to those who can type.
      if (selection.isCollapsed && !permissions.canEdit) return session.presence.set({ selection: null });
      const index = model.articleIndex();
      const span = geometry.selectionSpan(index, selection);
      if (!span) return;
      session.presence.set({
        selection: {
          start: encodeRelative(index.toRelative(span.start, 0)),
          end: encodeRelative(index.toRelative(span.end, span.end > span.start ? -1 : 0)),
        },
      });
    };
    const onChange = () => {
      if (!frame) frame = requestAnimationFrame(publish);
    };
    document.addEventListener('selectionchange', onChange);
    return () => {
      document.removeEventListener('selectionchange', onChange);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [bridge, model, session, permissions.canEdit]);
  return null;
}

interface DrawnPeer {
  peer: Peer;
  rects: Rect[];
}

/** Other people's selections, in the overlay layer. */
export const RemoteSelections = memo(function RemoteSelections({ layer }: { layer: HTMLElement | null }) {
  const { bridge, model, session } = useDocument();
  const peers = usePeers(session.provider.awareness);
  const layoutVersion = useLayoutVersion();
  const [drawn, setDrawn] = useState<DrawnPeer[]>([]);
  const others = useMemo(() => peers.filter((p) => !p.isSelf && p.selection), [peers]);
  const colors = useMemo(() => distinctColors(peers.map((p) => p.userId)), [peers]);

  useLayoutEffect(() => {
    const geometry = bridge.geometry;
    if (!geometry || !layer) return setDrawn([]);
    const index = model.articleIndex();
    const spans: Array<[Peer, TextSpan]> = [];
    for (const peer of others) {
      try {
        const start = index.fromRelative(decodeRelative(peer.selection!.start));
        const end = index.fromRelative(decodeRelative(peer.selection!.end));
        if (start !== null && end !== null)
          spans.push([peer, { start: Math.min(start, end), end: Math.max(start, end) }]);
      } catch {
        // A malformed position from another client only hides that client's selection.
      }
    }
    const rects = geometry.rects(index, spans, layer);
    setDrawn(spans.map(([peer]) => ({ peer, rects: rects.get(peer) ?? [] })).filter((d) => d.rects.length > 0));
  }, [bridge, model, layer, others, layoutVersion]);

  return (
    <div className="remote-selections" aria-hidden="true">
      {drawn.map(({ peer, rects }) => {
        const first = rects[0]!;
        const collapsed = rects.length === 1 && first.width <= 2;
        return (
          <div
            key={peer.clientId}
            className="remote-selection"
            data-peer={peer.userId}
            style={{ ['--peer' as string]: colors.get(peer.userId) ?? peer.color }}
          >
            {rects.map((r, i) => (
              <span
                key={i}
                className={collapsed ? 'remote-caret' : 'remote-rect'}
                style={{ top: r.top, left: r.left, width: collapsed ? 2 : r.width, height: r.height }}
              />
            ))}
            <span className="remote-label" style={{ top: first.top - 16, left: first.left }}>
              {peer.name}
              {peer.typing === 'new' ? ' · commenting…' : ''}
            </span>
          </div>
        );
      })}
    </div>
  );
});

/** The avatars of everyone here, one per person however many tabs they have open. */
export function PresenceAvatars() {
  const { session } = useDocument();
  const peers = usePeers(session.provider.awareness);
  const people = useMemo(() => {
    const byUser = new Map<string, Peer>();
    for (const peer of peers) if (!byUser.has(peer.userId) || peer.isSelf) byUser.set(peer.userId, peer);
    return [...byUser.values()].sort((a, b) => Number(b.isSelf) - Number(a.isSelf) || a.name.localeCompare(b.name));
  }, [peers]);
  const colors = useMemo(() => distinctColors(people.map((p) => p.userId)), [people]);
  if (people.length === 0) return null;
  const shown = people.slice(0, 6);
  return (
    <div className="presence" aria-label={`${people.length} here now`} role="group">
      {shown.map((peer) => (
        <span key={peer.userId} className="presence-item" data-presence={peer.userId}>
          <Avatar
            name={peer.name}
            color={colors.get(peer.userId) ?? peer.color}
            size={28}
            title={peer.isSelf ? `${peer.name} (you)` : peer.name}
          />
        </span>
      ))}
      {people.length > shown.length && <span className="presence-more">+{people.length - shown.length}</span>}
    </div>
  );
}
