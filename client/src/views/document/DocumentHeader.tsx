import { useRef, useState } from 'react';
import { useDismiss } from '../../ui/useDismiss';
import { followLink } from '../../app/router';
import { signOut } from '../../app/session';
import { ExportMenu } from '../../dialogs/ExportMenu';
import { HistoryDialog } from '../../dialogs/HistoryDialog';
import { HistoryMenu } from '../../dialogs/HistoryMenu';
import { ImportAnnotationsDialog } from '../../dialogs/ImportAnnotationsDialog';
import { MembersDialog } from '../../dialogs/MembersDialog';
import { RevisionDialog } from '../../dialogs/RevisionDialog';
import { VocabularyDialog } from '../../dialogs/VocabularyDialog';
import { ThemeToggle } from '../../ui/theme';
import { useNarrow } from '../../ui/useMediaQuery';
import { ConnectionStatus } from './ConnectionStatus';
import { PresenceAvatars } from './PresenceAvatars';
import { roleLabel } from '../../ui/format';
import { useAnnotations, useDocument } from './DocumentContext';
import { useUiState } from './uiStore';
import { NotificationBell } from '../../notifications/NotificationBell';
import { FollowToggle } from '../../notifications/FollowToggle';
import { isGuest } from '../../ui/format';

/**
 * The document's header: back, title and role, connection, who is here, and the actions. On a narrow screen
 * the actions collapse into a "Menu" button and a "Threads" button shows the threads panel.
 */
type Dialogs = 'members' | 'tags' | 'history' | 'revision' | 'import';

export function DocumentHeader({ offline }: { offline: boolean }) {
  const { info, permissions, user, ui, docId } = useDocument();
  const guest = isGuest(user.id);
  const { title, threads } = useAnnotations();
  const [dialog, setDialog] = useState<Dialogs | null>(null);
  const narrow = useNarrow();
  const [menuOpen, setMenuOpen] = useState(false);
  const sheetOpen = useUiState(ui, (s) => s.sheetOpen);
  // Escape inside the Export menu closes that one first.
  const menu = useDismiss(menuOpen, () => setMenuOpen(false), {
    focusOnEscape: '.menu-toggle',
    innerFirst: '[role="menu"]',
  });

  // The control a dialog was opened from, or the toggle of the menu it was in, for the focus to return to.
  const opener = useRef<HTMLElement | null>(null);
  const header = useRef<HTMLElement>(null);
  const openDialog = (which: Dialogs) => {
    const active = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    opener.current = active?.closest('.menu')?.querySelector<HTMLElement>(':scope > button') ?? active;
    setMenuOpen(false);
    setDialog(which);
  };
  const closeDialog = () => {
    setDialog(null);
    // Back to the control it was opened from; when that was a menu item, now gone, to its menu's toggle (on a
    // phone, the header's menu).
    requestAnimationFrame(() => {
      const back = opener.current?.isConnected
        ? opener.current
        : header.current?.querySelector<HTMLElement>('.menu-toggle');
      back?.focus();
    });
  };
  const actions = (
    <>
      {permissions.canEdit && (
        <button type="button" onClick={() => openDialog('tags')}>
          Tags
        </button>
      )}
      <HistoryMenu canEdit={permissions.canEdit} onOpen={openDialog} />
      {permissions.isOwner && (
        <button type="button" onClick={() => openDialog('members')}>
          Members
        </button>
      )}
      {!guest && <FollowToggle docId={docId} />}
      <ExportMenu onImport={permissions.canComment ? () => openDialog('import') : undefined} />
      <ThemeToggle />
      <button type="button" className="link" onClick={() => void signOut()} title={`Signed in as ${user.name}`}>
        Sign out
      </button>
    </>
  );

  return (
    <header className="doc-header" ref={header}>
      <a className="back" href="/" onClick={followLink} aria-label="Back to the library">
        ←
      </a>
      <div className="doc-title">
        <h1 title={title || info.title}>{title || info.title}</h1>
        <span className={`role role-${permissions.role}`} title="Your role in this document">
          {roleLabel(permissions.role)}
        </span>
        {offline && (
          <span className="chip subtle" title="Opened from this device's copy">
            local copy
          </span>
        )}
      </div>
      <ConnectionStatus />
      <PresenceAvatars />
      {!guest && <NotificationBell />}
      {narrow ? (
        <div className="doc-actions">
          <button
            type="button"
            aria-expanded={sheetOpen}
            aria-controls="threads-sheet"
            className="threads-toggle"
            onClick={() => ui.set({ sheetOpen: !sheetOpen })}
          >
            <span aria-hidden="true" className="phone-only">
              ❝
            </span>
            <span className="phone-hidden">Threads</span> <span className="count-badge">{threads.length}</span>
          </button>
          <div className="menu" ref={menu}>
            <button
              type="button"
              className="icon menu-toggle"
              aria-label="Menu"
              aria-haspopup="true"
              aria-expanded={menuOpen}
              onClick={() => setMenuOpen((o) => !o)}
            >
              <span aria-hidden="true">☰</span>
            </button>
            {menuOpen && (
              <div className="menu-popup header-menu" role="group" aria-label="Document actions">
                {actions}
              </div>
            )}
          </div>
        </div>
      ) : (
        <div className="doc-actions">{actions}</div>
      )}
      {dialog === 'members' && <MembersDialog onClose={closeDialog} />}
      {dialog === 'tags' && <VocabularyDialog onClose={closeDialog} />}
      {dialog === 'history' && <HistoryDialog onClose={closeDialog} />}
      {dialog === 'revision' && <RevisionDialog onClose={closeDialog} />}
      {dialog === 'import' && <ImportAnnotationsDialog onClose={closeDialog} />}
    </header>
  );
}
