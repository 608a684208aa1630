/**
 * Mentions and notifications in the shipped client: `@` in the comment box suggests the people who may read the
 * document (keyboard-navigable), the chosen mention is stored with the comment and shown as a chip, and the
 * mentioned user's bell counts it live and opens the thread from the inbox. A mention that would reach nobody is
 * pointed out at once: to an owner, someone who cannot see the document, with "Share with …" (desktop and phone);
 * to anyone, a guest (no inbox); a non-owner never learns of accounts that cannot see the document.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser } from 'playwright-core';
import {
  browserAvailable,
  browserTest,
  launchBrowser,
  newUserPage,
  openDocument,
  screenshot,
  selectText,
  signIn,
  signInAsGuest,
  threadCard,
  type UserPage,
} from '../support/browser.js';
import {
  addMember,
  api,
  createDocument,
  createUser,
  startServer,
  type Member,
  type TestServer,
} from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = [
  'Quarterly revenue rose by four percent, driven mostly by the northern region.',
  'Costs rose faster, so the margin narrowed for the third quarter in a row.',
].join('\n\n');

describe('mentions in the client', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;
  let ann: Member;
  let vera: Member;
  let annPage: UserPage;
  let veraPage: UserPage;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer({ env: { MARGINALIA_PROJECTION_DELAY_MS: '0' } });
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Quarterly report' });
    ann = await addMember(server, docId, 'ann', 'Ann Archer', 'commenter');
    vera = await addMember(server, docId, 'vera', 'Vera Viewer', 'viewer');
    await addMember(server, docId, 'victor', 'Victor Vance', 'commenter');
    annPage = await newUserPage(browser, server, { width: 1400, height: 900 });
    veraPage = await newUserPage(browser, server, { width: 1400, height: 900 });
    await signIn(annPage.page, 'ann', 'ann-password');
    await signIn(veraPage.page, 'vera', 'vera-password');
    await Promise.all([openDocument(annPage.page, docId), openDocument(veraPage.page, docId)]);
  });

  /** Opens the composer on a passage and types into it; returns the composer. */
  const compose = async (page: UserPage['page'], passage: string, text: string) => {
    await selectText(page, passage);
    await page.getByRole('button', { name: 'Comment', exact: false }).and(page.locator('.comment-button')).click();
    const composer = page.locator('[data-composer="true"]');
    await composer.getByRole('textbox').pressSequentially(text);
    return composer;
  };

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest(
    'typing @ suggests readers; arrows and Enter choose; the mention is stored, shown as a chip, and notifies live',
    async () => {
      const { page } = annPage;
      const bell = veraPage.page.locator('.notifications .bell');
      await expect(bell.getAttribute('aria-label')).resolves.toBe('Notifications');

      await selectText(page, 'northern region');
      await page.getByRole('button', { name: 'Comment', exact: false }).and(page.locator('.comment-button')).click();
      const composer = page.locator('[data-composer="true"]');
      const box = composer.getByRole('textbox');
      await box.pressSequentially('Please check @v');
      const list = composer.getByRole('listbox', { name: 'People to mention' });
      await list.waitFor();
      const options = list.getByRole('option');
      await expect(options.allInnerTexts()).resolves.toEqual(['Vera Viewer @vera', 'Victor Vance @victor']);
      await expect(options.nth(0).getAttribute('aria-selected')).resolves.toBe('true');
      await box.press('ArrowDown');
      await expect(options.nth(1).getAttribute('aria-selected')).resolves.toBe('true');
      await box.press('ArrowUp');
      await expect(options.nth(0).getAttribute('aria-selected')).resolves.toBe('true');
      await box.press('Enter');
      await list.waitFor({ state: 'detached' });
      await expect(box.inputValue()).resolves.toBe('Please check @vera ');
      await box.pressSequentially('thanks');
      await screenshot(page, 'mentions-composer-1400');
      await box.press('Enter');
      await composer.waitFor({ state: 'detached' });

      const card = threadCard(page, 'northern region');
      await card.locator('.mention-chip', { hasText: '@Vera Viewer' }).waitFor();
      const threads = await waitFor(
        async () => {
          const all = (await api(server.url, ann.token).get(`/documents/${docId}/threads`)).body;
          return all.length ? all : null;
        },
        { message: 'the thread stored on the server' },
      );
      expect(threads[0].comments[0]).toEqual(
        expect.objectContaining({ body: 'Please check @vera thanks', mentions: [vera.id] }),
      );

      // vera's bell counts it without a reload, and the inbox opens the thread
      await waitFor(async () => (await bell.getAttribute('aria-label')) === 'Notifications, 1 unread', {
        message: 'the live unread count',
      });
      await bell.click();
      const inbox = veraPage.page.getByRole('region', { name: 'Notifications' });
      await inbox.getByRole('heading', { name: 'Quarterly report' }).waitFor();
      await expect(inbox.locator('.inbox-item.unread .inbox-what').allInnerTexts()).resolves.toEqual([
        'Ann Archer mentioned you',
      ]);
      await screenshot(veraPage.page, 'notifications-inbox-1400');
      await veraPage.page.setViewportSize({ width: 390, height: 800 });
      await screenshot(veraPage.page, 'notifications-inbox-390');
      await veraPage.page.setViewportSize({ width: 1400, height: 900 });
      await inbox.getByRole('link', { name: /Ann Archer mentioned you/ }).click();
      await waitFor(() => veraPage.page.url().endsWith(`/d/${docId}/t/${threads[0].id}`));
      await waitFor(async () => (await bell.getAttribute('aria-label')) === 'Notifications');
      expect((await api(server.url, vera.token).get('/notifications')).body.unread).toBe(0);
      expect(annPage.errors).toEqual([]);
      expect(veraPage.errors).toEqual([]);
    },
  );

  browserTest('a name after @ that nobody with access has is pointed out at once', async () => {
    const { page } = annPage;
    await selectText(page, 'Costs rose faster');
    await page.getByRole('button', { name: 'Comment', exact: false }).and(page.locator('.comment-button')).click();
    const composer = page.locator('[data-composer="true"]');
    await composer.getByRole('textbox').pressSequentially('cc @olga and @vera please');
    await expect(composer.getByRole('status').innerText()).resolves.toBe(
      '@olga is not someone who can see this document: they will not be notified. An owner can share it with them under Members.',
    );
    await composer.getByRole('button', { name: 'Cancel' }).click();
  });

  browserTest('the Follow toggle follows and unfollows the document', async () => {
    const { page } = veraPage;
    await openDocument(page, docId);
    const follow = page.getByRole('button', { name: 'Follow', exact: true });
    await follow.click();
    await page.getByRole('button', { name: 'Following' }).waitFor();
    await waitFor(async () => (await api(server.url, vera.token).get(`/documents/${docId}/follow`)).body.following);
    await page.getByRole('button', { name: 'Following' }).click();
    await waitFor(async () => !(await api(server.url, vera.token).get(`/documents/${docId}/follow`)).body.following);
  });

  browserTest(
    'an owner is told at once that a mentioned user cannot see the document, and shares it from there (desktop, phone)',
    async () => {
      const dana = await createUser(server, 'dana', 'Dana');
      const dora = await createUser(server, 'dora', 'Dora');
      const owner = await newUserPage(browser, server, { width: 1400, height: 900 });
      await signIn(owner.page, 'admin', 'admin-password'); // the document's creator: its owner
      const members = async () =>
        (await api(server.url, server.adminToken).get(`/documents/${docId}/members`)).body as {
          username: string;
          role: string;
        }[];
      for (const [size, passage, user] of [
        [{ width: 1400, height: 900 }, 'Quarterly revenue rose', dana],
        [{ width: 390, height: 844 }, 'the margin narrowed', dora],
      ] as const) {
        const { page } = owner;
        const name = user === dana ? 'Dana' : 'Dora';
        const username = name.toLowerCase();
        await page.setViewportSize(size);
        await openDocument(page, docId);
        const composer = await compose(page, passage, `Over to @${username.slice(0, 2)}`);
        const box = composer.getByRole('textbox');
        // the suggestions offer the account, marked as having no access
        const option = composer.getByRole('option', { name: new RegExp(`@${username}`) });
        await option.waitFor();
        await expect(option.innerText()).resolves.toBe(`${name} @${username} · no access`);
        await screenshot(page, `mentions-suggest-no-access-${size.width}`);
        await box.press('Enter');
        await box.pressSequentially('please check');
        const status = composer.getByRole('status');
        await waitFor(async () => (await status.innerText()).includes(`${name} cannot see this document`), {
          message: 'the no-access warning',
        });
        await expect(status.innerText()).resolves.toBe(
          `${name} cannot see this document: they will not be notified. Share with ${name}`,
        );
        await screenshot(page, `mentions-no-access-${size.width}`);
        await status.getByRole('button', { name: `Share with ${name}` }).click();
        await waitFor(
          async () =>
            (await status.innerText()) === `${name} can now see this document, as a commenter, and will be notified.`,
          { message: 'the warning goes, the sharing is said' },
        );
        await screenshot(page, `mentions-shared-${size.width}`);
        expect(await members()).toContainEqual(expect.objectContaining({ username, role: 'commenter' }));
        await box.press('Enter');
        await composer.waitFor({ state: 'detached' });
        // The composer closes as the thread is made in the page; the server has it once the update has arrived.
        let bodies: string[] = [];
        const stored = await waitFor(
          async () => {
            const threads = (await api(server.url, server.adminToken).get(`/documents/${docId}/threads`)).body as {
              comments: { body: string; mentions: string[] }[];
            }[];
            const comments = threads.flatMap((t) => t.comments);
            bodies = comments.map((c) => c.body);
            return comments.find((c) => c.body === `Over to @${username} please check`);
          },
          { message: () => `the comment stored on the server (it has: ${JSON.stringify(bodies)})` },
        );
        expect(stored.mentions).toEqual([user.id]);
      }
      expect(owner.errors).toEqual([]);
      await owner.context.close();
    },
  );

  browserTest(
    'a non-owner never learns who cannot see the document; a guest mentioned is said not to be notified',
    async () => {
      await createUser(server, 'olivia', 'Olivia');
      const { page } = annPage;
      const lookups: string[] = [];
      page.on('request', (r) => r.url().includes('/shareable') && lookups.push(r.url()));
      await openDocument(page, docId);
      const composer = await compose(page, 'four percent', 'cc @oli');
      const status = composer.getByRole('status');
      await composer.getByRole('textbox').pressSequentially('via ');
      await expect(status.innerText()).resolves.toBe(
        '@olivia is not someone who can see this document: they will not be notified. An owner can share it with them under Members.',
      );
      expect(await composer.getByRole('option').count()).toBe(0);
      expect(await status.getByRole('button').count()).toBe(0);
      await composer.getByRole('button', { name: 'Cancel' }).click();

      // a guest in the document: mentioning them by name says they will not be notified
      await api(server.url, server.adminToken).patch(`/documents/${docId}`, { guestRole: 'commenter' });
      const guest = await newUserPage(browser, server, { width: 390, height: 844 });
      await signInAsGuest(guest.page, 'Gina Guest');
      await openDocument(guest.page, docId);
      await page.setViewportSize({ width: 390, height: 844 });
      await openDocument(page, docId);
      const again = await compose(page, 'four percent', 'ask @gina about it');
      await waitFor(async () => (await again.getByRole('status').innerText()).includes('Gina Guest is a guest'), {
        message: 'the guest note',
      });
      await expect(again.getByRole('status').innerText()).resolves.toBe(
        'Gina Guest is a guest: guests have no inbox, so they will not be notified.',
      );
      await screenshot(page, 'mentions-guest-390');
      await again.getByRole('button', { name: 'Cancel' }).click();
      await page.setViewportSize({ width: 1400, height: 900 });
      expect(lookups).toEqual([]);
      expect(annPage.errors).toEqual([]);
      await guest.context.close();
    },
  );
});
