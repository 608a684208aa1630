/**
 * Import annotations (commenters and above): a W3C Web Annotation file or a Marginalia JSON export, read here to
 * guess its format (the user may override it), then sent to POST /api/documents/:id/import. The server writes the
 * threads through the live document, so they appear in the margin as they do for everyone connected; the dialog
 * reports what the server answered: threads imported, already there, comments, orphans, rejections, tags left off.
 */
import { useId, useRef, useState, type ChangeEvent } from 'react';
import { ApiError, api, type AnnotationImportFormat, type AnnotationImportResult } from '../app/api';
import { Dialog } from '../ui/Dialog';
import { plural } from '../ui/format';
import { useDocument } from '../views/document/DocumentContext';
import { FORMAT_LABELS, MAX_FILE_BYTES, formatSize, readAnnotationFile } from './annotationFile';

interface ChosenFile {
  name: string;
  size: number;
  data: unknown;
  summary: string;
  detected: AnnotationImportFormat | null;
}

/** The server's refusal, said for this dialog. */
function explain(error: unknown, file: ChosenFile | null, format: AnnotationImportFormat): string {
  if (!(error instanceof ApiError)) return (error as Error).message;
  switch (error.status) {
    case 413:
      return `This file${file ? ` (${formatSize(file.size)})` : ''} is larger than the server accepts. Split it, or ask the administrator to raise MARGINALIA_MAX_BODY_BYTES.`;
    case 403:
      return 'You may not import annotations into this document: it takes a commenter, editor or owner.';
    case 422:
      return `The server could not import this file as ${FORMAT_LABELS[format]}: ${error.message}`;
    default:
      return error.message;
  }
}

function Report({ result }: { result: AnnotationImportResult }) {
  const parts = [`${plural(result.imported, 'thread')} imported`];
  if (result.skipped > 0) parts.push(`${result.skipped} already there`);
  parts.push(plural(result.comments, 'comment'));
  return (
    <div className="import-report" role="status" data-import-report>
      <p>
        <strong>{parts.join(', ')}.</strong>
        {result.imported === 0 && result.skipped > 0 && ' Nothing new: this file was imported before.'}
      </p>
      {result.orphaned.length > 0 && (
        <>
          <p>
            {plural(result.orphaned.length, 'passage')} not found in this article:{' '}
            {result.orphaned.length === 1 ? 'its thread is' : 'their threads are'} listed under “Orphaned threads”.
          </p>
          <ul>
            {result.orphaned.map((o) => (
              <li key={o.id}>
                <q>{o.exact}</q> — {o.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      {result.rejected.length > 0 && (
        <>
          <p>{plural(result.rejected.length, 'annotation')} could not be imported:</p>
          <ul>
            {result.rejected.map((r) => (
              <li key={r.id}>
                <code>{r.id}</code> — {r.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      {result.droppedTags.length > 0 && (
        <p>Tags left off (only editors and owners add tags to the document): {result.droppedTags.join(', ')}.</p>
      )}
    </div>
  );
}

export function ImportAnnotationsDialog({ onClose }: { onClose: () => void }) {
  const { docId } = useDocument();
  const [file, setFile] = useState<ChosenFile | null>(null);
  const [format, setFormat] = useState<AnnotationImportFormat>('w3c');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<AnnotationImportResult | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const ids = { file: useId(), format: useId(), about: useId() };

  async function choose(event: ChangeEvent<HTMLInputElement>) {
    const picked = event.target.files?.[0];
    setError(null);
    setResult(null);
    setFile(null);
    if (!picked) return;
    if (picked.size > MAX_FILE_BYTES) {
      setError(`This file (${formatSize(picked.size)}) is too large to import.`);
      return;
    }
    let text: string;
    try {
      text = await picked.text();
    } catch (e) {
      setError(`This file could not be read: ${(e as Error).message}`);
      return;
    }
    const read = readAnnotationFile(text);
    if (!read.ok) {
      setError(read.error);
      return;
    }
    setFile({ name: picked.name, size: picked.size, data: read.data, summary: read.summary, detected: read.detected });
    if (read.detected) setFormat(read.detected);
  }

  async function upload() {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      setResult(await api.importAnnotations(docId, format, file.data));
    } catch (e) {
      setError(explain(e, file, format));
    } finally {
      setBusy(false);
    }
  }

  function another() {
    setResult(null);
    setFile(null);
    setError(null);
    if (input.current) input.current.value = '';
    input.current?.focus();
  }

  return (
    <Dialog title="Import annotations" onClose={onClose}>
      <div className="import-annotations">
        <p className="muted small" id={ids.about}>
          Adds the threads of a W3C Web Annotation file (.jsonld, from Marginalia or another annotation tool) or of a
          Marginalia JSON export. Each passage is looked for in this article; threads already here are not added twice.
        </p>
        <label htmlFor={ids.file}>File</label>
        <input
          ref={input}
          id={ids.file}
          type="file"
          accept=".jsonld,.json,application/ld+json,application/json"
          aria-describedby={ids.about}
          disabled={busy}
          onChange={(e) => void choose(e)}
        />
        {file && (
          <p className="import-file small" data-import-file>
            <span className="import-file-name">{file.name}</span> · {formatSize(file.size)} · {file.summary}
          </p>
        )}
        {file && (
          <>
            <label htmlFor={ids.format}>Read it as</label>
            <select
              id={ids.format}
              value={format}
              disabled={busy || result !== null}
              onChange={(e) => setFormat(e.target.value as AnnotationImportFormat)}
            >
              {(Object.keys(FORMAT_LABELS) as AnnotationImportFormat[]).map((f) => (
                <option key={f} value={f}>
                  {FORMAT_LABELS[f]}
                  {file.detected === f ? ' (detected)' : ''}
                </option>
              ))}
            </select>
          </>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {result && <Report result={result} />}
        <div className="dialog-actions">
          {result ? (
            <>
              <button type="button" onClick={another}>
                Import another file
              </button>
              <button type="button" className="primary" onClick={onClose} autoFocus>
                Done
              </button>
            </>
          ) : (
            <>
              <button type="button" onClick={onClose}>
                Cancel
              </button>
              <button type="button" className="primary" disabled={busy || !file} onClick={() => void upload()}>
                {busy ? 'Importing…' : 'Import'}
              </button>
            </>
          )}
        </div>
      </div>
    </Dialog>
  );
}
