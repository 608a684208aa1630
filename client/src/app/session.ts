/**
 * The signed-in user. The credential is the server's HttpOnly session cookie, which no script can read; this
 * module keeps only who is signed in and until when (localStorage), so a reload — even offline — opens the app
 * as that user. The cookie is refreshed ahead of its expiry, and open documents reconnect with it quietly.
 * The session ends on sign-out, a 401 from the server, or its expiry.
 */
import { api, ApiError, setUnauthorizedHandler, type Session } from './api';
import { newStore, useStoreState } from './store';

const KEY = 'marginalia.session';
/** Refresh once this share of the time left has passed (a 12 h session: after 9 h). */
const REFRESH_AT = 0.75;
/** Offline or the server is away when a refresh is due: try again after this. */
const RETRY_MS = 30_000;

interface SessionState {
  current: Session | null;
  /** Why the last session ended, when it was not the user's own choice. */
  notice: string | null;
}

/** The expiry inside a JWT (sessions stored by earlier versions kept the token itself). */
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

function save(session: Session): void {
  localStorage.setItem(KEY, JSON.stringify({ user: session.user, expiresAt: session.expiresAt }));
}

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const stored = JSON.parse(raw) as Partial<Session> & { token?: string };
    const expiresAt = stored.expiresAt ?? (stored.token ? tokenExpiry(stored.token) : null);
    if (!stored.user || expiresAt === null || expiresAt < Date.now()) {
      localStorage.removeItem(KEY);
      return null;
    }
    const session = { user: stored.user, expiresAt };
    // An earlier version's stored token is dropped: the cookie is the credential.
    if (stored.token) save(session);
    return session;
  } catch {
    return null;
  }
}

const sessionStore = newStore<SessionState>({ current: load(), notice: null });
const refreshedListeners = new Set<() => void>();
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
/** When the scheduled refresh is due (ms), or null. */
let refreshDue: number | null = null;
/** The last refresh failed (offline, server away): the scheduled one is a retry. */
let retrying = false;

setUnauthorizedHandler(() => endSession('Your session has expired. Please sign in again.'));

function scheduleRefresh(session: Session | null, delay?: number, retry = false): void {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
  refreshDue = null;
  retrying = retry;
  if (!session) return;
  const wait = delay ?? Math.max(0, (session.expiresAt - Date.now()) * REFRESH_AT);
  refreshDue = Date.now() + wait;
  refreshTimer = setTimeout(() => void refresh(), Math.min(wait, 2 ** 31 - 1));
}

// Back online (or awake again) with a refresh overdue or failed: refresh now rather than at the next retry, which
// could come after the expiry (the open document would then ask to sign in again).
const refreshIfOverdue = () => {
  if (refreshDue !== null && (retrying || refreshDue <= Date.now()) && navigator.onLine) void refresh();
};
window.addEventListener('online', refreshIfOverdue);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') refreshIfOverdue();
});

let refreshing = false;

async function refresh(): Promise<void> {
  const current = sessionStore.getState().current;
  if (!current || refreshing) return;
  refreshing = true;
  try {
    const next = await api.refresh();
    if (sessionStore.getState().current?.user.id !== next.user.id) return;
    // The same user object: views keyed on it (the open document) stay as they are.
    const session = { user: current.user, expiresAt: next.expiresAt };
    save(session);
    sessionStore.setState({ current: session });
    scheduleRefresh(session);
    for (const listener of refreshedListeners) listener();
  } catch (e) {
    // A 401 ends the session (the unauthorized handler); offline, the next try comes later.
    if (!(e instanceof ApiError && e.status === 401))
      scheduleRefresh(current, Math.min(RETRY_MS, Math.max(1000, (current.expiresAt - Date.now()) / 4)), true);
  } finally {
    refreshing = false;
  }
}

scheduleRefresh(sessionStore.getState().current);

/** Calls `listener` after each refresh of the session cookie (open sockets reconnect to carry the new one). */
export function onSessionRefreshed(listener: () => void): () => void {
  refreshedListeners.add(listener);
  return () => refreshedListeners.delete(listener);
}

export function startSession(session: Session): void {
  save(session);
  sessionStore.setState({ current: session, notice: null });
  scheduleRefresh(session);
}

export function endSession(reason: string | null = null): void {
  if (!sessionStore.getState().current) return;
  localStorage.removeItem(KEY);
  scheduleRefresh(null);
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
