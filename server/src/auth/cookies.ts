/**
 * The web UI's session cookie: the same signed token as the bearer token, HttpOnly (scripts cannot read it),
 * SameSite=Lax (not sent on cross-site subrequests), Secure when served over HTTPS. State-changing requests
 * and WebSocket upgrades from browsers are also checked against ALLOWED_ORIGINS.
 */
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';

export const SESSION_COOKIE = 'marginalia_session';

export function readCookie(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function setSessionCookie(req: Request, res: Response, token: string, expiresAt: number): void {
  res.cookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.secure,
    path: '/',
    expires: new Date(expiresAt),
  });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' });
}
