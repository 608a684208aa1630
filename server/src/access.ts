/** A caller's role on a document: membership, else the document's guest role; admins own everything. */
import type { Role } from '@marginalia/shared';
import type { Principal } from './auth/tokens.js';
import type { DocumentRecord, Storage } from './storage/types.js';

export async function roleFor(storage: Storage, principal: Principal, doc: DocumentRecord): Promise<Role | null> {
  if (principal.admin) return 'owner';
  if (!principal.guest) {
    const member = await storage.getMemberRole(doc.id, principal.id);
    if (member) return member;
  }
  return doc.guestRole;
}

export const DOC_ID = /^[A-Za-z0-9_-]{1,64}$/;
