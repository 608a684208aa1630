/**
 * Identity: a guest is always marked as one (a badge and "(guest)" beside the name, an avatar of its own
 * style, in cards, presence, labels and the author filter), and cannot sign in under the name of a member
 * of a document open to guests.
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
  screenshot,
  signIn,
  signInAsGuest,
  threadCard,
} from '../support/browser.js';
import { ADMIN, addMember, api, createDocument, startServer, type TestServer } from '../support/server.js';

const ARTICLE = [
  'The harbour master kept two ledgers: one for the customs office and one for himself.',
  'Historians who compared them found that the private ledger recorded nearly twice as many ships.',
].join('\n\n');

describe('guests are always marked', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, ARTICLE, {
      title: 'Harbour ledgers',
      guestRole: 'commenter',
    });
    await addMember(server, docId, 'mara', 'Mara Member', 'commenter');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest('a guest cannot sign in under the display name or username of a member', async () => {
    for (const name of ['Mara Member', '  mara   MEMBER ', 'mara']) {
      const r = await api(server.url).post('/auth/guest', { name });
      expect(r.status).toBe(409);
    }
    expect((await api(server.url).post('/auth/guest', { name: 'Mara Guest' })).status).toBe(200);

    const user = await newUserPage(browser, server, { width: 390, height: 844 });
    await user.page.goto('/');
    await user.page.getByRole('tab', { name: 'Guest' }).click();
    await user.page.getByLabel('Your name').fill('Mara Member');
    await user.page.getByRole('button', { name: 'Continue as guest' }).click();
    await user.page
      .getByRole('alert')
      .getByText(/belongs to a member/)
      .waitFor();
    await screenshot(user.page, 'identity-guest-name-refused-390x844');
    await user.context.close();
  });

  for (const size of [
    { width: 390, height: 844 },
    { width: 768, height: 1024 },
    { width: 1400, height: 900 },
  ]) {
    const name = `${size.width}x${size.height}`;
    browserTest(`at ${name}, a guest's comment, avatar, presence and author entry say "guest"`, async () => {
      const member = await newUserPage(browser, server, size);
      const guest = await newUserPage(browser, server, size);
      await signIn(member.page, 'mara', 'mara-password');
      await signInAsGuest(guest.page, 'Gil Harbour');
      await guest.page.locator('.whoami', { hasText: 'Gil Harbour (guest)' }).waitFor();
      await openDocument(member.page, docId);
      await openDocument(guest.page, docId);
      const passage = `recorded nearly twice as many ships`;
      await commentOn(guest.page, passage, `Guest note at ${name}`);
      await commentOn(member.page, 'kept two ledgers', `Member note at ${name}`);

      const { page } = member;
      const threads = page.getByRole('button', { name: /^Threads/ });
      if (await threads.isVisible()) await threads.click();
      const guestComment = threadCard(page, passage).locator('.comment', { hasText: `Guest note at ${name}` });
      await guestComment.locator('.guest-badge').waitFor();
      expect(await guestComment.locator('.avatar.guest').count()).toBe(1);
      expect(await guestComment.locator('.avatar').getAttribute('aria-label')).toBe('Gil Harbour (guest)');
      const memberComment = threadCard(page, 'kept two ledgers').locator('.comment', {
        hasText: `Member note at ${name}`,
      });
      await memberComment.waitFor();
      expect(await memberComment.locator('.guest-badge').count()).toBe(0);
      expect(await memberComment.locator('.avatar.guest').count()).toBe(0);
      const options = await page.getByLabel('Author').locator('option').allTextContents();
      expect(options).toContain('Gil Harbour (guest)');
      expect(options).toContain('Mara Member');
      if (size.width >= 480) {
        const avatar = page.locator('.presence .avatar.guest');
        await avatar.waitFor();
        expect(await avatar.getAttribute('aria-label')).toBe('Gil Harbour (guest)');
      }
      await screenshot(page, `identity-guest-marked-${name}`);
      expect(member.errors).toEqual([]);
      expect(guest.errors).toEqual([]);
      await member.context.close();
      await guest.context.close();
    });
  }

  browserTest('a guest is not offered "New document"', async () => {
    const guest = await newUserPage(browser, server, { width: 390, height: 844 });
    await signInAsGuest(guest.page, 'Nell Newcomer');
    await guest.page.getByText('Sign in with an account to create documents.').waitFor();
    expect(await guest.page.getByRole('button', { name: 'New document' }).count()).toBe(0);
    await screenshot(guest.page, 'identity-guest-library-390x844');
    await guest.context.close();
  });

  browserTest("the owner may delete anyone's comment but edit only their own", async () => {
    const guest = await newUserPage(browser, server);
    await signInAsGuest(guest.page, 'Una Unwelcome');
    await openDocument(guest.page, docId);
    await commentOn(guest.page, 'one for the customs office', 'Spam from a guest.');
    await guest.context.close();

    const owner = await newUserPage(browser, server, { width: 1400, height: 900 });
    await signIn(owner.page, ADMIN.username, ADMIN.password);
    await openDocument(owner.page, docId);
    const card = threadCard(owner.page, 'one for the customs office');
    await card.click();
    const comment = card.locator('.comment', { hasText: 'Spam from a guest.' });
    await comment.getByRole('button', { name: 'Delete comment' }).waitFor();
    expect(await comment.getByRole('button', { name: 'Edit comment' }).count()).toBe(0);
    await comment.getByRole('button', { name: 'Delete comment' }).click();
    await card.getByText('Comment deleted').waitFor();
    expect(owner.errors).toEqual([]);
    await owner.context.close();
  });

  browserTest('the Export menu forgets a failure once it is opened again', async () => {
    const context = await browser.newContext({
      baseURL: server.url,
      viewport: { width: 1400, height: 900 },
      serviceWorkers: 'block',
    });
    const page = await context.newPage();
    await signIn(page, 'mara', 'mara-password');
    await openDocument(page, docId);
    await page.route('**/api/documents/*/export*', (route) => route.abort('internetdisconnected'));
    const toggle = page.getByRole('button', { name: /^Export/ });
    await toggle.click();
    const menu = page.getByRole('menu', { name: 'Export formats' });
    await menu.getByRole('menuitem', { name: /^Markdown/ }).click();
    await menu
      .getByRole('alert')
      .getByText(/cannot be reached/)
      .waitFor();
    await page.unroute('**/api/documents/*/export*');
    await toggle.click();
    await menu.waitFor({ state: 'detached' });
    await toggle.click();
    await menu.getByRole('menuitem', { name: /^Markdown/ }).waitFor();
    expect(await menu.getByRole('alert').count()).toBe(0);
    await context.close();
  });

  browserTest('a resolved thread says who resolved it', async () => {
    const member = await newUserPage(browser, server, { width: 1400, height: 900 });
    await signIn(member.page, 'mara', 'mara-password');
    await openDocument(member.page, docId);
    await commentOn(member.page, 'one for himself', 'Settled: his own book.');
    const card = threadCard(member.page, 'one for himself');
    await card.getByRole('button', { name: 'Resolve' }).first().click();
    await member.page.locator('[data-thread-card][data-status="resolved"]', { hasText: 'Resolved by you' }).waitFor();
    const owner = await newUserPage(browser, server, { width: 1400, height: 900 });
    await signIn(owner.page, ADMIN.username, ADMIN.password);
    await openDocument(owner.page, docId);
    const stub = owner.page.locator('[data-thread-card][data-status="resolved"]', { hasText: 'one for himself' });
    await stub.getByText('Resolved by Mara Member').waitFor();
    await stub.getByRole('button', { name: 'Show resolved thread' }).click();
    await owner.page
      .locator('[data-thread-card][data-status="resolved"] .resolved-by', { hasText: 'Resolved by Mara Member' })
      .waitFor();
    await screenshot(owner.page, 'identity-resolved-by-1400x900');
    expect(owner.errors).toEqual([]);
    await member.context.close();
    await owner.context.close();
  });
});
