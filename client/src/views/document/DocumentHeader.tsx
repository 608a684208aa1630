import { useState } from 'react';
import { followLink } from '../../app/router';
import { signOut } from '../../app/session';
import { ExportMenu } from '../../dialogs/ExportMenu';
import { MembersDialog } from '../../dialogs/MembersDialog';
import { VocabularyDialog } from '../../dialogs/VocabularyDialog';
import { ConnectionStatus } from './ConnectionStatus';
import { PresenceAvatars } from './PresenceAvatars';
import { roleLabel } from '../../ui/format';
import { useAnnotations, useDocument } from './DocumentContext';

export function DocumentHeader({ offline }: { offline: boolean }) {
  const { info, permissions, user } = useDocument();
  const { title } = useAnnotations();
  const [dialog, setDialog] = useState<'members' | 'tags' | null>(null);
  return (
    <header className="doc-header">
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
      <div className="doc-actions">
        {permissions.canEdit && (
          <button type="button" onClick={() => setDialog('tags')}>
            Tags
          </button>
        )}
        {permissions.isOwner && (
          <button type="button" onClick={() => setDialog('members')}>
            Members
          </button>
        )}
        <ExportMenu />
        <button type="button" className="link" onClick={() => void signOut()} title={`Signed in as ${user.name}`}>
          Sign out
        </button>
      </div>
      {dialog === 'members' && <MembersDialog onClose={() => setDialog(null)} />}
      {dialog === 'tags' && <VocabularyDialog onClose={() => setDialog(null)} />}
    </header>
  );
}
