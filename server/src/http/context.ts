/** What the HTTP routes share: configuration, storage, tokens, loaded documents, and the caller helpers. */
import type { Request, Response, NextFunction } from 'express';
import type { Role } from '@marginalia/shared';
import { ROLE_RANK } from '@marginalia/shared';
import type { Config } from '../config.js';
import type { SharedLimits } from '../shared-limits.js';
import type { AccessState } from '../auth/access-state.js';
import type { Storage, DocumentRecord } from '../storage/types.js';
import { TokenError, type Principal, type Tokens, type VerifiedToken } from '../auth/tokens.js';
import type { DocumentRegistry } from '../collab/registry.js';
import type { CollabEndpoint } from '../collab/endpoint.js';
import { DOC_ID, roleFor } from '../access.js';
import { SESSION_COOKIE, readCookie } from '../auth/cookies.js';
import { HttpError, forbidden, notFound, unauthorized } from './errors.js';

export interface AppContext {
  config: Config;
  storage: Storage;
  tokens: Tokens;
  registry: DocumentRegistry;
  /** Sign-outs, disabled accounts and membership changes, shared by every instance (auth/access-state.ts). */
  access: AccessState;
  /** First 8 hex digits of the SHA-256 of the token signing key: instances that disagree show it (health). */
  signingKeyFingerprint: string;
  /** Failed sign-ins per username and per IP address, and connections per address, across instances. */
  limits: SharedLimits;
  /** Set once the WebSocket endpoint is attached (after the HTTP server exists). */
  collab: CollabEndpoint | null;
  /** Scale-out over Redis, when REDIS_URL is set. */
  replicator: { readonly healthy: boolean } | null;
  /** Set on SIGTERM: readiness answers 503 so that load balancers stop sending, then the server stops. */
  draining: boolean;
}

/** Who a token names, or why it is refused: expired, invalid, signed out, or an account disabled. */
export async function tokenPrincipal(
  ctx: AppContext,
  token: string,
): Promise<{ principal: VerifiedToken } | { refused: string }> {
  let principal: VerifiedToken;
  try {
    principal = await ctx.tokens.verify(token);
  } catch (e) {
    return {
      refused: e instanceof TokenError && e.reason === 'expired' ? 'token expired; sign in again' : 'invalid token',
    };
  }
  const refused = ctx.access.refuses(principal);
  return refused ? { refused } : { principal };
}

/** Reads the bearer token (if any) into res.locals.principal; a bad token is a 401 even on public routes. */
export function authenticate(ctx: AppContext) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    let token: string | null;
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m) return next(unauthorized('Authorization header must be "Bearer <token>"'));
      token = m[1]!;
    } else {
      token = readCookie(req, SESSION_COOKIE);
      if (!token) return next();
    }
    const verified = await tokenPrincipal(ctx, token);
    if ('refused' in verified) return next(unauthorized(verified.refused));
    const p = verified.principal;
    res.locals.principal = p;
    res.locals.tokenId = p.jti;
    res.locals.tokenExpiry = p.exp;
    next();
  };
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw unauthorized();
  return p;
}

/** The document and the caller's role on it, or 404 / 403 (at least `min`). */
export async function documentAccess(
  ctx: AppContext,
  res: Response,
  id: string | undefined,
  min: Role = 'viewer',
): Promise<{ record: DocumentRecord; role: Role; principal: Principal }> {
  const principal = principalOf(res);
  if (!id || !DOC_ID.test(id)) throw notFound('no such document');
  const record = await ctx.storage.getDocument(id);
  if (!record) throw notFound('no such document');
  const role = await roleFor(ctx.storage, principal, record);
  if (!role) throw forbidden('no access to this document');
  if (ROLE_RANK[role] < ROLE_RANK[min]) throw forbidden(`this needs the ${min} role; you are ${role}`);
  return { record, role, principal };
}

export function requireAdmin(res: Response): Principal {
  const p = principalOf(res);
  if (!p.admin) throw new HttpError(403, 'administrators only');
  return p;
}
