/**
 * The signed-in user. The token is kept in localStorage until sign-out, a 401 from the server, or its
 * expiry (read from the token itself when it is a JWT), so a reload — even offline — keeps the session.
 */
import { api, setApiToken, setUnauthorizedHandler, type Session } from './api';
import { newStore, useStoreState } from './store';

const KEY = 'marginalia.session';

interface SessionState {
  current: Session | null;
  /** Why the last session ended, when it was not the user's own choice. */
  notice: string | null;
}

function tokenExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const payload = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    const expiry = tokenExpiry(session.token);
    if (expiry !== null && expiry < Date.now()) {
      localStorage.removeItem(KEY);
      return null;
    }
    return session;
  } catch {
    return null;
  }
}

const sessionStore = newStore<SessionState>({ current: load(), notice: null });

setApiToken(sessionStore.getState().current?.token ?? null);
setUnauthorizedHandler(() => endSession('Your session has expired. Please sign in again.'));

export function startSession(session: Session): void {
  localStorage.setItem(KEY, JSON.stringify(session));
  setApiToken(session.token);
  sessionStore.setState({ current: session, notice: null });
}

export function endSession(reason: string | null = null): void {
  if (!sessionStore.getState().current) return;
  localStorage.removeItem(KEY);
  setApiToken(null);
  sessionStore.setState({ current: null, notice: reason });
}

export async function signOut(): Promise<void> {
  try {
    await api.logout();
  } catch {
    // Signing out locally is what the user asked for; a server that cannot be reached changes nothing.
  }
  endSession();
}

export function useSession(): Session | null {
  return useStoreState(sessionStore, (s) => s.current);
}

/** Why the last session ended, when it was not the user's own choice. */
export function sessionNotice(): string | null {
  return sessionStore.getState().notice;
}
