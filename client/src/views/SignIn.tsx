import { useEffect, useId, useState, type FormEvent } from 'react';
import { api, ApiError } from '../app/api';
import { sessionNotice, startSession } from '../app/session';

export function SignIn() {
  const [guestsAllowed, setGuestsAllowed] = useState<boolean | null>(null);
  const [mode, setMode] = useState<'password' | 'guest'>('password');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [guestName, setGuestName] = useState('');
  const [error, setError] = useState<string | null>(sessionNotice());
  const [busy, setBusy] = useState(false);
  const ids = { user: useId(), pass: useId(), guest: useId(), error: useId() };

  useEffect(() => {
    api.config().then(
      (config) => {
        setGuestsAllowed(config.guests);
        // With guests allowed, most first visits are a newcomer opening a shared link: offer that first.
        if (config.guests && !sessionNotice()) setMode('guest');
      },
      () => setGuestsAllowed(false),
    );
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      startSession(mode === 'guest' ? await api.guest(guestName.trim()) : await api.login(username.trim(), password));
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 401 ? 'That username and password do not match.' : (e as Error).message,
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <div className="signin-card">
        <h1 className="brand">
          <span className="brand-mark" aria-hidden="true">
            ¶
          </span>{' '}
          Marginalia
        </h1>
        <p className="signin-lead">Read together. Select a passage, say what you think, and see what others said.</p>
        {guestsAllowed && (
          <div className="segmented" role="tablist" aria-label="How to sign in">
            <button role="tab" aria-selected={mode === 'password'} type="button" onClick={() => setMode('password')}>
              Account
            </button>
            <button role="tab" aria-selected={mode === 'guest'} type="button" onClick={() => setMode('guest')}>
              Guest
            </button>
          </div>
        )}
        {guestsAllowed === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <form onSubmit={submit} aria-describedby={error ? ids.error : undefined}>
            {mode === 'password' ? (
              <>
                <label htmlFor={ids.user}>Username</label>
                <input
                  id={ids.user}
                  name="username"
                  autoComplete="username"
                  required
                  autoFocus
                  value={username}
                  onChange={(e) => setUsername(e.target.value)}
                />
                <label htmlFor={ids.pass}>Password</label>
                <input
                  id={ids.pass}
                  name="password"
                  type="password"
                  autoComplete="current-password"
                  required
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                />
              </>
            ) : (
              <>
                <label htmlFor={ids.guest}>Your name</label>
                <input
                  id={ids.guest}
                  name="guestName"
                  autoComplete="name"
                  required
                  autoFocus
                  maxLength={60}
                  value={guestName}
                  onChange={(e) => setGuestName(e.target.value)}
                />
                <p className="hint">
                  Others see this name beside your comments. Guests reach only documents open to guests.
                </p>
              </>
            )}
            {error && (
              <p className="form-error" role="alert" id={ids.error}>
                {error}
              </p>
            )}
            <button className="primary wide" type="submit" disabled={busy}>
              {busy ? 'Signing in…' : mode === 'guest' ? 'Continue as guest' : 'Sign in'}
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
