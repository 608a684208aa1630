import { useEffect, useState } from 'react';

/**
 * `value` once it has held for `delayMs` (immediately when the delay is 0). Keeps short-lived states —
 * a change waiting a few milliseconds for the server's confirmation — from flickering on screen.
 */
export function useSettled(value: boolean, delayMs: number): boolean {
  const [settled, setSettled] = useState(value && delayMs === 0);
  useEffect(() => {
    if (!value) return setSettled(false);
    if (delayMs === 0) return setSettled(true);
    const timer = setTimeout(() => setSettled(true), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}
