/**
 * Mentions and notifications in the shipped client: `@` in the comment box suggests the people who may read the
 * document (keyboard-navigable), the chosen mention is stored with the comment and shown as a chip, and the
 * mentioned user's bell counts it live and opens the thread from the inbox.
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
  threadCard,
  type UserPage,
} from '../support/browser.js';
import { addMember, api, createDocument, startServer, type Member, type TestServer } from '../support/server.js';
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
      const threads = (await api(server.url, ann.token).get(`/documents/${docId}/threads`)).body;
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
});
