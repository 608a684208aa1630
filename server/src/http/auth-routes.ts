/** Sign-in (password or guest), the current user, sign-out, and user accounts (admin). */
import { Router, type Request, type Response } from 'express';
import { clearSessionCookie, setSessionCookie } from '../auth/cookies.js';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { StorageError } from '../storage/types.js';
import { HttpError, parseBody, unauthorized } from './errors.js';
import { principalOf, requireAdmin, type AppContext } from './context.js';
import type { Principal } from '../auth/tokens.js';
import { metrics } from '../metrics.js';
import { route } from './api-spec.js';
import * as A from './api-answers.js';

export const USERNAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** cookieOnly: the answer carries no token, only the session cookie (the web app: no script ever sees one). */
const CookieOnly = z.boolean().optional();
const LoginBody = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
  cookieOnly: CookieOnly,
});
const GuestBody = z.object({ name: z.string().trim().min(1, 'a name is required').max(60), cookieOnly: CookieOnly });
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

const UserPatchBody = z.object({ disabled: z.boolean() }).strict();
const PasswordBody = z
  .object({
    currentPassword: z.string().min(1).max(1024),
    newPassword: z.string().min(8, 'at least 8 characters').max(1024),
  })
  .strict();
const T = 'accounts';

const publicUser = (p: Principal) => ({ id: p.id, username: p.username, name: p.name, guest: p.guest, admin: p.admin });

/** Names compared as people read them: case, accents' composition and runs of spaces aside. */
const sameName = (name: string) => name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * Whether a guest's chosen name is the display name (or username) of a member of a document guests can open:
 * a guest must never pass as a member there.
 */
async function memberNameTaken(ctx: AppContext, name: string): Promise<boolean> {
  const wanted = sameName(name);
  const members = await ctx.storage.memberNamesOnGuestDocuments();
  return members.some((m) => sameName(m.name) === wanted || sameName(m.username) === wanted);
}

export function authRoutes(ctx: AppContext): Router {
  const r = Router();

  /**
   * Issues a token, sets the session cookie, answers `{ token, expiresAt, user }` — without `token` when
   * `cookieOnly` (a refresh by cookie: the web app's credential stays out of reach of the page's scripts).
   */
  async function signIn(req: Request, res: Response, principal: Principal, cookieOnly = false) {
    const { token, expiresAt } = await ctx.tokens.issue(principal);
    setSessionCookie(req, res, token, expiresAt);
    const user = publicUser(principal);
    res.json(cookieOnly ? { expiresAt, user } : { token, expiresAt, user });
  }

  route(
    r,
    'post',
    '/auth/login',
    {
      tag: T,
      summary: 'Sign in with a password: a token and the session cookie',
      access: 'anyone',
      body: LoginBody,
      responses: { 200: { description: 'signed in', schema: A.Session } },
      errors: {
        401: 'wrong username or password',
        403: 'this account is disabled',
        429: 'too many failed sign-ins; Retry-After says when to try again',
      },
    },
    async (req, res) => {
      const body = parseBody(LoginBody, req.body);
      const username = body.username.trim().toLowerCase();
      const ip = req.ip ?? 'unknown';
      const { loginByUser: byUser, loginByIp: byIp } = ctx.limits;
      const wait = Math.max(await byUser.blockedFor(username), await byIp.blockedFor(ip));
      if (wait > 0) {
        res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
        throw new HttpError(429, `too many failed sign-ins; try again in ${Math.ceil(wait / 60000)} minute(s)`);
      }
      const user = await ctx.storage.getUserByUsername(username);
      if (!user || !(await verifyPassword(body.password, user.passwordHash))) {
        await Promise.all([byUser.fail(username), byIp.fail(ip)]);
        metrics.loginFailures.inc();
        throw unauthorized('wrong username or password');
      }
      await byUser.reset(username);
      if (user.disabled) throw new HttpError(403, 'this account is disabled; ask an administrator');
      await signIn(
        req,
        res,
        { id: user.id, username: user.username, name: user.name, guest: false, admin: user.isAdmin },
        body.cookieOnly,
      );
    },
  );

  route(
    r,
    'post',
    '/auth/guest',
    {
      tag: T,
      summary: 'Sign in as a guest under a name',
      access: 'anyone',
      body: GuestBody,
      responses: { 200: { description: 'signed in', schema: A.Session } },
      errors: { 409: 'the name belongs to a member of a document open to guests' },
    },
    async (req, res) => {
      const body = parseBody(GuestBody, req.body);
      if (await memberNameTaken(ctx, body.name)) {
        throw new HttpError(409, 'that name belongs to a member of a document open to guests: choose another');
      }
      await signIn(
        req,
        res,
        { id: `guest:${randomUUID()}`, username: 'guest', name: body.name, guest: true, admin: false },
        body.cookieOnly,
      );
    },
  );

  route(
    r,
    'get',
    '/auth/me',
    {
      tag: T,
      summary: 'Who the caller is',
      access: 'signed-in',
      responses: { 200: { description: 'the caller', schema: A.Me } },
    },
    (_req, res) => {
      res.json({ user: publicUser(principalOf(res)), expiresAt: res.locals.tokenExpiry });
    },
  );

  /** A fresh token for a valid one (the old one stays valid until it expires); by cookie, only the cookie. */
  route(
    r,
    'post',
    '/auth/refresh',
    {
      tag: T,
      summary: 'A fresh token (by cookie: only the cookie is renewed, no token in the answer)',
      access: 'signed-in',
      responses: { 200: { description: 'renewed', schema: A.Session } },
    },
    async (req, res) => {
      const p = principalOf(res);
      const byCookie = !req.headers.authorization;
      await signIn(
        req,
        res,
        { id: p.id, username: p.username, name: p.name, guest: p.guest, admin: p.admin },
        byCookie,
      );
    },
  );

  /** Signs the token out on every instance: REST answers 401 and its sockets close 4401 (auth/access-state.ts). */
  route(
    r,
    'post',
    '/auth/logout',
    {
      tag: T,
      summary: 'Sign the token out on every instance and clear the cookie',
      access: 'signed-in',
      responses: { 204: { description: 'signed out' } },
    },
    async (req, res) => {
      const p = principalOf(res);
      await ctx.access.revoke(res.locals.tokenId as string, p.id, res.locals.tokenExpiry as number);
      clearSessionCookie(req, res);
      res.status(204).end();
    },
  );

  /**
   * Changes the caller's password: every token of theirs issued before (other browsers, API scripts, a stolen one)
   * is signed out on every instance, like a sign-out; the caller gets a fresh session in the answer.
   */
  route(
    r,
    'post',
    '/auth/password',
    {
      tag: T,
      summary: "Change one's password: all earlier tokens are signed out everywhere, a fresh session is answered",
      access: 'signed-in',
      body: PasswordBody,
      responses: { 200: { description: 'changed; a fresh session', schema: A.Session } },
      errors: {
        403: 'wrong current password, or a guest (no password)',
        429: 'too many failed sign-ins; Retry-After says when to try again',
      },
    },
    async (req, res) => {
      const p = principalOf(res);
      const body = parseBody(PasswordBody, req.body);
      if (p.guest) throw new HttpError(403, 'guests have no password');
      const user = await ctx.storage.getUserById(p.id);
      if (!user) throw unauthorized('no such account');
      // A wrong current password counts as a failed sign-in (a stolen token must not help guess the password).
      const byUser = ctx.limits.loginByUser;
      const wait = await byUser.blockedFor(user.username);
      if (wait > 0) {
        res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
        throw new HttpError(429, `too many failed sign-ins; try again in ${Math.ceil(wait / 60000)} minute(s)`);
      }
      if (!(await verifyPassword(body.currentPassword, user.passwordHash))) {
        await byUser.fail(user.username);
        metrics.loginFailures.inc();
        throw new HttpError(403, 'wrong current password');
      }
      await ctx.storage.setPassword(user.id, await hashPassword(body.newPassword));
      await ctx.storage.audit({
        docId: null,
        actorId: user.id,
        action: 'user.password',
        detail: { username: user.username },
      });
      await ctx.access.revokeUser(user.id);
      const byCookie = !req.headers.authorization;
      await signIn(
        req,
        res,
        { id: user.id, username: user.username, name: user.name, guest: false, admin: user.isAdmin },
        byCookie,
      );
    },
  );

  route(
    r,
    'post',
    '/users',
    {
      tag: T,
      summary: 'Create an account',
      access: 'admin',
      body: NewUserBody,
      responses: { 201: { description: 'created', schema: A.CreatedUser } },
      errors: { 409: 'username taken' },
    },
    async (req, res) => {
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
        if (e instanceof StorageError && e.code === 'conflict')
          throw new HttpError(409, `username "${body.username}" is taken`);
        throw e;
      }
      res.status(201).json({ id: user.id, username: user.username, name: user.name });
    },
  );

  /** Disables (or re-enables) an account: its tokens and sockets stop on every instance (admin). */
  route(
    r,
    'patch',
    '/users/:username',
    {
      tag: T,
      summary: 'Disable or re-enable an account',
      access: 'admin',
      body: UserPatchBody,
      responses: { 200: { description: 'the account', schema: A.UserState } },
      errors: { 404: 'no such user', 409: 'an administrator disabling their own account' },
    },
    async (req, res) => {
      const admin = requireAdmin(res);
      const body = parseBody(UserPatchBody, req.body);
      const user = await ctx.storage.getUserByUsername(String(req.params.username).toLowerCase());
      if (!user) throw new HttpError(404, `no user "${req.params.username}"`);
      if (body.disabled && user.id === admin.id) throw new HttpError(409, 'you cannot disable your own account');
      await ctx.storage.setUserDisabled(user.id, body.disabled);
      await ctx.storage.audit({
        docId: null,
        actorId: admin.id,
        action: body.disabled ? 'user.disabled' : 'user.enabled',
        detail: { username: user.username },
      });
      await ctx.access.userChanged(user.id, body.disabled);
      res.json({ id: user.id, username: user.username, name: user.name, disabled: body.disabled });
    },
  );

  return r;
}
