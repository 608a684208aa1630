/**
 * Roles are visible in the UI as they are enforced on the server (a viewer has no comment action, a
 * commenter cannot type into the article, an editor can), and user text is always shown as text.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser } from 'playwright-core';
import {
  article,
  articleText,
  browserAvailable,
  browserTest,
  commentOn,
  launchBrowser,
  newUserPage,
  openDocument,
  screenshot,
  selectText,
  signIn,
  threadCard,
  type UserPage,
} from '../support/browser.js';
import { addMember, api, createDocument, startServer, type TestServer } from '../support/server.js';

const ARTICLE = [
  'Quarterly revenue rose by four percent, driven mostly by the northern region.',
  'Costs rose faster, so the margin narrowed for the third quarter in a row.',
].join('\n\n');

describe('roles and user text', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;
  let viewer: UserPage;
  let commenter: UserPage;
  let editor: UserPage;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Quarterly report' });
    await addMember(server, docId, 'vic', 'Vic Viewer', 'viewer');
    await addMember(server, docId, 'cora', 'Cora Commenter', 'commenter');
    await addMember(server, docId, 'ed', 'Ed Editor', 'editor');
    viewer = await newUserPage(browser, server);
    commenter = await newUserPage(browser, server);
    editor = await newUserPage(browser, server);
    await signIn(viewer.page, 'vic', 'vic-password');
    await signIn(commenter.page, 'cora', 'cora-password');
    await signIn(editor.page, 'ed', 'ed-password');
    await Promise.all([
      openDocument(viewer.page, docId),
      openDocument(commenter.page, docId),
      openDocument(editor.page, docId),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest('a viewer sees no comment action, neither button nor shortcut nor reply box', async () => {
    await commentOn(commenter.page, 'driven mostly by the northern region', 'Is the north one client?');
    await threadCard(viewer.page, 'driven mostly by the northern region')
      .getByText('Is the north one client?')
      .waitFor();

    await selectText(viewer.page, 'the margin narrowed');
    await viewer.page.keyboard.press('Control+Alt+KeyM');
    // The selection is published (others could see it) before we check that nothing else appeared.
    await commenter.page.locator('.remote-selection .remote-rect').first().waitFor();
    expect(await viewer.page.locator('.comment-button').count()).toBe(0);
    expect(await viewer.page.locator('[data-composer]').count()).toBe(0);
    const card = threadCard(viewer.page, 'driven mostly by the northern region');
    expect(await card.getByRole('textbox').count()).toBe(0);
    expect(await card.getByRole('button', { name: 'Resolve' }).count()).toBe(0);
    expect(await article(viewer.page).getAttribute('contenteditable')).toBe('false');
    await screenshot(viewer.page, 'roles-viewer');
  });

  browserTest('a commenter cannot type into the article', async () => {
    const before = await articleText(commenter.page);
    expect(await article(commenter.page).getAttribute('contenteditable')).toBe('false');
    await article(commenter.page).click();
    await commenter.page.keyboard.type('TYPED BY A COMMENTER ');
    await commenter.page.keyboard.press('Backspace');
    expect(await articleText(commenter.page)).toBe(before);

    // Nothing was sent that the server would refuse: the commenter's connection is still up.
    expect(await commenter.page.locator('[data-connection]').getAttribute('data-connection')).toBe('connected');
  });

  browserTest('a comment body written as HTML shows as text and runs nothing', async () => {
    const body = '<img src=x onerror=alert(1)>';
    const sneaky = '<img src=y onerror="window.__marginaliaPwned=1">';
    await commentOn(commenter.page, 'the third quarter', body);
    const card = threadCard(commenter.page, 'the third quarter');
    const reply = card.getByRole('textbox', { name: 'Reply…' });
    await reply.fill(sneaky);
    await reply.press('Enter');

    for (const page of [commenter, editor, viewer]) {
      const shown = threadCard(page.page, 'the third quarter');
      await shown.getByText(sneaky, { exact: true }).waitFor();
      expect(await shown.getByText(body, { exact: true }).count()).toBe(1);
      expect(await shown.locator('img').count()).toBe(0);
      expect(
        await page.page.evaluate(() => (window as unknown as { __marginaliaPwned?: number }).__marginaliaPwned),
      ).toBeUndefined();
      expect(page.dialogs).toEqual([]);
    }
    await screenshot(viewer.page, 'safety-html-as-text');
  });

  browserTest('an editor can type into the article, and everyone sees it', async () => {
    const before = await articleText(commenter.page);
    expect(await article(editor.page).getAttribute('contenteditable')).toBe('true');
    await selectText(editor.page, 'Costs rose faster');
    await editor.page.keyboard.type('Costs rose even faster');
    await commenter.page.getByText('Costs rose even faster').waitFor();
    expect(await articleText(commenter.page)).toBe(before.replace('Costs rose faster', 'Costs rose even faster'));
    const text = (await api(server.url, server.adminToken).get(`/documents/${docId}/text`)).text;
    expect(text).toContain('Costs rose even faster');
    expect(text).not.toContain('TYPED BY A COMMENTER');
    expect(await editor.page.locator('[data-connection]').getAttribute('data-connection')).toBe('connected');
  });
});
