/** Where and how often notification mail comes: off, at once, or an hourly digest (PUT /api/me/settings). */
import { useEffect, useState, type FormEvent } from 'react';
import { api, type UserSettings } from '../app/api';
import { Dialog } from '../ui/Dialog';

const CHOICES: { value: UserSettings['email']; label: string }[] = [
  { value: 'off', label: 'No email' },
  { value: 'instant', label: 'Each notification, as it comes' },
  { value: 'digest', label: 'A digest, at most once an hour' },
];

export function NotificationSettingsDialog({ onClose }: { onClose: () => void }) {
  const [settings, setSettings] = useState<UserSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    api.settings().then(setSettings, (e: Error) => setError(e.message));
  }, []);

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!settings) return;
    setSaving(true);
    try {
      await api.setSettings({ email: settings.email, emailAddress: settings.emailAddress || null });
      onClose();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setSaving(false);
    }
  }

  return (
    <Dialog title="Email notifications" onClose={onClose}>
      {!settings && !error && <p className="hint">Loading…</p>}
      {settings && (
        <form onSubmit={(e) => void save(e)} className="settings-form">
          <fieldset>
            <legend>Send me</legend>
            {CHOICES.map((c) => (
              <label key={c.value} className="radio">
                <input
                  type="radio"
                  name="email"
                  value={c.value}
                  checked={settings.email === c.value}
                  onChange={() => setSettings({ ...settings, email: c.value })}
                />
                {c.label}
              </label>
            ))}
          </fieldset>
          <label className="field">
            <span>Email address</span>
            <input
              type="email"
              value={settings.emailAddress ?? ''}
              required={settings.email !== 'off'}
              onChange={(e) => setSettings({ ...settings, emailAddress: e.target.value })}
            />
          </label>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <div className="dialog-actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={saving}>
              Save
            </button>
          </div>
        </form>
      )}
      {!settings && error && <p className="form-error">{error}</p>}
    </Dialog>
  );
}
