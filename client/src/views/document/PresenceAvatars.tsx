import { useMemo } from 'react';
import { usePeers, type Peer } from '../../collab/presence';
import { Avatar } from '../../ui/Avatar';
import { distinctColors, isGuest, personName } from '../../ui/format';
import { useDocument } from './DocumentContext';

/** The avatars of everyone here, one per person however many tabs they have open. */
export function PresenceAvatars() {
  const { session } = useDocument();
  const peers = usePeers(session.presence);
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
            guest={isGuest(peer.userId)}
            color={colors.get(peer.userId) ?? peer.color}
            size={28}
            title={peer.isSelf ? `${personName(peer.name, peer.userId)} (you)` : personName(peer.name, peer.userId)}
          />
        </span>
      ))}
      {people.length > shown.length && <span className="presence-more">+{people.length - shown.length}</span>}
    </div>
  );
}
