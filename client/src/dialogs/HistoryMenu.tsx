/** The History menu: the version history, and (editors) uploading a new revision of the article. */
import { useState } from 'react';
import { useDismiss } from '../ui/useDismiss';

export function HistoryMenu({
  canEdit,
  onOpen,
}: {
  canEdit: boolean;
  onOpen: (dialog: 'history' | 'revision') => void;
}) {
  const [open, setOpen] = useState(false);
  const root = useDismiss(open, () => setOpen(false));

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
