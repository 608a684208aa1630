/**
 * The history panel and new revisions in the browser: the versions listed, one opened read-only with the changes
 * since marked (who made them on hover) and its threads as they were; naming the current state; restoring a
 * version, which the open editor receives; uploading a new revision after a preview of where the threads go.
 * Screenshots at 1400 and 390 px wide.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import {
  articleText,
  browserAvailable,
  browserTest,
  launchBrowser,
  newUserPage,
  openDocument,
  screenshot,
  signIn,
} from '../support/browser.js';
import { ADMIN, api, createDocument, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = [
  'The harbour opened in spring, and the first ships came from the north with timber and salt.',
  'The clerks counted every cargo twice, once at the quay and once at the customs house.',
  'By autumn the two books disagreed by eleven barrels, and nobody could say where they went.',
].join('\n\n');
const REVISED = ARTICLE.replace('with timber and salt', 'with timber, wool and salt').replace(
  'eleven barrels',
  'twelve barrels',
);

/** Nothing in the dialog is wider than the viewport. */
async function sideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}

async function openHistory(page: Page): Promise<void> {
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page.getByRole('button', { name: 'History ▾' }).click();
  await page.getByRole('menuitem', { name: /Version history/ }).click();
  await page.getByRole('list', { name: 'Versions' }).waitFor();
}

describe('version history in the browser', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;
  let named: string;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer({
      env: { MARGINALIA_VERSION_INTERVAL_MS: '600000', MARGINALIA_PROJECTION_DELAY_MS: '0', MARGINALIA_SAMPLE: '0' },
    });
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Harbour ledger' });
    const a = api(server.url, server.adminToken);
    expect(
      (await a.post(`/documents/${docId}/threads`, { exact: 'counted every cargo twice', body: 'Why?' })).status,
    ).toBe(201);
    const v = await a.post(`/documents/${docId}/versions`, { name: 'First edition' });
    expect(v.status).toBe(201);
    named = v.body.id as string;
    expect((await a.put(`/documents/${docId}/article`, { format: 'text', content: REVISED })).status).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest('a version opens read-only with the changes since marked, and can be named and restored', async () => {
    const user = await newUserPage(browser, server, { width: 1400, height: 900 });
    const { page } = user;
    await signIn(page, ADMIN.username, ADMIN.password);
    await openDocument(page, docId);
    expect(await articleText(page)).toBe(REVISED);

    await openHistory(page);
    await page.locator(`[data-version="${named}"]`).click();
    const view = page.locator('[data-version-article]');
    await view.locator('ins').first().waitFor();
    expect(await view.locator('ins').allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringContaining('wool')]),
    );
    expect(await view.locator('del').allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringContaining('eleven')]),
    );
    expect(await view.locator('ins').first().getAttribute('title')).toBe('Added by admin');
    expect(await page.locator('[data-version-thread]').first().innerText()).toContain('counted every cargo twice');
    expect(await sideways(page)).toBe(false);
    await screenshot(page, 'history-1400');

    // Name the current state.
    await page.getByLabel('Name this version').fill('After corrections');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('list', { name: 'Versions' }).getByText('After corrections').waitFor();

    // Restore the first edition: the open editor receives the old text as a new change.
    await page.locator(`[data-version="${named}"]`).click();
    await page.getByRole('button', { name: 'Restore this version' }).click();
    await page.getByText('Restored: the article is back').waitFor();
    expect(user.dialogs.some((d) => d.startsWith('confirm: Restore'))).toBe(true);
    await page.getByRole('button', { name: 'Close' }).click();
    await waitFor(async () => (await articleText(page)) === ARTICLE, { message: 'the restored article in the editor' });

    // Someone changes the article; coming back later, the history offers what changed since the last visit.
    const later = ARTICLE.replace('timber and salt', 'timber and pepper');
    expect(
      (await api(server.url, server.adminToken).put(`/documents/${docId}/article`, { format: 'text', content: later }))
        .status,
    ).toBe(200);
    await page.reload();
    await page.locator('.article-wrap[data-article-ready="true"]').waitFor();
    await openHistory(page);
    await page.getByRole('button', { name: 'What changed since my last visit' }).click();
    await page.locator('[data-version-article] del').first().waitFor();
    expect(await page.locator('[data-version-article] del').allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringContaining('salt')]),
    );
    expect(await page.locator('[data-version-article] ins').allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringContaining('pepper')]),
    );
    expect(user.errors).toEqual([]);
    await user.context.close();
  });

  browserTest('uploading a new revision previews where the threads go, then applies it', async () => {
    const user = await newUserPage(browser, server, { width: 1400, height: 900 });
    const { page } = user;
    await signIn(page, ADMIN.username, ADMIN.password);
    await openDocument(page, docId);
    const before = await articleText(page);
    const next = before.replace('once at the quay', 'first at the quay');
    expect(next).not.toBe(before);
    await page.getByRole('button', { name: 'History ▾' }).click();
    await page.getByRole('menuitem', { name: /Upload new revision/ }).click();
    await page.getByLabel('New text').fill(next);
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.locator('[data-revision-preview]');
    await preview.waitFor();
    expect(await preview.innerText()).toContain('If applied: 1 thread stays exact, 0 move, 0 become orphans.');
    expect(await articleText(page)).toBe(before);
    await screenshot(page, 'revision-preview-1400');
    await page.getByRole('button', { name: 'Apply revision' }).click();
    await page.getByText('Applied.').waitFor();
    await waitFor(async () => (await articleText(page)) === next, { message: 'the revision in the editor' });
    expect(user.errors).toEqual([]);
    await user.context.close();
  });

  browserTest('at 390 px the history opens from the menu and fits the screen', async () => {
    const user = await newUserPage(browser, server, { width: 390, height: 844 });
    const { page } = user;
    await signIn(page, ADMIN.username, ADMIN.password);
    await openDocument(page, docId);
    await openHistory(page);
    await page.locator(`[data-version="${named}"]`).click();
    await page.locator('[data-version-article]').waitFor();
    await page.locator('[data-version-article] ins, [data-version-article] del').first().waitFor();
    expect(await sideways(page)).toBe(false);
    const box = (await page.locator('dialog[open]').boundingBox())!;
    expect(box.x >= 0 && box.x + box.width <= 390).toBe(true);
    await screenshot(page, 'history-390');
    expect(user.errors).toEqual([]);
    await user.context.close();
  });
});
