/** Whether a CSS media query matches now; re-renders when it starts or stops matching. */
import { useSyncExternalStore } from 'react';

export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (onChange) => {
      const list = window.matchMedia(query);
      list.addEventListener('change', onChange);
      return () => list.removeEventListener('change', onChange);
    },
    () => window.matchMedia(query).matches,
  );
}

/**
 * Below this width the margin no longer fits beside a readable article: the threads move into a panel over
 * the bottom of the screen and the header's actions into a menu. Keep in step with the CSS media queries.
 */
export const NARROW_QUERY = '(max-width: 899px)';

export function useNarrow(): boolean {
  return useMediaQuery(NARROW_QUERY);
}
