/**
 * Members dialog (owners): who may open the document and with which role; add by username; whether guests (and
 * signed-in non-members) may open it, and with which role.
 */
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { ROLES, type Role } from '@marginalia/shared';
import { api, type Member } from '../app/api';
import { Dialog } from '../ui/Dialog';
import { roleLabel } from '../ui/format';
import { useDocument } from '../views/document/DocumentContext';
import { refreshPeople } from '../threads/people';

export function MembersDialog({ onClose }: { onClose: () => void }) {
  const { docId, user } = useDocument();
  const [members, setMembers] = useState<Member[] | null>(null);
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('commenter');
  const [guestRole, setGuestRole] = useState<Role | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const ids = { user: useId(), role: useId(), guests: useId() };

  const load = useCallback(async () => {
    try {
      const [list, info] = await Promise.all([api.members(docId), api.document(docId)]);
      setMembers(list);
      setGuestRole(info.guestRole);
      void refreshPeople(docId); // who may be mentioned follows
    } catch (e) {
      setError((e as Error).message);
    }
  }, [docId]);

  async function changeGuests(next: Role | null) {
    setError(null);
    try {
      setGuestRole((await api.setGuestRole(docId, next)).guestRole);
      void refreshPeople(docId);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  useEffect(() => void load(), [load]);

  async function change(name: string, next: Role) {
    setError(null);
    try {
      await api.setMember(docId, name, next);
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function remove(name: string) {
    setError(null);
    try {
      await api.removeMember(docId, name);
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function add(event: FormEvent) {
    event.preventDefault();
    const name = username.trim();
    if (!name) return;
    setError(null);
    try {
      await api.setMember(docId, name, role);
      setUsername('');
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <Dialog title="Members" onClose={onClose}>
      {members === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <table className="members">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span className="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.username} data-member={m.username}>
                <td>
                  <div>{m.name}</div>
                  <div className="muted small">@{m.username}</div>
                </td>
                <td>
                  <select
                    aria-label={`Role of ${m.name}`}
                    value={m.role}
                    disabled={m.username === user.username}
                    onChange={(e) => void change(m.username, e.target.value as Role)}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {roleLabel(r)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  {m.username !== user.username && (
                    <button
                      type="button"
                      className="link danger"
                      aria-label={`Remove ${m.name}`}
                      onClick={() => void remove(m.username)}
                    >
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="add-member" onSubmit={add}>
        <label htmlFor={ids.user}>Add someone by username</label>
        <div className="row">
          <input
            id={ids.user}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            placeholder="username"
            autoComplete="off"
          />
          <label htmlFor={ids.role} className="sr-only">
            Role
          </label>
          <select id={ids.role} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </select>
          <button type="submit" className="primary">
            Add
          </button>
        </div>
        <p className="hint">
          Viewers read; commenters also comment; editors also edit the text and tags; owners also manage members.
        </p>
      </form>
      {guestRole !== undefined && (
        <div className="guest-access">
          <label htmlFor={ids.guests}>Guest access</label>
          <select
            id={ids.guests}
            value={guestRole ?? ''}
            onChange={(e) => void changeGuests(e.target.value === '' ? null : (e.target.value as Role))}
          >
            <option value="">No guest access</option>
            <option value="viewer">Guests may read</option>
            <option value="commenter">Guests may comment</option>
            {(guestRole === 'editor' || guestRole === 'owner') && (
              <option value={guestRole}>Guests: {roleLabel(guestRole)}</option>
            )}
          </select>
          <p className="hint">
            Guests (and signed-in people who are not members) open it by its link. Taking access away closes their open
            connections at once.
          </p>
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
