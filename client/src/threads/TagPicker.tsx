import { useId } from 'react';
import type { TagDefinition, Thread } from '@marginalia/shared';
import { useDocument } from '../views/document/DocumentContext';

/** Tags of one thread, chosen from the document's vocabulary. */
export function TagPicker({
  thread,
  vocabulary,
  onClose,
}: {
  thread: Thread;
  vocabulary: Readonly<Record<string, TagDefinition>>;
  onClose: () => void;
}) {
  const { actions } = useDocument();
  const id = useId();
  const names = [...new Set([...Object.keys(vocabulary), ...thread.tags])].sort((a, b) => a.localeCompare(b));
  return (
    <fieldset className="tag-picker" aria-labelledby={id} onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <legend id={id}>Tags</legend>
      {names.length === 0 && (
        <p className="muted small">This document has no tags yet. Editors can add some under “Tags”.</p>
      )}
      {names.map((tag) => (
        <label key={tag} className="tag-option">
          <input
            type="checkbox"
            checked={thread.tags.includes(tag)}
            onChange={(e) => actions.setThreadTag(thread.id, thread.tags, tag, e.target.checked)}
          />
          <span className="swatch" style={{ background: vocabulary[tag]?.color ?? '#8a8a8a' }} aria-hidden="true" />
          {tag}
        </label>
      ))}
      <button type="button" className="link" onClick={onClose}>
        Done
      </button>
    </fieldset>
  );
}
