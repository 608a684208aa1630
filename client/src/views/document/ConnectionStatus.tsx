/** Connection state, always visible: connected / reconnecting / offline, with the unsynced change count. */
import { endSession } from '../../app/session';
import { useStoreState } from '../../app/store';
import { useSettled } from '../../ui/useSettled';
import { useDocument } from './DocumentContext';

const LABELS: Record<string, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  denied: 'Disconnected',
  expired: 'Session expired',
  missing: 'Document gone',
};

export function ConnectionStatus() {
  const { session } = useDocument();
  const state = useStoreState(session.connection);
  const { status } = state;
  // While connected, a change is normally confirmed within milliseconds: show the count only if it lingers.
  const lingering = useSettled(state.pending > 0, status === 'connected' ? 1500 : 0);
  const pending = lingering ? state.pending : 0;
  const unsynced =
    pending > 0
      ? `${pending} ${pending === 1 ? 'change' : 'changes'} not yet synced`
      : status === 'connected'
        ? 'All changes synced'
        : '';
  const refused = status === 'denied' || status === 'expired' || status === 'missing';
  return (
    <div
      className={`connection connection-${status}`}
      role="status"
      aria-live="polite"
      data-connection={status}
      data-pending={state.pending}
    >
      <span className="connection-dot" aria-hidden="true" />
      <span className="connection-label">{LABELS[status] ?? status}</span>
      {unsynced && <span className={pending > 0 ? 'connection-pending' : 'connection-synced'}>· {unsynced}</span>}
      {refused && (
        <span className="connection-reason">
          {status === 'denied' &&
            (state.reason
              ? ` · The server refused a change (${state.reason}); unsynced changes were discarded.`
              : ' · You no longer have access.')}
          {status === 'missing' && ' · This document was deleted.'}{' '}
          {status === 'expired' ? (
            <button
              type="button"
              className="link"
              onClick={() => endSession('Your session has expired. Please sign in again.')}
            >
              Sign in again
            </button>
          ) : (
            <button type="button" className="link" onClick={() => location.reload()}>
              Reload
            </button>
          )}
        </span>
      )}
    </div>
  );
}
