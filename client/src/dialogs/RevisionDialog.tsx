/**
 * Upload a new revision of the article (editors): the server edits only what changed, so threads on unchanged
 * passages stay where they are. Before confirming, a dry run shows how many threads stay exact, move, or become
 * orphans (PUT /api/documents/:id/article?dryRun=true).
 */
import { useId, useState, type ChangeEvent } from 'react';
import { api, type AnchorCounts, type ImportFormat } from '../app/api';
import { Dialog } from '../ui/Dialog';
import { plural } from '../ui/format';
import { useDocument } from '../views/document/DocumentContext';

const EXTENSIONS: Record<string, ImportFormat> = { txt: 'text', md: 'markdown', markdown: 'markdown', html: 'html' };

export function RevisionDialog({ onClose }: { onClose: () => void }) {
  const { docId } = useDocument();
  const [format, setFormat] = useState<ImportFormat>('text');
  const [content, setContent] = useState('');
  const [preview, setPreview] = useState<AnchorCounts | null>(null);
  const [done, setDone] = useState<AnchorCounts | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { file: useId(), format: useId(), content: useId() };

  const changed = (next: { format?: ImportFormat; content?: string }) => {
    if (next.format) setFormat(next.format);
    if (next.content !== undefined) setContent(next.content);
    setPreview(null);
    setDone(null);
  };

  async function readFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    if (!file) return;
    const ext = file.name.split('.').pop()?.toLowerCase() ?? '';
    changed({ content: await file.text(), ...(EXTENSIONS[ext] ? { format: EXTENSIONS[ext] } : {}) });
  }

  async function run(dryRun: boolean) {
    setBusy(true);
    setError(null);
    try {
      const r = await api.reviseArticle(docId, { format, content }, dryRun);
      if (dryRun) setPreview(r.anchors);
      else setDone(r.anchors);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const counts = done ?? preview;
  return (
    <Dialog title="Upload new revision" onClose={onClose} wide>
      <div className="revision">
        <p className="muted small">
          Only the passages that changed are edited: threads on the rest stay exactly where they are. The article as it
          is now is kept in the history.
        </p>
        <div className="row">
          <div>
            <label htmlFor={ids.file}>File</label>
            <input
              id={ids.file}
              type="file"
              accept=".txt,.md,.markdown,.html,.htm"
              onChange={(e) => void readFile(e)}
            />
          </div>
          <div>
            <label htmlFor={ids.format}>Format</label>
            <select
              id={ids.format}
              value={format}
              onChange={(e) => changed({ format: e.target.value as ImportFormat })}
            >
              <option value="text">Plain text</option>
              <option value="markdown">Markdown</option>
              <option value="html">HTML</option>
            </select>
          </div>
        </div>
        <label htmlFor={ids.content}>New text</label>
        <textarea
          id={ids.content}
          rows={8}
          value={content}
          onChange={(e) => changed({ content: e.target.value })}
          placeholder="Paste the new revision, or choose a file"
        />
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {counts && (
          <p className="revision-preview" role="status" data-revision-preview>
            {done ? 'Applied. ' : 'If applied: '}
            <strong>{plural(counts.exact, 'thread')}</strong> {counts.exact === 1 ? 'stays' : 'stay'} exact,{' '}
            <strong>{counts.moved}</strong> {counts.moved === 1 ? 'moves' : 'move'}, <strong>{counts.orphaned}</strong>{' '}
            {counts.orphaned === 1 ? 'becomes an orphan' : 'become orphans'}.
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            {done ? 'Close' : 'Cancel'}
          </button>
          {!done && (
            <button type="button" disabled={busy || !content.trim()} onClick={() => void run(true)}>
              Preview
            </button>
          )}
          {!done && (
            <button type="button" className="primary" disabled={busy || !preview} onClick={() => void run(false)}>
              Apply revision
            </button>
          )}
        </div>
      </div>
    </Dialog>
  );
}
