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
} from '../support/browser.js';
import { ADMIN, addMember, api, createDocument, login, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = [
  'The lighthouse keeper logged every ship that passed in a small green book.',
  'Nobody read the book until the lighthouse was automated, decades later.',
].join('\n\n');
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
      await signIn(user.page, 'kit', 'kit-password');
      const visible = await user.page.evaluate(() => ({
        storage: Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`),
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
});
