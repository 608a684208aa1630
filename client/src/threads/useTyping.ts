/** Publishes "typing in thread X" while the user types, and clears it after a pause or when they leave. */
import { useCallback, useEffect, useRef } from 'react';
import type { Presence } from '../collab/presence';

const IDLE_MS = 4000;

export function useTyping(presence: Presence, threadId: string): { onInput: () => void; stop: () => void } {
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const stop = useCallback(() => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    presence.set({ typing: null });
  }, [presence]);
  const onInput = useCallback(() => {
    presence.set({ typing: threadId });
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(stop, IDLE_MS);
  }, [presence, threadId, stop]);
  useEffect(
    () => () => {
      if (timer.current) {
        clearTimeout(timer.current);
        presence.set({ typing: null });
      }
    },
    [presence],
  );
  return { onInput, stop };
}
