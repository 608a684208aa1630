/**
 * The floating "Comment" button follows the article's selection in an editable document: it goes away when the
 * selected words are deleted (Backspace, typing over them) — never floating over nothing — and moves with a
 * selection extended by the keyboard or carried elsewhere by the column reflowing.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import {
  articleText,
  browserAvailable,
  browserTest,
  launchBrowser,
  membersOnDocument,
  screenshot,
  selectText,
  type UserPage,
} from '../support/browser.js';
import { createDocument, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const FIRST = 'The harbour master kept two ledgers: one for the customs office and one for himself.';
const SECOND = 'Historians who compared them found that the private ledger recorded nearly twice as many ships.';

/**
 * Where the button stands against the selection's first line: it sits just above that line (its bottom 10 px
 * over the line's top), centred on it unless that would pass the article's edge. Answers null when it does.
 */
async function misplacement(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const button = document.querySelector('.selection-action .comment-button');
    const selection = window.getSelection();
    if (!button || !selection || selection.isCollapsed) return `button ${!!button}, selection ${selection?.toString()}`;
    const line = Array.from(selection.getRangeAt(0).getClientRects()).find((r) => r.width > 0)!;
    const b = button.getBoundingClientRect();
    const layer = document.querySelector('.overlay-layer')!.getBoundingClientRect();
    const centre = Math.min(Math.max(line.left + line.width / 2, layer.left + 70), layer.right - 70);
    const dx = Math.abs(b.left + b.width / 2 - centre);
    const dy = Math.abs(b.bottom - (line.top - 10));
    return dx <= 2 && dy <= 2 ? null : `button off by ${Math.round(dx)} px across and ${Math.round(dy)} px down`;
  });
}

describe('the floating Comment button in an editable document', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;
  let editor: UserPage;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, `${FIRST}\n\n${SECOND}`, { title: 'Harbour ledgers' });
    [editor] = (await membersOnDocument(browser, server, docId, [
      { username: 'eda', name: 'Eda Editor', role: 'editor' },
    ])) as [UserPage];
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest('Backspace or typing over the selection removes the button; Shift+Arrow moves it', async () => {
    const { page } = editor;
    await page.setViewportSize({ width: 1400, height: 900 });
    const button = page.locator('.selection-action .comment-button');
    const paragraph = page.locator('.article-content p', { hasText: 'Historians' });

    // A whole paragraph by triple click, then Backspace: its text goes, the button with it.
    await paragraph.click({ clickCount: 3 });
    await button.waitFor();
    expect(await misplacement(page)).toBeNull();
    await page.keyboard.press('Backspace');
    await waitFor(async () => !(await articleText(page)).includes('Historians'));
    await button.waitFor({ state: 'detached', timeout: 5_000 });
    await screenshot(page, 'selection-action-after-backspace-1400x900');
    await page.keyboard.press('Control+z');
    await waitFor(async () => (await articleText(page)).includes(SECOND));

    // Shift+Arrow from a caret: the button appears over the selection and follows it as it grows.
    const start = await page.locator('.article-content').evaluate((root) => {
      const text = Array.from(root.querySelectorAll('span')).find((s) => s.textContent?.includes('private'))!;
      const node = text.firstChild as Text;
      const range = document.createRange();
      range.setStart(node, node.data.indexOf('private'));
      const r = range.getBoundingClientRect();
      return { x: r.left + 1, y: r.top + r.height / 2 };
    });
    await page.mouse.click(start.x, start.y);
    for (let i = 0; i < 'private'.length; i++) await page.keyboard.press('Shift+ArrowRight');
    await waitFor(async () => (await page.evaluate(() => window.getSelection()?.toString())) === 'private');
    await waitFor(async () => (await misplacement(page)) === null, { message: () => 'the button over "private"' });
    const before = await button.boundingBox();
    await page.keyboard.press('Shift+End');
    await waitFor(async () => (await misplacement(page)) === null, { message: () => 'the button over the longer run' });
    expect((await button.boundingBox())!.x).toBeGreaterThan(before!.x + 20);

    // Typing over it: the selection is gone, so is the button.
    await page.keyboard.type('X');
    await waitFor(async () => (await articleText(page)).includes('the X'));
    await button.waitFor({ state: 'detached', timeout: 5_000 });
    expect(editor.errors).toEqual([]);
  });

  browserTest('the button follows its selection when the column reflows (a phone held upright)', async () => {
    const { page } = editor;
    await page.setViewportSize({ width: 1400, height: 900 });
    const button = page.locator('.selection-action .comment-button');
    await selectText(page, 'customs office');
    await button.waitFor();
    expect(await misplacement(page)).toBeNull();
    await page.setViewportSize({ width: 390, height: 844 });
    await waitFor(async () => (await misplacement(page)) === null, {
      message: () => 'the button over the selection after the reflow',
    });
    await screenshot(page, 'selection-action-reflowed-390x844');
    expect(editor.errors).toEqual([]);
  });
});
