/** A caller's role on a document: membership, else the document's guest role; admins own everything. */
import type { Role } from '@marginalia/shared';
import type { Principal } from './auth/tokens.js';
import type { DocumentRecord, Storage } from './storage/types.js';
import { CLOSE } from './collab/protocol.js';
import type { AccessEvent } from './auth/access-state.js';
import { log } from './log.js';

export async function roleFor(storage: Storage, principal: Principal, doc: DocumentRecord): Promise<Role | null> {
  if (principal.admin) return 'owner';
  if (!principal.guest) {
    const member = await storage.getMemberRole(doc.id, principal.id);
    if (member) return member;
  }
  return doc.guestRole;
}

export const DOC_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A token's verdict on a document now: the role it may act with, or the close code and reason that refuse it. */
export type AccessDecision = { role: Role } | { refused: number; reason: string };

/** What else refuses a valid token (a sign-out, a disabled account: auth/access-state.ts). */
export interface TokenRefusals {
  /** `iat`: when the token was issued (ms); a token without it counts as issued before any sign-out. */
  refuses(principal: Principal & { jti: string; iat?: number }): string | null;
}

/**
 * Decides what a token may do on a document at this moment, from the database (one query) and the shared
 * revocations: expired, revoked or disabled -> 4401; gone -> 4404; no role -> 4403.
 */
export async function decideAccess(
  storage: Storage,
  refusals: TokenRefusals | null,
  principal: Principal & { jti: string; exp: number; iat?: number },
  docId: string,
): Promise<AccessDecision> {
  if (principal.exp <= Date.now()) return { refused: CLOSE.unauthorized, reason: 'token expired; sign in again' };
  const refused = refusals?.refuses(principal);
  if (refused) return { refused: CLOSE.unauthorized, reason: refused };
  const a = await storage.accessOf(docId, principal.guest ? null : principal.id);
  if (!a.exists) return { refused: CLOSE.notFound, reason: 'no such document' };
  if (a.disabled) return { refused: CLOSE.unauthorized, reason: 'this account is disabled' };
  const role = principal.admin ? 'owner' : (a.memberRole ?? a.guestRole);
  return role ? { role } : { refused: CLOSE.forbidden, reason: 'no access to this document' };
}

/** What `enforceAccess` needs of an open socket (collab/connection.ts). */
export interface OpenSocket {
  readonly live: { readonly id: string };
  readonly principal: Principal & { jti?: string; exp?: number; iat?: number };
  role: Role;
  setRole(role: Role): void;
  close(code: number, reason: string): void;
}

/**
 * What a socket admitted with `role` gets when its access is decided again: the close an access change calls for
 * (4401/4403/4404 refused, 4000 role changed: reconnect with it), or null when it keeps its access as it is.
 */
export function closeFor(decided: AccessDecision, role: Role): { code: number; reason: string } | null {
  if ('refused' in decided)
    return {
      code: decided.refused,
      reason: decided.refused === CLOSE.forbidden ? 'your access was removed' : decided.reason,
    };
  if (decided.role !== role) return { code: CLOSE.roleChanged, reason: 'your role changed; reconnecting' };
  return null;
}

/**
 * Applies an access change to this instance's open sockets: a signed-out token's (or all of a user's tokens
 * issued before a password change or their account's disabling) or a disabled account's close 4401; a member whose access is gone closes 4403; a changed role closes 4000 so that the client reconnects with
 * it (the socket admits nothing more under the old role meanwhile).
 */
export async function enforceAccess(
  sockets: Iterable<OpenSocket>,
  storage: Storage,
  refusals: TokenRefusals,
  event: AccessEvent,
): Promise<void> {
  const affected = [...sockets].filter((c) => {
    switch (event.kind) {
      case 'revoked':
        return c.principal.jti === event.jti;
      case 'revoked-user':
        return c.principal.id === event.userId;
      case 'user':
        return event.disabled && c.principal.id === event.userId;
      case 'members':
        return c.live.id === event.docId && (event.userId === null || c.principal.id === event.userId);
      case 'recheck':
        return true;
    }
  });
  // One decision per (document, user): several sockets of one person on one document share it.
  const decisions = new Map<string, Promise<AccessDecision>>();
  await Promise.all(
    affected.map(async (c) => {
      const principal = { ...c.principal, jti: c.principal.jti ?? '', exp: c.principal.exp ?? Infinity };
      const key = `${c.live.id}\n${principal.jti}`;
      let pending = decisions.get(key);
      if (!pending) decisions.set(key, (pending = decideAccess(storage, refusals, principal, c.live.id)));
      let decided: AccessDecision;
      try {
        decided = await pending;
      } catch (e) {
        // The database is unreachable: this socket's updates are refused until it returns (connection.ts).
        log.warn('access re-check failed', { doc: c.live.id, error: (e as Error).message });
        return;
      }
      const close = closeFor(decided, c.role);
      if (!close) return;
      if ('role' in decided) c.setRole(decided.role);
      c.close(close.code, close.reason);
    }),
  );
}
