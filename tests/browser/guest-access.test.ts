/**
 * Guest access after creation: an owner opens a document to guests from the Members dialog and closes it again.
 * A guest with the link then opens it (and may comment, as the chosen role says); once closed, a guest opening
 * it is told they have no access, and the guest already in it is disconnected.
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
import { ADMIN, api, createDocument, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The ferry timetable changed twice in one winter.\n\nNobody told the island school.';

describe('guest access set from the Members dialog', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Ferry timetable' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest(
    'opened to guests as commenters, a guest comments; closed again, guests are refused',
    async () => {
      const owner = await newUserPage(browser, server);
      await signIn(owner.page, ADMIN.username, ADMIN.password);
      await openDocument(owner.page, docId);
      await owner.page.getByRole('button', { name: 'Members' }).click();
      const dialog = owner.page.getByRole('dialog', { name: 'Members' });
      const guests = dialog.getByLabel('Guest access');
      expect(await guests.inputValue()).toBe('');
      await guests.selectOption('commenter');
      // Stored: the document says so over REST.
      const stored = async () =>
        ((await api(server.url, server.adminToken).get(`/documents/${docId}`)).body as { guestRole: string | null })
          .guestRole;
      await waitFor(async () => (await stored()) === 'commenter', { message: 'guest role stored' });
      await screenshot(owner.page, 'members-guest-access');

      const guest = await newUserPage(browser, server, { width: 390, height: 844 });
      await signInAsGuest(guest.page, 'Gwen Guest');
      await openDocument(guest.page, docId);
      await commentOn(guest.page, 'Nobody told the island school.', 'Which school?');
      await threadCard(owner.page, 'Nobody told the island school.').getByText('Which school?').waitFor();

      await guests.selectOption('');
      await waitFor(async () => (await stored()) === null, { message: 'guest access closed' });
      // The guest in the document is disconnected; opening it again says there is no access.
      await guest.page.locator('[data-connection="connected"]').waitFor({ state: 'detached', timeout: 5000 });
      const other = await newUserPage(browser, server);
      await signInAsGuest(other.page, 'Otto Guest');
      await other.page.goto(`/d/${docId}`);
      await other.page.getByText('You do not have access to this document').waitFor({ timeout: 10_000 });
      for (const u of [owner, guest, other]) await u.context.close();
    },
    60_000,
  );
});
