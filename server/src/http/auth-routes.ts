/** Sign-in (password or guest), the current user, sign-out, and user accounts (admin). */
import { Router } from 'express';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { StorageError } from '../storage/types.js';
import { HttpError, parseBody, unauthorized } from './errors.js';
import { principalOf, requireAdmin, type AppContext } from './context.js';
import type { Principal } from '../auth/tokens.js';

export const USERNAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

const LoginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
const GuestBody = z.object({ name: z.string().trim().min(1, 'a name is required').max(60) });
const NewUserBody = z.object({
  username: z
    .string()
    .trim()
    .toLowerCase()
    .regex(USERNAME, 'letters, digits, "_", "." or "-" (at most 64), starting with a letter or digit'),
  password: z.string().min(8, 'at least 8 characters').max(1024),
  name: z.string().trim().min(1).max(100),
  admin: z.boolean().optional(),
});

const publicUser = (p: Principal) => ({ id: p.id, username: p.username, name: p.name, guest: p.guest, admin: p.admin });

export function authRoutes(ctx: AppContext): Router {
  const r = Router();

  r.post('/auth/login', async (req, res) => {
    const body = parseBody(LoginBody, req.body);
    const user = await ctx.storage.getUserByUsername(body.username.trim().toLowerCase());
    if (!user || !(await verifyPassword(body.password, user.passwordHash))) {
      throw unauthorized('wrong username or password');
    }
    const principal: Principal = { id: user.id, username: user.username, name: user.name, guest: false, admin: user.isAdmin };
    const { token, expiresAt } = await ctx.tokens.issue(principal);
    res.json({ token, expiresAt, user: publicUser(principal) });
  });

  r.post('/auth/guest', async (req, res) => {
    const body = parseBody(GuestBody, req.body);
    const principal: Principal = { id: `guest:${randomUUID()}`, username: 'guest', name: body.name, guest: true, admin: false };
    const { token, expiresAt } = await ctx.tokens.issue(principal);
    res.json({ token, expiresAt, user: publicUser(principal) });
  });

  r.get('/auth/me', (_req, res) => {
    res.json({ user: publicUser(principalOf(res)), expiresAt: res.locals.tokenExpiry });
  });

  /** A fresh token for a valid one (the old one stays valid until it expires). */
  r.post('/auth/refresh', async (_req, res) => {
    const p = principalOf(res);
    const { token, expiresAt } = await ctx.tokens.issue(p);
    res.json({ token, expiresAt, user: publicUser(p) });
  });

  r.post('/auth/logout', (_req, res) => {
    principalOf(res);
    ctx.revoked.set(res.locals.tokenId as string, res.locals.tokenExpiry as number);
    res.status(204).end();
  });

  r.post('/users', async (req, res) => {
    requireAdmin(res);
    const body = parseBody(NewUserBody, req.body);
    const user = {
      id: randomUUID(),
      username: body.username,
      name: body.name,
      passwordHash: await hashPassword(body.password),
      isAdmin: body.admin ?? false,
      createdAt: Date.now(),
    };
    try {
      await ctx.storage.createUser(user);
    } catch (e) {
      if (e instanceof StorageError && e.code === 'conflict') throw new HttpError(409, `username "${body.username}" is taken`);
      throw e;
    }
    res.status(201).json({ id: user.id, username: user.username, name: user.name });
  });

  return r;
}
