/**
 * Export menu: every format the server offers (GET /api/documents/:id/export?format=…), and for those who may
 * comment, "Import annotations…" (the dialog is the header's, so it outlives the menu).
 */
import { useEffect, useState } from 'react';
import { useDismiss } from '../ui/useDismiss';
import { ApiError, downloadExport, type ExportFormat } from '../app/api';
import { useStoreState } from '../app/store';
import { useDocument } from '../views/document/DocumentContext';

const FORMATS: Array<{ format: ExportFormat; label: string; hint: string }> = [
  { format: 'md', label: 'Markdown', hint: 'highlights as footnotes' },
  { format: 'html', label: 'HTML', hint: 'standalone page' },
  { format: 'docx', label: 'Word (.docx)', hint: 'with Word comments' },
  { format: 'w3c', label: 'W3C Web Annotations', hint: 'JSON-LD' },
  { format: 'csv', label: 'CSV', hint: 'one row per comment' },
  { format: 'json', label: 'JSON', hint: 'threads as data' },
];

export function ExportMenu({ onImport }: { onImport?: () => void }) {
  const { docId, info, model, session } = useDocument();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<{ message: string; offline: boolean } | null>(null);
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const root = useDismiss(open, () => setOpen(false));
  const connected = useStoreState(session.connection, (s) => s.status === 'connected');
  // "The server cannot be reached" is no longer true once the document's connection is back.
  useEffect(() => {
    if (connected) setError((e) => (e?.offline ? null : e));
  }, [connected]);

  async function run(format: ExportFormat) {
    setBusy(format);
    setError(null);
    try {
      await downloadExport(docId, format, model.snapshot.getState().title || info.title);
      setOpen(false);
    } catch (e) {
      setError({ message: (e as Error).message, offline: e instanceof ApiError && e.offline });
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="menu" ref={root}>
      <button
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => {
          // A failure shown last time (the server unreachable) is not news on the next opening.
          if (!open) setError(null);
          setOpen(!open);
        }}
      >
        Export ▾
      </button>
      {open && (
        <div className="menu-popup" role="menu" aria-label="Export formats">
          {FORMATS.map(({ format, label, hint }) => (
            <button
              key={format}
              type="button"
              role="menuitem"
              disabled={busy !== null}
              onClick={() => void run(format)}
            >
              <span>{busy === format ? 'Preparing…' : label}</span>
              <span className="hint">{hint}</span>
            </button>
          ))}
          {error && (
            <p className="form-error" role="alert">
              {error.message}
            </p>
          )}
          {onImport && (
            <div role="group" aria-label="Import" className="menu-group">
              <button
                type="button"
                role="menuitem"
                onClick={() => {
                  setOpen(false);
                  onImport();
                }}
              >
                <span>Import annotations…</span>
                <span className="hint">W3C or JSON</span>
              </button>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
