/**
 * An extension that records every refused update in the document's audit log (and the server log): who sent
 * it, which rule it broke, and how large it was.
 */
import type { Storage } from '../storage/types.js';
import type { Extension } from './hooks.js';

export function refusalAudit(storage: Storage): Extension {
  return {
    onRefused(connection, rule, bytes) {
      const docId = connection.live.id;
      connection.log.warn('update refused', { user: connection.principal.id, rule });
      void storage
        .audit({
          docId,
          actorId: connection.principal.id,
          action: 'update.rejected',
          detail: { rule, bytes, role: connection.role },
        })
        .catch((err: Error) => connection.log.error('audit write failed', { error: err.message }));
    },
  };
}
