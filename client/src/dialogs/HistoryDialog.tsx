/**
 * Version history: the document's versions (named and automatic) with who made them; opening one shows its article
 * read-only with the changes since (or up to another chosen version) marked — insertions and deletions, with who
 * made them on hover — and its threads as they were. Editors name the current state and restore a version.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import { api, type ArticleChange, type DocumentDiff, type VersionSummary, type VersionThread } from '../app/api';
import { Dialog } from '../ui/Dialog';
import { fullTime, plural, timeAgo } from '../ui/format';
import { useDocument } from '../views/document/DocumentContext';

export interface DiffSegment {
  kind: 'same' | 'insert' | 'delete';
  text: string;
  by: string | null;
}

/**
 * The older text with the changes woven in: `changes` are in order, each `at` an offset in the newer text, so the
 * text between them is common to both.
 */
export function mergeDiff(older: string, changes: ArticleChange[]): DiffSegment[] {
  const out: DiffSegment[] = [];
  let inOlder = 0;
  let inNewer = 0;
  for (const c of changes) {
    const same = c.at - inNewer;
    if (same > 0) out.push({ kind: 'same', text: older.slice(inOlder, inOlder + same), by: null });
    inOlder += Math.max(same, 0);
    inNewer += Math.max(same, 0);
    if (c.op === 'insert') {
      out.push({ kind: 'insert', text: c.text, by: c.by });
      inNewer += c.text.length;
    } else {
      out.push({ kind: 'delete', text: c.text, by: c.by });
      inOlder += c.text.length;
    }
  }
  if (inOlder < older.length) out.push({ kind: 'same', text: older.slice(inOlder), by: null });
  return out;
}

const versionLabel = (v: VersionSummary) => v.name ?? 'Automatic version';

const VISIT_KEY = (docId: string) => `marginalia:visit:${docId}`;
/** Per document: the newest version when the user last opened it (read at this opening, before it is replaced). */
const previousVisit = new Map<string, string>();

/**
 * Marks a visit to the document: the newest version now is remembered on this device, and the one remembered at
 * the previous visit is kept for "What changed since my last visit".
 */
export async function markVisit(docId: string): Promise<void> {
  let versions: VersionSummary[];
  try {
    versions = await api.versions(docId);
  } catch {
    return; // offline, or no access: nothing to compare with later
  }
  const before = localStorage.getItem(VISIT_KEY(docId));
  if (before && !previousVisit.has(docId)) previousVisit.set(docId, before);
  if (versions[0]) localStorage.setItem(VISIT_KEY(docId), versions[0].id);
}

function VersionView({
  version,
  versions,
  onRestored,
}: {
  version: VersionSummary;
  versions: VersionSummary[];
  onRestored: () => void;
}) {
  const { docId, permissions } = useDocument();
  const [compareTo, setCompareTo] = useState('current');
  const [data, setData] = useState<{ text: string; diff: DocumentDiff; threads: VersionThread[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const compareId = useId();

  useEffect(() => {
    let live = true;
    setData(null);
    setError(null);
    Promise.all([
      api.versionText(docId, version.id),
      api.diff(docId, version.id, compareTo),
      api.versionThreads(docId, version.id),
    ]).then(
      ([text, diff, threads]) => live && setData({ text, diff, threads }),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [docId, version.id, compareTo]);

  async function restore() {
    if (!window.confirm(`Restore the article as it was in “${versionLabel(version)}”? Threads are kept.`)) return;
    setBusy(true);
    setError(null);
    try {
      await api.restoreVersion(docId, version.id);
      onRestored();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const names = new Map(data?.diff.authors.map((a) => [a.id, a.name]) ?? []);
  const who = (by: string | null) => (by ? (names.get(by) ?? 'someone') : 'someone');
  return (
    <section className="version-view" aria-label={`Version: ${versionLabel(version)}`}>
      <div className="version-view-head">
        <div>
          <h3>{versionLabel(version)}</h3>
          <p className="muted small">
            {fullTime(version.createdAt)}
            {version.createdByName ? ` · ${version.createdByName}` : ''}
          </p>
        </div>
        {permissions.canEdit && (
          <button type="button" className="primary" disabled={busy} onClick={() => void restore()}>
            {busy ? 'Restoring…' : 'Restore this version'}
          </button>
        )}
      </div>
      <label className="compare" htmlFor={compareId}>
        Changes up to{' '}
        <select id={compareId} value={compareTo} onChange={(e) => setCompareTo(e.target.value)}>
          <option value="current">the current document</option>
          {versions
            .filter((v) => v.id !== version.id && v.createdAt >= version.createdAt)
            .map((v) => (
              <option key={v.id} value={v.id}>
                {versionLabel(v)} · {timeAgo(v.createdAt)}
              </option>
            ))}
        </select>
      </label>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {!data && !error && <p className="muted">Loading…</p>}
      {data && (
        <>
          <ul className="diff-authors" aria-label="Who changed what">
            {data.diff.authors.length === 0 && <li className="muted small">No changes since.</li>}
            {data.diff.authors.map((a) => (
              <li key={a.id} className="chip subtle">
                {a.name}: +{a.inserted} −{a.deleted}
              </li>
            ))}
          </ul>
          <div className="version-article" data-version-article aria-readonly="true">
            {mergeDiff(data.text, data.diff.article).map((s, i) =>
              s.kind === 'same' ? (
                <span key={i}>{s.text}</span>
              ) : s.kind === 'insert' ? (
                <ins key={i} title={`Added by ${who(s.by)}`}>
                  {s.text}
                </ins>
              ) : (
                <del key={i} title={`Deleted${s.by ? ` by ${who(s.by)}` : ''}`}>
                  {s.text}
                </del>
              ),
            )}
          </div>
          <h4>{plural(data.threads.length, 'thread')} in this version</h4>
          <ul className="version-threads">
            {data.threads.map((t) => (
              <li key={t.id} data-version-thread={t.id}>
                <q>{t.quote.exact}</q>
                <span className="muted small">
                  {' '}
                  · {t.status}
                  {t.anchorState !== 'exact' ? ` · ${t.anchorState}` : ''}
                </span>
                {t.comments[0] && (
                  <p className="small">
                    <strong>{t.comments[0].authorName}</strong>: {t.comments[0].body}
                    {t.comments.length > 1 ? ` (+${plural(t.comments.length - 1, 'reply', 'replies')})` : ''}
                  </p>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

export function HistoryDialog({ onClose }: { onClose: () => void }) {
  const { docId, permissions } = useDocument();
  const [versions, setVersions] = useState<VersionSummary[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const nameId = useId();

  const load = async () => {
    try {
      const list = await api.versions(docId);
      setVersions(list);
      setSelected((s) => s ?? list[0]?.id ?? null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- loaded once per document
  }, [docId]);

  async function nameCurrent(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) return;
    setError(null);
    try {
      const { id } = await api.nameVersion(docId, name.trim());
      setName('');
      setSelected(id);
      setNotice('Version named.');
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const current = versions?.find((v) => v.id === selected) ?? null;
  const lastVisit = previousVisit.get(docId);
  const sinceVisit = lastVisit && versions?.some((v) => v.id === lastVisit) ? lastVisit : null;
  return (
    <Dialog title="History" onClose={onClose} wide>
      <div className="history">
        {permissions.canEdit && (
          <form className="name-version" onSubmit={(e) => void nameCurrent(e)}>
            <label htmlFor={nameId}>Name this version</label>
            <input
              id={nameId}
              value={name}
              maxLength={200}
              placeholder="e.g. Before the second edition"
              onChange={(e) => setName(e.target.value)}
            />
            <button type="submit" disabled={!name.trim()}>
              Save
            </button>
          </form>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {notice && (
          <p className="muted small" role="status">
            {notice}
          </p>
        )}
        {sinceVisit && (
          <button type="button" className="link" onClick={() => setSelected(sinceVisit)}>
            What changed since my last visit
          </button>
        )}
        {versions === null ? (
          <p className="muted">Loading…</p>
        ) : versions.length === 0 ? (
          <p className="muted">No versions yet: they are recorded as the document changes.</p>
        ) : (
          <div className="history-columns">
            <ul className="version-list" aria-label="Versions">
              {versions.map((v) => (
                <li key={v.id}>
                  <button
                    type="button"
                    aria-current={v.id === selected ? 'true' : undefined}
                    className={v.id === selected ? 'selected' : ''}
                    onClick={() => setSelected(v.id)}
                    data-version={v.id}
                  >
                    <span className={v.automatic ? 'version-name automatic' : 'version-name'}>{versionLabel(v)}</span>
                    <span className="muted small" title={fullTime(v.createdAt)}>
                      {timeAgo(v.createdAt)}
                      {v.createdByName ? ` · ${v.createdByName}` : ''}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
            {current && (
              <VersionView
                key={current.id}
                version={current}
                versions={versions}
                onRestored={() => {
                  setNotice('Restored: the article is back as it was in that version.');
                  void load();
                }}
              />
            )}
          </div>
        )}
      </div>
    </Dialog>
  );
}
