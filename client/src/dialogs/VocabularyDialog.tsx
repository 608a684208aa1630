/** Vocabulary editor (editors, owners): the document's tags with their colours. */
import { useId, useState, type FormEvent } from 'react';
import type { TagDefinition } from '@marginalia/shared';
import type { Refusal } from '../views/document/actions';
import { Dialog } from '../ui/Dialog';
import { useAnnotations, useDocument } from '../views/document/DocumentContext';

const SUGGESTED = ['#e8b400', '#2f9e44', '#1c7ed6', '#e8590c', '#ae3ec9', '#e03131', '#0c8599', '#5c940d'];

function TagRow({ name, def }: { name: string; def: TagDefinition }) {
  const { actions } = useDocument();
  const [draftName, setDraftName] = useState(name);
  const [error, setError] = useState<string | null>(null);
  const attempt = (refusal: Refusal) => setError(refusal ?? null);
  return (
    <li className="vocab-row" data-tag={name}>
      <input
        type="color"
        aria-label={`Colour of ${name}`}
        value={def.color}
        onChange={(e) => attempt(actions.defineTag(name, { ...def, color: e.target.value }))}
      />
      <input
        aria-label={`Name of ${name}`}
        value={draftName}
        onChange={(e) => setDraftName(e.target.value)}
        onBlur={() =>
          draftName.trim() && draftName.trim() !== name && attempt(actions.renameTag(name, draftName.trim()))
        }
        onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
      />
      <input
        aria-label={`Description of ${name}`}
        placeholder="Description"
        value={def.description ?? ''}
        onChange={(e) => attempt(actions.defineTag(name, { color: def.color, description: e.target.value }))}
      />
      <button
        type="button"
        className="link danger"
        aria-label={`Remove tag ${name}`}
        onClick={() =>
          window.confirm(`Remove the tag “${name}” from the document and from every thread?`) &&
          attempt(actions.removeTag(name))
        }
      >
        Remove
      </button>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

export function VocabularyDialog({ onClose }: { onClose: () => void }) {
  const { actions } = useDocument();
  const { vocabulary } = useAnnotations();
  const names = Object.keys(vocabulary).sort((a, b) => a.localeCompare(b));
  const [name, setName] = useState('');
  const [color, setColor] = useState(SUGGESTED[names.length % SUGGESTED.length]!);
  const [error, setError] = useState<string | null>(null);
  const ids = { name: useId(), color: useId() };

  function add(event: FormEvent) {
    event.preventDefault();
    const tag = name.trim();
    if (!tag) return;
    if (vocabulary[tag]) {
      setError(`There is already a tag “${tag}”.`);
      return;
    }
    const refusal = actions.defineTag(tag, { color });
    if (refusal) return setError(refusal);
    setName('');
    setColor(SUGGESTED[(names.length + 1) % SUGGESTED.length]!);
    setError(null);
  }

  return (
    <Dialog title="Tags" onClose={onClose}>
      {names.length === 0 ? (
        <p className="muted">No tags yet.</p>
      ) : (
        <ul className="vocab-list">
          {names.map((n) => (
            <TagRow key={n} name={n} def={vocabulary[n]!} />
          ))}
        </ul>
      )}
      <form className="add-tag" onSubmit={add}>
        <label htmlFor={ids.name}>New tag</label>
        <div className="row">
          <input
            id={ids.color}
            type="color"
            aria-label="Colour"
            value={color}
            onChange={(e) => setColor(e.target.value)}
          />
          <input
            id={ids.name}
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. evidence"
            maxLength={40}
          />
          <button type="submit" className="primary">
            Add tag
          </button>
        </div>
      </form>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
