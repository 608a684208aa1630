/** The History menu: the version history, and (editors) uploading a new revision of the article. */
import { useEffect, useRef, useState } from 'react';

export function HistoryMenu({
  canEdit,
  onOpen,
}: {
  canEdit: boolean;
  onOpen: (dialog: 'history' | 'revision') => void;
}) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent | KeyboardEvent) => {
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !root.current?.contains(event.target as Node))
        setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  const choose = (dialog: 'history' | 'revision') => {
    setOpen(false);
    onOpen(dialog);
  };
  return (
    <div className="menu" ref={root}>
      <button type="button" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)}>
        History ▾
      </button>
      {open && (
        <div className="menu-popup" role="menu" aria-label="History">
          <button type="button" role="menuitem" onClick={() => choose('history')}>
            <span>Version history</span>
            <span className="hint">see, compare, restore</span>
          </button>
          {canEdit && (
            <button type="button" role="menuitem" onClick={() => choose('revision')}>
              <span>Upload new revision</span>
              <span className="hint">keeps the threads</span>
            </button>
          )}
        </div>
      )}
    </div>
  );
}
