/**
 * The web app's session: the credential is the HttpOnly cookie only (nothing a page script can read holds a
 * token), and an open document outlives its token's expiry by refreshing ahead of it and reconnecting quietly.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser } from 'playwright-core';
import {
  browserAvailable,
  browserTest,
  commentOn,
  launchBrowser,
  newUserPage,
  openDocument,
  signIn,
  threadCard,
} from '../support/browser.js';
import { ADMIN, addMember, api, createDocument, login, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = [
  'The lighthouse keeper logged every ship that passed in a small green book.',
  'Nobody read the book until the lighthouse was automated, decades later.',
  'The last keeper kept the key to the lamp room on a nail by the door.',
].join('\n\n');
/** The share of a session's time after which the app refreshes it (client/src/app/session.ts). */
const REFRESH_AT = 0.75;
/** Seconds a token lives on this server: short, so that the test sees it run out. */
const TTL = 12;
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

describe('the web session', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer({ env: { MARGINALIA_TOKEN_TTL: String(TTL) } });
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Lighthouse' });
    await addMember(server, docId, 'kit', 'Kit Keeper', 'commenter');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest(
    'no token is readable by page scripts: localStorage keeps who is signed in, the cookie is HttpOnly',
    async () => {
      const user = await newUserPage(browser, server);
      // what the app's sign-in request is answered: the cookie, no token for a script to pick up
      const signInAnswers: string[] = [];
      user.page.on('response', (r) => {
        if (r.url().endsWith('/api/auth/login')) void r.text().then((t) => signInAnswers.push(t));
      });
      await signIn(user.page, 'kit', 'kit-password');
      await waitFor(() => signInAnswers.length > 0, { message: 'the sign-in answer' });
      expect(signInAnswers[0]).toMatch(/Kit Keeper/);
      expect(signInAnswers[0]).not.toMatch(JWT);
      const visible = await user.page.evaluate(() => ({
        storage: [localStorage, sessionStorage].flatMap((s) => Object.keys(s).map((k) => `${k}=${s.getItem(k)}`)),
        cookie: document.cookie,
      }));
      expect(visible.storage.join('\n')).not.toMatch(JWT);
      expect(visible.storage.join('\n')).toMatch(/Kit Keeper/);
      expect(visible.cookie).not.toMatch(JWT);
      const cookies = await user.context.cookies();
      expect(cookies.find((c) => c.name === 'marginalia_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
      // a refresh by cookie answers without a token
      const refreshed = await user.page.evaluate(async () => {
        const r = await fetch('/api/auth/refresh', { method: 'POST' });
        return { status: r.status, body: await r.text() };
      });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body).not.toMatch(JWT);
      await openDocument(user.page, docId);
      expect(user.errors).toEqual([]);
      await user.context.close();
    },
  );

  browserTest(
    'a role changed while the document is open takes effect after a quiet reconnect, without a reload',
    async () => {
      await addMember(server, docId, 'rory', 'Rory Reader', 'viewer');
      const user = await newUserPage(browser, server);
      await signIn(user.page, 'rory', 'rory-password');
      await openDocument(user.page, docId);
      await user.page.locator('.doc-page[data-role="viewer"]').waitFor();
      const admin = await login(server.url, ADMIN.username, ADMIN.password);
      const setRole = async (role: string) =>
        expect((await api(server.url, admin).put(`/documents/${docId}/members/rory`, { role })).status).toBe(200);
      await setRole('commenter');
      await user.page.locator('.doc-page[data-role="commenter"]').waitFor();
      await user.page.locator('[data-connection="connected"]').waitFor();
      await commentOn(user.page, 'lighthouse keeper', 'Now I may comment.');
      await setRole('viewer');
      await user.page.locator('.doc-page[data-role="viewer"]').waitFor();
      await user.page.locator('[data-connection="connected"]').waitFor();
      expect(user.errors).toEqual([]);
      await user.context.close();
    },
  );

  browserTest(
    'an open document outlives its token: the app refreshes ahead of expiry, reconnects quietly, and keeps writing',
    async () => {
      const user = await newUserPage(browser, server);
      await signIn(user.page, 'kit', 'kit-password');
      const firstExpiry = await user.page.evaluate(
        () => (JSON.parse(localStorage.getItem('marginalia.session')!) as { expiresAt: number }).expiresAt,
      );
      await openDocument(user.page, docId);
      // every connection state the header shows, from now on
      await user.page.evaluate(() => {
        const w = window as unknown as { statuses: string[] };
        w.statuses = [];
        const record = () => {
          const s = document.querySelector('[data-connection]')?.getAttribute('data-connection');
          if (s && w.statuses[w.statuses.length - 1] !== s) w.statuses.push(s);
        };
        record();
        new MutationObserver(record).observe(document.body, {
          subtree: true,
          attributes: true,
          attributeFilter: ['data-connection'],
        });
      });
      await commentOn(user.page, 'small green book', 'Before the first token ran out.');
      await waitFor(() => Date.now() > firstExpiry + 1500, {
        timeout: TTL * 1000 + 5000,
        message: 'first expiry past',
      });
      await user.page.locator('[data-connection="connected"]').waitFor();
      await commentOn(user.page, 'automated, decades later', 'After the first token ran out.');
      await waitFor(
        async () => {
          // (the admin's token from the start has run out too: a fresh one)
          const admin = await login(server.url, ADMIN.username, ADMIN.password);
          const threads = (await api(server.url, admin).get(`/documents/${docId}/threads`)).body as {
            comments: { body: string }[];
          }[];
          return threads.some((t) => t.comments.some((c) => c.body === 'After the first token ran out.'));
        },
        { message: 'the comment made after the first expiry is stored' },
      );
      const statuses = await user.page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
      expect(statuses).not.toContain('expired');
      const secondExpiry = await user.page.evaluate(
        () => (JSON.parse(localStorage.getItem('marginalia.session')!) as { expiresAt: number }).expiresAt,
      );
      expect(secondExpiry).toBeGreaterThan(firstExpiry);
      expect(user.errors).toEqual([]);
      await user.context.close();
    },
  );

  browserTest(
    'offline when the refresh falls due: a comment typed offline is stored once back online, the session is refreshed before it runs out, and nobody is asked to sign in',
    async () => {
      const user = await newUserPage(browser, server);
      await signIn(user.page, 'kit', 'kit-password');
      const signedInAt = Date.now();
      const expiry = await user.page.evaluate(
        () => (JSON.parse(localStorage.getItem('marginalia.session')!) as { expiresAt: number }).expiresAt,
      );
      // (measured after sign-in: no earlier than the moment the app schedules its refresh for)
      const refreshDue = signedInAt + (expiry - signedInAt) * REFRESH_AT;
      const refreshes: { at: number; ok: boolean }[] = [];
      user.page.on('requestfailed', (r) => {
        if (r.url().endsWith('/api/auth/refresh')) refreshes.push({ at: Date.now(), ok: false });
      });
      user.page.on('response', (r) => {
        if (r.url().endsWith('/api/auth/refresh')) refreshes.push({ at: Date.now(), ok: r.status() === 200 });
      });
      await openDocument(user.page, docId);
      await user.page.locator('[data-connection="connected"]').waitFor();

      await user.context.setOffline(true);
      await user.page.locator('[data-connection="offline"]').waitFor();
      const passage = 'key to the lamp room';
      const body = 'Typed offline, as the session was due for renewal.';
      await commentOn(user.page, passage, body);
      await threadCard(user.page, passage).getByText('Not yet synced').waitFor();
      expect({ typedBeforeRefreshWasDue: Date.now() < refreshDue }).toEqual({ typedBeforeRefreshWasDue: true });
      // the refresh falls due while offline, and fails
      await waitFor(() => refreshes.some((r) => !r.ok), {
        timeout: expiry - Date.now(),
        message: 'a refresh tried offline',
      });
      expect(refreshes.filter((r) => r.ok)).toEqual([]);

      // back online shortly before the expiry, just after a failed try: the app refreshes at once, not at its
      // next retry a second later (which, with a long session's 30 s retries, could come after the expiry)
      await waitFor(() => Date.now() > expiry - 2500, { timeout: 10_000, message: 'close to the expiry' });
      const failures = refreshes.length;
      await waitFor(() => refreshes.length > failures, { timeout: 2000, message: 'another refresh tried offline' });
      const onlineAt = Date.now();
      await user.context.setOffline(false);
      await waitFor(() => refreshes.some((r) => r.ok), { timeout: 5000, message: 'a refresh once online' });
      const refreshedAt = refreshes.find((r) => r.ok)!.at;
      expect({ refreshedWithinMsOfOnline: refreshedAt - onlineAt < 500, beforeExpiry: refreshedAt < expiry }).toEqual({
        refreshedWithinMsOfOnline: true,
        beforeExpiry: true,
      });
      await threadCard(user.page, passage).getByText('Not yet synced').waitFor({ state: 'detached' });
      await waitFor(
        async () => {
          const admin = await login(server.url, ADMIN.username, ADMIN.password);
          const threads = (await api(server.url, admin).get(`/documents/${docId}/threads`)).body as {
            comments: { body: string }[];
          }[];
          return threads.some((t) => t.comments.some((c) => c.body === body));
        },
        { message: 'the comment typed offline is stored' },
      );

      // past the old expiry the document stays connected on the refreshed cookie, with no sign-in asked for
      await waitFor(() => Date.now() > expiry + 1500, { timeout: 10_000, message: 'the old expiry past' });
      await user.page.locator('[data-connection="connected"]').waitFor();
      expect(await user.page.locator('[data-connection="expired"]').count()).toBe(0);
      expect(await user.page.getByRole('button', { name: 'Sign in again' }).count()).toBe(0);
      expect(await user.page.getByLabel(/Username/).count()).toBe(0);
      // (the browser's own notes of requests made while offline aside)
      expect(user.errors.filter((e) => !e.includes('ERR_INTERNET_DISCONNECTED'))).toEqual([]);
      await user.context.close();
    },
  );
});
