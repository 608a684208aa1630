/**
 * Presence in the article: where other people's selections are (drawn in their colour with their name), and
 * this user's own selection published for them.
 */
import { memo, useEffect, useLayoutEffect, useMemo, useState } from 'react';
import { useLexicalComposerContext } from '@lexical/react/LexicalComposerContext';
import { decodeRelative, encodeRelative } from '@marginalia/shared';
import { usePeers, type Peer } from '../collab/presence';
import { geometryOf, type Rect, type TextSpan } from '../editor/geometry';
import { distinctColors, personName } from '../ui/format';
import { useDocument } from '../views/document/DocumentContext';
import { useLayoutVersion } from './AnnotationHighlights';

/**
 * Publishes the local selection in the article so others can see it. It reads the DOM selection on the
 * document's `selectionchange`: the selection of a read-only editor (commenters, viewers) matters as much as an
 * editor's, and the DOM has it the same way for every role.
 */
export function SelectionPublisherPlugin() {
  const [editor] = useLexicalComposerContext();
  const { model, session, permissions } = useDocument();
  useEffect(() => {
    const geometry = geometryOf(editor);
    let frame = 0;
    const publish = () => {
      frame = 0;
      const root = editor.getRootElement();
      const selection = window.getSelection();
      if (!root || !selection || selection.rangeCount === 0) return;
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
  }, [editor, model, session, permissions.canEdit]);
  return null;
}

interface DrawnPeer {
  peer: Peer;
  rects: Rect[];
}

/** Other people's selections, in the overlay layer. */
export const RemoteSelectionsPlugin = memo(function RemoteSelectionsPlugin({ layer }: { layer: HTMLElement | null }) {
  const [editor] = useLexicalComposerContext();
  const { model, session } = useDocument();
  const peers = usePeers(session.presence);
  const layoutVersion = useLayoutVersion();
  const [drawn, setDrawn] = useState<DrawnPeer[]>([]);
  const others = useMemo(() => peers.filter((p) => !p.isSelf && p.selection), [peers]);
  const colors = useMemo(() => distinctColors(peers.map((p) => p.userId)), [peers]);

  useLayoutEffect(() => {
    if (!layer) return setDrawn([]);
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
    const rects = geometryOf(editor).rects(index, spans, layer);
    if (!rects) return;
    setDrawn(spans.map(([peer]) => ({ peer, rects: rects.get(peer) ?? [] })).filter((d) => d.rects.length > 0));
  }, [editor, model, layer, others, layoutVersion]);

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
              {personName(peer.name, peer.userId)}
              {peer.typing === 'new' ? ' · commenting…' : ''}
            </span>
          </div>
        );
      })}
    </div>
  );
});
