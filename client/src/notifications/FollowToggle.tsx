/** Follow a document: be told of every new thread in it (a document's creator follows it until they stop). */
import { useEffect, useState } from 'react';
import { api } from '../app/api';

export function FollowToggle({ docId }: { docId: string }) {
  const [following, setFollowing] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.following(docId).then(
      (r) => live && setFollowing(r.following),
      () => live && setFollowing(null),
    );
    return () => {
      live = false;
    };
  }, [docId]);
  if (following === null) return null;
  return (
    <button
      type="button"
      aria-pressed={following}
      title={error ?? (following ? 'You are told of new threads here' : 'Be told of new threads here')}
      onClick={() => {
        const next = !following;
        setFollowing(next);
        api.setFollowing(docId, next).then(
          () => setError(null),
          (e: Error) => {
            setFollowing(!next);
            setError(e.message);
          },
        );
      }}
    >
      {following ? 'Following' : 'Follow'}
    </button>
  );
}
