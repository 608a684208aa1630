/**
 * The document page on every screen: at phone, tablet, laptop and desktop widths nothing scrolls sideways,
 * the title and every header action are reachable, the threads are reachable, and a touch selection offers
 * the comment action. Screenshots of each state at 390x844, 768x1024 and 1400x900.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import {
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
  articleText,
} from '../support/browser.js';
import { ADMIN, addMember, api, createDocument, startServer, type TestServer } from '../support/server.js';

/** A long article: eight numbered sections of several paragraphs each, so that its end is far below the top. */
export const LONG_ARTICLE = [
  '# Harbour accounts',
  ...Array.from({ length: 8 }, (_, s) => [
    `## ${s + 1}. Section ${s + 1} of the ledger`,
    ...Array.from(
      { length: 4 },
      (_, p) =>
        `Paragraph ${p + 1} of section ${s + 1} tells how the clerks counted ships, cargo and duties in that season, ` +
        `and why the numbers in the two books never agreed for long (marker ${s + 1}.${p + 1}).`,
    ),
  ]),
]
  .flat()
  .join('\n\n');

const WIDTHS = [
  { width: 390, height: 844 },
  { width: 768, height: 1024 },
  { width: 1024, height: 768 },
  { width: 1400, height: 900 },
];

/** Nothing on the page is wider than the viewport: neither the page nor the document's scroller scrolls sideways. */
async function sideways(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const wide: string[] = [];
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width) wide.push(`page ${document.documentElement.scrollWidth}px`);
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('.doc-scroll, .doc-header, .filter-bar'))) {
      if (el.scrollWidth > el.clientWidth + 1) wide.push(`${el.className} ${el.scrollWidth}>${el.clientWidth}`);
    }
    return wide;
  });
}

/** The element is on screen horizontally and vertically (its whole box inside the viewport). */
async function onScreen(page: Page, selector: string): Promise<boolean> {
  const box = await page.locator(selector).first().boundingBox();
  const size = page.viewportSize()!;
  return (
    !!box &&
    box.width > 0 &&
    box.x >= 0 &&
    box.y >= 0 &&
    box.x + box.width <= size.width + 0.5 &&
    box.y + box.height <= size.height + 0.5
  );
}

describe('the document page on every screen', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, LONG_ARTICLE, {
      title: 'Harbour accounts',
      format: 'markdown',
    });
    await addMember(server, docId, 'cora', 'Cora Commenter', 'commenter');
    const seed = await newUserPage(browser, server);
    await signIn(seed.page, ADMIN.username, ADMIN.password);
    await openDocument(seed.page, docId);
    await commentOn(seed.page, 'why the numbers in the two books never agreed for long (marker 1.2)', 'Which books?');
    await commentOn(seed.page, 'counted ships, cargo and duties in that season', 'Seasons are not years.');
    await seed.context.close();
    expect((await api(server.url, server.adminToken).get(`/documents/${docId}`)).status).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  for (const size of WIDTHS) {
    const name = `${size.width}x${size.height}`;
    browserTest(`at ${name} nothing scrolls sideways, the article is readable and the title is on screen`, async () => {
      const user = await newUserPage(browser, server, size);
      await signIn(user.page, 'cora', 'cora-password');
      expect(await sideways(user.page)).toEqual([]);
      await screenshot(user.page, `screens-library-${name}`);
      await openDocument(user.page, docId);
      expect(await sideways(user.page)).toEqual([]);
      const column = (await user.page.locator('.article-content').boundingBox())!;
      expect(column.width).toBeGreaterThanOrEqual(Math.min(560, size.width - 48));
      expect(await onScreen(user.page, '.doc-title h1')).toBe(true);
      await screenshot(user.page, `screens-document-${name}`);
      await user.context.close();
    });

    browserTest(`at ${name} every header action and the threads are reachable`, async () => {
      const user = await newUserPage(browser, server, size);
      await signIn(user.page, ADMIN.username, ADMIN.password);
      await openDocument(user.page, docId);
      const { page } = user;
      const menu = page.getByRole('button', { name: 'Menu' });
      if (await menu.isVisible()) {
        await menu.click();
        await screenshot(page, `screens-header-menu-${name}`);
      }
      for (const action of [/^Tags$/, /^Members$/, /^Export/, /^Sign out$/]) {
        const button = page.getByRole('button', { name: action });
        expect(await button.isVisible()).toBe(true);
        const box = (await button.boundingBox())!;
        expect(box.x >= 0 && box.x + box.width <= size.width).toBe(true);
      }
      if (await menu.isVisible()) await page.keyboard.press('Escape');
      const toggle = page.getByRole('button', { name: /^Threads/ });
      if (await toggle.isVisible()) await toggle.click();
      const card = page.locator('[data-thread-card]').first();
      await card.waitFor();
      await card.scrollIntoViewIfNeeded();
      expect(await onScreen(page, '[data-thread-card]')).toBe(true);
      expect(await sideways(page)).toEqual([]);
      await screenshot(page, `screens-threads-${name}`);
      expect(user.errors).toEqual([]);
      await user.context.close();
    });
  }

  browserTest('on a phone, a touch selection opens the comment action, which opens the composer', async () => {
    const context = await browser.newContext({
      baseURL: server.url,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
      hasTouch: true,
      isMobile: true,
    });
    const page = await context.newPage();
    await signIn(page, 'cora', 'cora-password');
    await openDocument(page, docId);
    await selectText(page, 'the clerks counted ships', 2);
    const button = page.locator('.comment-button');
    await button.waitFor();
    expect(await onScreen(page, '.comment-button')).toBe(true);
    await button.tap();
    const composer = page.locator('[data-composer="true"]');
    await composer.waitFor();
    expect(await onScreen(page, '[data-composer="true"]')).toBe(true);
    await screenshot(page, 'screens-touch-composer-390x844');
    await context.close();
  });

  for (const size of [WIDTHS[0]!, WIDTHS[1]!, WIDTHS[3]!]) {
    for (const who of [
      { username: 'cora', role: 'commenter', how: 'button' },
      { username: ADMIN.username, role: 'owner', how: 'shortcut' },
    ]) {
      const name = `${size.width}x${size.height}`;
      browserTest(
        `at ${name}, a ${who.role}'s Comment (${who.how}) opens the composer by the passage, not at the top`,
        async () => {
          const user = await newUserPage(browser, server, size);
          const { page } = user;
          await signIn(page, who.username, who.username === 'cora' ? 'cora-password' : ADMIN.password);
          await openDocument(page, docId);
          const passage = 'and why the numbers in the two books never agreed for long (marker 5.3)';
          await page.locator('.article-content p', { hasText: 'marker 5.3' }).scrollIntoViewIfNeeded();
          const scroller = page.locator('.doc-scroll');
          const before = await scroller.evaluate((el) => el.scrollTop);
          expect(before).toBeGreaterThan(1000);
          await selectText(page, passage);
          if (who.how === 'button') await page.locator('.comment-button').click();
          else await page.keyboard.press('Control+Alt+KeyM');
          const composer = page.locator('[data-composer="true"]');
          await composer.waitFor();
          // The composer is where the eye is: on screen, the page not thrown back to the top, and its box
          // beside the passage (desktop) or over the bottom of the screen with the passage still visible (phone).
          await waitForCondition(page, () => onScreen(page, '[data-composer="true"]'));
          const after = await scroller.evaluate((el) => el.scrollTop);
          expect(Math.abs(after - before)).toBeLessThan(size.height / 2);
          const draft = (await page.locator('[data-highlight="draft"] .hl-rect').first().boundingBox())!;
          expect(draft.y).toBeGreaterThanOrEqual(0);
          const box = (await composer.boundingBox())!;
          if (size.width >= 900) expect(Math.abs(box.y - draft.y)).toBeLessThan(60);
          else expect(draft.y + draft.height).toBeLessThanOrEqual(box.y);
          expect(await composer.getByRole('textbox').evaluate((el) => el === document.activeElement)).toBe(true);
          await screenshot(page, `screens-composer-${who.role}-${name}`);
          expect(user.errors).toEqual([]);
          await user.context.close();
        },
      );
    }
  }

  for (const size of [WIDTHS[0]!, WIDTHS[3]!]) {
    const name = `${size.width}x${size.height}`;
    browserTest(
      `at ${name}, Escape keeps a draft's text for when the composer opens again; Cancel discards it`,
      async () => {
        const user = await newUserPage(browser, server, size);
        const { page } = user;
        await signIn(page, 'cora', 'cora-password');
        await openDocument(page, docId);
        const composer = page.locator('[data-composer="true"]');
        const open = async (passage: string) => {
          await selectText(page, passage);
          await page.locator('.comment-button').click();
          await composer.waitFor();
        };
        await open('never agreed for long (marker 2.1)');
        await composer.getByRole('textbox').fill('Half a thought about the clerks');
        await composer.getByRole('textbox').press('Escape');
        await composer.waitFor({ state: 'detached' });
        await open('never agreed for long (marker 2.2)');
        expect(await composer.getByRole('textbox').inputValue()).toBe('Half a thought about the clerks');
        await screenshot(page, `screens-draft-kept-${name}`);
        // Escape with the focus elsewhere on the page keeps it too.
        await page.locator('.doc-title h1').click();
        await page.keyboard.press('Escape');
        await composer.waitFor({ state: 'detached' });
        await open('never agreed for long (marker 2.3)');
        expect(await composer.getByRole('textbox').inputValue()).toBe('Half a thought about the clerks');
        await composer.getByRole('button', { name: 'Cancel' }).click();
        await composer.waitFor({ state: 'detached' });
        await open('never agreed for long (marker 2.4)');
        expect(await composer.getByRole('textbox').inputValue()).toBe('');
        expect(user.dialogs).toEqual([]);
        expect(user.errors).toEqual([]);
        await user.context.close();
      },
    );
  }

  browserTest('a word typed inside a passage makes it "moved"; undone, the passage is exact again', async () => {
    const user = await newUserPage(browser, server, WIDTHS[3]!);
    const { page } = user;
    await signIn(page, ADMIN.username, ADMIN.password);
    await openDocument(page, docId);
    const passage = 'Paragraph 2 of section 7 tells how the clerks';
    await commentOn(page, passage, 'Which clerks?');
    const card = threadCard(page, passage);
    await card.waitFor();
    await page.locator('.article-content').focus();
    await selectText(page, 'section 7 tells how', 1);
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.type('the ');
    await card.locator('.chip', { hasText: 'moved' }).waitFor();
    for (let i = 0; i < 8 && (await articleText(page)).includes('of the section 7'); i++) {
      await page.keyboard.press('Control+z');
    }
    expect(await articleText(page)).toContain(passage);
    await card.locator('.chip', { hasText: 'moved' }).waitFor({ state: 'detached' });
    await screenshot(page, 'screens-restored-exact-1400x900');
    expect(user.errors).toEqual([]);
    await user.context.close();
  });

  browserTest('an orphan has a stub in the margin where its passage was, also under "Orphaned only"', async () => {
    const orphanDoc = await createDocument(
      server.url,
      server.adminToken,
      ['First paragraph stays put.', 'Second paragraph will be deleted whole.', 'Third paragraph stays too.'].join(
        '\n\n',
      ),
      { title: 'Orphans' },
    );
    const user = await newUserPage(browser, server, WIDTHS[3]!);
    const { page } = user;
    await signIn(page, ADMIN.username, ADMIN.password);
    await openDocument(page, orphanDoc);
    await commentOn(page, 'will be deleted whole', 'About to vanish.');
    await page.locator('.article-content').focus();
    await selectText(page, 'Second paragraph will be deleted whole.');
    await page.keyboard.press('Backspace');
    const card = page.locator('.orphans [data-thread-card]');
    await card.waitFor();
    const id = await card.getAttribute('data-thread-card');
    const stub = page.locator(`.threads-panel [data-orphan-stub="${id}"]`);
    await stub.waitFor();
    // Beside the place it was: level with the text that now follows the deleted passage.
    const third = (await page.locator('.article-content p', { hasText: 'Third paragraph' }).boundingBox())!;
    const second = (await page.locator('.article-content p', { hasText: 'First paragraph' }).boundingBox())!;
    const box = (await stub.boundingBox())!;
    expect(box.y).toBeGreaterThan(second.y);
    expect(box.y).toBeLessThan(third.y + third.height);
    await page.getByLabel(/Orphaned only/).check();
    await stub.waitFor();
    await screenshot(page, 'screens-orphan-stub-1400x900');
    await stub.click();
    await page.waitForFunction((id) => document.activeElement?.getAttribute('data-thread-card') === id, id);
    expect(await page.locator('.orphans [data-thread-card].active').count()).toBe(1);
    expect(user.errors).toEqual([]);
    await user.context.close();
  });

  browserTest('a plain-text article shows its title and numbered sections as headings', async () => {
    const textDoc = await createDocument(
      server.url,
      server.adminToken,
      [
        'Harbour accounts of the northern coast',
        'An opening paragraph.',
        '1. The customs ledger',
        'What the customs office wrote down.',
        '2. The private ledger',
        'What the harbour master wrote down.',
      ].join('\n\n'),
      { title: 'Plain text' },
    );
    const user = await newUserPage(browser, server, WIDTHS[3]!);
    await signIn(user.page, ADMIN.username, ADMIN.password);
    await openDocument(user.page, textDoc);
    const article = user.page.locator('.article-content');
    await article.getByRole('heading', { level: 1, name: 'Harbour accounts of the northern coast' }).waitFor();
    await article.getByRole('heading', { level: 2, name: '1. The customs ledger' }).waitFor();
    await article.getByRole('heading', { level: 2, name: '2. The private ledger' }).waitFor();
    await screenshot(user.page, 'screens-text-headings-1400x900');
    await user.context.close();
  });
});

/** Waits until `condition` holds, checking once per animation frame of the page (at most 5 s). */
async function waitForCondition(page: Page, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
  }
}
