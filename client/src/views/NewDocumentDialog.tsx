import { useId, useMemo, useState, type ChangeEvent, type FormEvent } from 'react';
import type { Role } from '@marginalia/shared';
import { api, type ImportFormat } from '../app/api';
import { Dialog } from '../ui/Dialog';

const MAX_BYTES = 5 * 1024 * 1024;

function formatOf(fileName: string): ImportFormat {
  if (/\.(md|markdown)$/i.test(fileName)) return 'markdown';
  if (/\.html?$/i.test(fileName)) return 'html';
  return 'text';
}

/** The first paragraphs as plain text. HTML is parsed inertly (DOMParser runs no scripts) and shown as text. */
function previewParagraphs(content: string, format: ImportFormat): string[] {
  let text = content;
  if (format === 'html') text = new DOMParser().parseFromString(content, 'text/html').body.innerText ?? '';
  if (format === 'markdown') text = text.replace(/^#{1,6}\s+/gm, '').replace(/[*_`]/g, '');
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .slice(0, 3);
}

function titleFrom(content: string, format: ImportFormat, fileName: string | null): string {
  if (format === 'markdown') {
    const heading = /^#\s+(.+)$/m.exec(content);
    if (heading) return heading[1]!.trim();
  }
  if (format === 'html') {
    const doc = new DOMParser().parseFromString(content, 'text/html');
    const title = doc.querySelector('title, h1')?.textContent?.trim();
    if (title) return title;
  }
  if (fileName) return fileName.replace(/\.[^.]+$/, '');
  return content.trim().split('\n')[0]?.slice(0, 80) ?? '';
}

export function NewDocumentDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (id: string) => void }) {
  const [title, setTitle] = useState('');
  const [titleTouched, setTitleTouched] = useState(false);
  const [content, setContent] = useState('');
  const [format, setFormat] = useState<ImportFormat>('text');
  const [fileName, setFileName] = useState<string | null>(null);
  const [guestRole, setGuestRole] = useState<'' | Role>('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { title: useId(), content: useId(), file: useId(), format: useId(), guests: useId() };

  const preview = useMemo(() => previewParagraphs(content, format), [content, format]);
  const effectiveTitle = titleTouched ? title : title || titleFrom(content, format, fileName);

  async function onFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    if (!file) return;
    if (file.size > MAX_BYTES) {
      setError('That file is larger than 5 MB.');
      return;
    }
    setError(null);
    setFileName(file.name);
    setFormat(formatOf(file.name));
    setContent(await file.text());
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!effectiveTitle.trim() || !content.trim()) {
      setError('Give the document a title and some text.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { id } = await api.createDocument({
        title: effectiveTitle.trim(),
        format,
        content,
        ...(guestRole ? { guestRole } : {}),
      });
      onCreated(id);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  }

  return (
    <Dialog title="New document" onClose={onClose} wide>
      <form className="new-doc" onSubmit={submit}>
        <label htmlFor={ids.title}>Title</label>
        <input
          id={ids.title}
          value={effectiveTitle}
          required
          maxLength={200}
          onChange={(e) => {
            setTitle(e.target.value);
            setTitleTouched(true);
          }}
        />
        <div className="row">
          <div className="grow">
            <label htmlFor={ids.file}>Upload a file</label>
            <input
              id={ids.file}
              type="file"
              accept=".txt,.md,.markdown,.html,.htm,text/plain,text/markdown,text/html"
              onChange={(e) => void onFile(e)}
            />
          </div>
          <div>
            <label htmlFor={ids.format}>Format</label>
            <select id={ids.format} value={format} onChange={(e) => setFormat(e.target.value as ImportFormat)}>
              <option value="text">Plain text</option>
              <option value="markdown">Markdown</option>
              <option value="html">HTML</option>
            </select>
          </div>
          <div>
            <label htmlFor={ids.guests}>Guests</label>
            <select id={ids.guests} value={guestRole} onChange={(e) => setGuestRole(e.target.value as '' | Role)}>
              <option value="">No guest access</option>
              <option value="viewer">Guests may read</option>
              <option value="commenter">Guests may comment</option>
            </select>
          </div>
        </div>
        <label htmlFor={ids.content}>…or paste the text</label>
        <textarea
          id={ids.content}
          rows={8}
          value={content}
          onChange={(e) => {
            setContent(e.target.value);
            setFileName(null);
          }}
          placeholder="Paste the article here"
        />
        {preview.length > 0 && (
          <section className="preview" aria-label="Preview">
            <h3>Preview</h3>
            {preview.map((p, i) => (
              <p key={i}>{p.length > 400 ? `${p.slice(0, 400)}…` : p}</p>
            ))}
          </section>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create document'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
