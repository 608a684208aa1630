/**
 * The owner's path through the app, one feature after another, as clicked: create a document, define tags,
 * annotate (button and shortcut), filter and search, focus threads, edit and delete one's own comment, share
 * the document, watch a thread become an orphan when its passage is deleted, export; and a guest reaching
 * the sample document. Screenshots of each main state.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser } from 'playwright-core';
import {
  browserAvailable,
  browserTest,
  launchBrowser,
  newUserPage,
  screenshot,
  selectText,
  signIn,
  signInAsGuest,
  threadCard,
  waitForArticle,
  type UserPage,
} from '../support/browser.js';
import { ADMIN, createUser, startServer, type TestServer } from '../support/server.js';

const MARKDOWN = `# Port of call

The harbour master kept **two ledgers**: one for the customs office and one for himself.

Historians who compared them found that the private ledger recorded nearly twice as many ships in the busy years.

Nobody knows which of the two the council believed.
`;

describe('an owner’s tour of the app', () => {
  let server: TestServer;
  let browser: Browser;
  let owner: UserPage;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    await createUser(server, 'zoe', 'Zoe Zhang');
    owner = await newUserPage(browser, server);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest('sign in, create a document from Markdown, and open it', async () => {
    const { page } = owner;
    await page.goto('/');
    await page.getByLabel('Your name').waitFor();
    await screenshot(page, 'tour-01-sign-in');
    await signIn(page, ADMIN.username, ADMIN.password);
    await screenshot(page, 'tour-02-library');

    await page.getByRole('button', { name: 'New document' }).click();
    await page.getByLabel('Format').selectOption('markdown');
    await page.getByLabel('…or paste the text').fill(MARKDOWN);
    await page.getByLabel('Guests').selectOption('commenter');
    await page.getByRole('region', { name: 'Preview' }).getByText('The harbour master kept two ledgers').waitFor();
    expect(await page.getByLabel('Title').inputValue()).toBe('Port of call');
    await screenshot(page, 'tour-03-new-document');
    await page.getByRole('button', { name: 'Create document' }).click();
    await waitForArticle(page);
    expect(page.url()).toMatch(/\/d\/[^/]+$/);
    await page.getByRole('heading', { name: 'Port of call', level: 1 }).first().waitFor();
  });

  browserTest('tags are defined, then used when commenting with the shortcut and the button', async () => {
    const { page } = owner;
    await page.getByRole('button', { name: 'Tags' }).click();
    const dialog = page.getByRole('dialog', { name: 'Tags' });
    await dialog.getByLabel('New tag').fill('evidence');
    await dialog.getByRole('button', { name: 'Add tag' }).click();
    await dialog.getByLabel('New tag').fill('question');
    await dialog.getByRole('button', { name: 'Add tag' }).click();
    await dialog.locator('[data-tag="question"]').waitFor();
    await screenshot(page, 'tour-04-tags');
    await dialog.getByRole('button', { name: 'Close' }).click();

    await selectText(page, 'recorded nearly twice as many ships');
    await page.locator('.comment-button').waitFor();
    await screenshot(page, 'tour-04b-selection-action');
    await page.keyboard.press('Control+Alt+KeyM');
    const composer = page.locator('[data-composer="true"]');
    await composer.getByRole('button', { name: 'evidence' }).click();
    await composer.getByRole('textbox').fill('Is the private ledger complete for those years?');
    await screenshot(page, 'tour-05-composer');
    await composer.getByRole('textbox').press('Enter');
    const tagged = threadCard(page, 'recorded nearly twice as many ships');
    await tagged.getByRole('list', { name: 'Tags' }).getByText('evidence').waitFor();

    await selectText(page, 'which of the two the council believed');
    await page.locator('.comment-button').click();
    await composer.getByRole('textbox').fill('Check the council minutes.');
    await composer.getByRole('button', { name: 'Comment' }).click();
    await threadCard(page, 'which of the two the council believed').waitFor();
    await screenshot(page, 'tour-06-two-threads');
  });

  browserTest('filters and search narrow the margin; a highlight click focuses its card', async () => {
    const { page } = owner;
    const cards = page.locator('.threads-panel [data-thread-card]');
    expect(await cards.count()).toBe(2);
    await page.getByLabel('Tag', { exact: true }).selectOption('evidence');
    await page.locator('.filter-count', { hasText: '1 thread' }).waitFor();
    expect(await cards.count()).toBe(1);
    await screenshot(page, 'tour-07-filtered');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Search comments, quotes and text').fill('minutes');
    await page.locator('.filter-count', { hasText: '1 thread' }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.locator('.filter-count', { hasText: '2 threads' }).waitFor();

    const card = threadCard(page, 'which of the two the council believed');
    const id = await card.getAttribute('data-thread-card');
    const rect = page.locator(`[data-highlight="${id}"] .hl-rect`).first();
    const box = (await rect.boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator(`[data-thread-card="${id}"].active`).waitFor();
    await page.locator(`[data-highlight="${id}"].hl-active .hl-rect`).first().waitFor();
  });

  browserTest('one’s own comment can be edited and deleted', async () => {
    const { page } = owner;
    const card = threadCard(page, 'which of the two the council believed');
    await card.click();
    await card.getByRole('button', { name: 'Edit comment' }).click();
    const box = card.getByRole('textbox', { name: 'Edit your comment' });
    await box.fill('Check the council minutes of 1851.');
    await box.press('Enter');
    await card.getByText('Check the council minutes of 1851.').waitFor();
    await card.locator('.edited').waitFor();

    await card.getByRole('textbox', { name: 'Reply…' }).fill('A second thought, withdrawn.');
    await card.getByRole('textbox', { name: 'Reply…' }).press('Enter');
    const second = card.locator('.comment', { hasText: 'A second thought, withdrawn.' });
    await second.hover();
    await second.getByRole('button', { name: 'Delete comment' }).click();
    await card.getByText('Comment deleted').waitFor();
    expect(owner.dialogs.some((d) => d.startsWith('confirm'))).toBe(true);
    await screenshot(page, 'tour-08-edited-and-deleted');
  });

  browserTest('the members dialog adds someone and changes their role', async () => {
    const { page } = owner;
    await page.getByRole('button', { name: 'Members' }).click();
    const dialog = page.getByRole('dialog', { name: 'Members' });
    await dialog.getByLabel('Add someone by username').fill('zoe');
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.locator('[data-member="zoe"]').waitFor();
    await dialog.getByLabel('Role of Zoe Zhang').selectOption('editor');
    await dialog.locator('[data-member="zoe"] select', { hasText: 'Editor' }).waitFor();
    await screenshot(page, 'tour-09-members');
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  browserTest('deleting an annotated passage orphans its thread, which is listed apart with its quote', async () => {
    const { page } = owner;
    await selectText(page, 'Nobody knows which of the two the council believed.');
    await page.keyboard.press('Backspace');
    const orphans = page.getByRole('region', { name: /Orphaned threads/ });
    await orphans.locator('.thread-quote', { hasText: 'which of the two the council believed' }).waitFor();
    expect(await page.locator('.threads-panel [data-thread-card]').count()).toBe(1);
    await page.getByLabel(/Orphaned only/).check();
    expect(await page.locator('.threads-panel [data-thread-card]').count()).toBe(0);
    await orphans.scrollIntoViewIfNeeded();
    await screenshot(page, 'tour-10-orphaned');
    await page.getByLabel(/Orphaned only/).uncheck();
  });

  browserTest('the page reads well at 1920 pixels wide', async () => {
    const { page } = owner;
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.locator('.threads-panel [data-thread-card]').first().waitFor();
    await screenshot(page, 'tour-10b-wide');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  browserTest('the export menu offers every format and downloads the annotated text', async () => {
    const { page } = owner;
    await page.getByRole('button', { name: 'Export' }).click();
    const menu = page.getByRole('menu', { name: 'Export formats' });
    for (const name of ['Markdown', 'HTML', 'Word (.docx)', 'W3C Web Annotations', 'CSV', 'JSON']) {
      await menu.getByRole('menuitem', { name: new RegExp(`^${name.replace(/[().]/g, '\\$&')}`) }).waitFor();
    }
    await screenshot(page, 'tour-11-export-menu');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      menu.getByRole('menuitem', { name: /^Markdown/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('Port of call.md');
    const markdown = readFileSync((await download.path())!, 'utf8');
    expect(markdown).toContain('recorded nearly twice as many ships');
    expect(markdown).toContain('Is the private ledger complete for those years?');
    await menu.waitFor({ state: 'detached' });
  });

  browserTest('a guest reaches the sample document and may comment on it', async () => {
    const guest = await newUserPage(browser, server);
    await signInAsGuest(guest.page, 'Gil Guest');
    await guest.page.getByRole('link', { name: /River Remembers/ }).click();
    await waitForArticle(guest.page);
    await guest.page.locator('.role', { hasText: 'Commenter' }).waitFor();
    await selectText(guest.page, 'the two rarely agree');
    await guest.page.locator('.comment-button').waitFor();
    await screenshot(guest.page, 'tour-12-guest-sample');
    expect(guest.errors).toEqual([]);
    await guest.context.close();
    expect(owner.errors).toEqual([]);
  });
});
