import { useId } from 'react';
import { setThreadTags, type TagDefinition, type Thread } from '@marginalia/shared';
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
  const { session } = useDocument();
  const id = useId();
  const names = [...new Set([...Object.keys(vocabulary), ...thread.tags])].sort((a, b) => a.localeCompare(b));
  function toggle(tag: string, on: boolean) {
    const tags = on ? [...thread.tags, tag] : thread.tags.filter((t) => t !== tag);
    setThreadTags(session.doc, thread.id, tags);
    session.tracker.markThread(thread.id);
  }
  return (
    <fieldset className="tag-picker" aria-labelledby={id} onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <legend id={id}>Tags</legend>
      {names.length === 0 && (
        <p className="muted small">This document has no tags yet. Editors can add some under “Tags”.</p>
      )}
      {names.map((tag) => (
        <label key={tag} className="tag-option">
          <input type="checkbox" checked={thread.tags.includes(tag)} onChange={(e) => toggle(tag, e.target.checked)} />
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
