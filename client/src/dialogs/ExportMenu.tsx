/** Export menu: every format the server offers (GET /api/documents/:id/export?format=…). */
import { useState } from 'react';
import { useDismiss } from '../ui/useDismiss';
import { downloadExport, type ExportFormat } from '../app/api';
import { useDocument } from '../views/document/DocumentContext';

const FORMATS: Array<{ format: ExportFormat; label: string; hint: string }> = [
  { format: 'md', label: 'Markdown', hint: 'highlights as footnotes' },
  { format: 'html', label: 'HTML', hint: 'standalone page' },
  { format: 'docx', label: 'Word (.docx)', hint: 'with Word comments' },
  { format: 'w3c', label: 'W3C Web Annotations', hint: 'JSON-LD' },
  { format: 'csv', label: 'CSV', hint: 'one row per comment' },
  { format: 'json', label: 'JSON', hint: 'threads as data' },
];

export function ExportMenu() {
  const { docId, info, model } = useDocument();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const root = useDismiss(open, () => setOpen(false));

  async function run(format: ExportFormat) {
    setBusy(format);
    setError(null);
    try {
      await downloadExport(docId, format, model.snapshot.getState().title || info.title);
      setOpen(false);
    } catch (e) {
      setError((e as Error).message);
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
              {error}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
