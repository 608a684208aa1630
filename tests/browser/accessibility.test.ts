/**
 * Accessibility: an axe-core audit of every main screen (sign-in, library, a document with threads, its
 * dialogs, the composer) at desktop and phone widths finds no serious or critical violation; highlights are
 * reachable with the keyboard and announce their thread; a keyboard user can select text in a read-only
 * article; motion is reduced when the system asks for it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
} from '../support/browser.js';
import { ADMIN, addMember, createDocument, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Runs axe-core in the page; the serious and critical violations, each with the elements concerned. */
async function audit(page: Page): Promise<Violation[]> {
  // Evaluated as a script by the debugging protocol: the app's Content-Security-Policy forbids inline scripts.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<any> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return (result.violations as any[])
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: (v.nodes as any[]).slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`),
      }));
  });
}

const ARTICLE = [
  '# Harbour accounts',
  'The harbour master kept two ledgers: one for the customs office and one for himself.',
  'Historians who compared them found that the private ledger recorded nearly twice as many ships.',
  'Nobody knows which of the two the council believed.',
].join('\n\n');

const SIZES = [
  { name: 'desktop', width: 1400, height: 900 },
  { name: 'phone', width: 390, height: 844 },
];

describe('accessibility', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, ARTICLE, {
      title: 'Harbour accounts',
      format: 'markdown',
    });
    await addMember(server, docId, 'vic', 'Vic Viewer', 'viewer');
    await addMember(server, docId, 'cora', 'Cora Commenter', 'commenter');
    const seed = await newUserPage(browser, server);
    await signIn(seed.page, ADMIN.username, ADMIN.password);
    await openDocument(seed.page, docId);
    await commentOn(seed.page, 'kept two ledgers', 'Which two?');
    await commentOn(seed.page, 'nearly twice as many ships', 'Source for the count?');
    await seed.context.close();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  for (const size of SIZES) {
    browserTest(`the axe audit finds no serious or critical violation on any screen (${size.name})`, async () => {
      const user = await newUserPage(browser, server, { width: size.width, height: size.height });
      const { page } = user;
      const found: Record<string, Violation[]> = {};
      const check = async (state: string) => {
        const violations = await audit(page);
        if (violations.length) found[state] = violations;
        await screenshot(page, `a11y-${state}-${size.name}`);
      };
      await page.goto('/');
      await page.getByLabel('Your name').waitFor();
      await check('sign-in');
      await signIn(page, ADMIN.username, ADMIN.password);
      await check('library');
      await page.getByRole('button', { name: 'New document' }).click();
      await page.getByRole('dialog').waitFor();
      await check('new-document');
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await openDocument(page, docId);
      await page.locator('[data-thread-card]').first().waitFor({ state: 'attached' });
      await check('document');
      const menu = page.getByRole('button', { name: 'Menu' });
      for (const name of ['Tags', 'Members']) {
        if (await menu.isVisible()) await menu.click();
        await page.getByRole('button', { name, exact: true }).click();
        await page.getByRole('dialog', { name }).waitFor();
        await check(`dialog-${name.toLowerCase()}`);
        await page.getByRole('dialog', { name }).getByRole('button', { name: 'Close' }).click();
        await page.getByRole('dialog', { name }).waitFor({ state: 'detached' });
        // The focus goes back to what opened the dialog: its button, or on a phone the menu it was in.
        const opener = (await menu.isVisible()) ? 'Menu' : name;
        await waitFor(
          () =>
            page.evaluate(
              (label) =>
                document.activeElement?.getAttribute('aria-label') === label ||
                document.activeElement?.textContent?.trim() === label,
              opener,
            ),
          { message: `the focus back on ${opener} after ${name} closed` },
        );
      }
      if (await menu.isVisible()) await menu.click();
      await page.getByRole('button', { name: /^Export/ }).click();
      await page.getByRole('menu', { name: 'Export formats' }).waitFor();
      await check('export-menu');
      // The import dialog, a file chosen (its summary and the format select showing), nothing imported.
      await page.getByRole('menuitem', { name: /Import annotations/ }).click();
      const importDialog = page.getByRole('dialog', { name: 'Import annotations' });
      await importDialog.getByLabel('File').setInputFiles({
        name: 'empty.jsonld',
        mimeType: 'application/ld+json',
        buffer: Buffer.from(
          JSON.stringify({ type: 'AnnotationCollection', first: { type: 'AnnotationPage', items: [] } }),
        ),
      });
      await importDialog.getByLabel('Read it as').waitFor();
      await check('dialog-import');
      await importDialog.getByRole('button', { name: 'Close' }).click();
      await importDialog.waitFor({ state: 'detached' });
      const threads = page.getByRole('button', { name: /^Threads/ });
      if (await threads.isVisible()) {
        await threads.click();
        await page.locator('.sheet [data-thread-card]').first().waitFor();
        await check('threads-panel');
        await page.getByRole('button', { name: 'Close threads' }).click();
      }
      await selectText(page, 'which of the two the council believed');
      await page.locator('.comment-button').click();
      await page.locator('[data-composer="true"]').waitFor();
      await check('composer');
      expect(found).toEqual({});
      expect(user.errors).toEqual([]);
      await user.context.close();
    });
  }

  /** Presses Tab (or Shift+Tab) until `done` holds for the focused element; the elements passed on the way. */
  async function tabUntil(page: Page, done: string, back = false, limit = 40): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < limit; i++) {
      await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
      const here = await page.evaluate((selector) => {
        const el = document.activeElement as HTMLElement | null;
        if (!el) return { id: '', done: false };
        const id = el.dataset.highlightMark ? `mark:${el.dataset.highlightMark}` : el.className || el.tagName;
        return { id, done: el.matches(selector) };
      }, done);
      seen.push(here.id);
      if (here.done) return seen;
    }
    throw new Error(`Tab never reached ${done}: ${seen.join(', ')}`);
  }

  for (const size of SIZES) {
    browserTest(
      `highlights are focusable marks, walked with Tab and Shift+Tab, described by their thread (${size.name})`,
      async () => {
        const user = await newUserPage(browser, server, { width: size.width, height: size.height });
        const { page } = user;
        await signIn(page, 'vic', 'vic-password');
        await openDocument(page, docId);
        const first = page.locator('[data-highlight-mark]').first();
        await first.waitFor({ state: 'attached' });
        await tabUntil(page, '[data-highlight-mark]');
        const quoteOf = () => page.evaluate(() => (document.activeElement as HTMLElement).getAttribute('aria-label'));
        expect(await quoteOf()).toBe('Highlight: kept two ledgers');
        const description = await page.evaluate(() => {
          const el = document.activeElement!;
          return document.getElementById(el.getAttribute('aria-describedby')!)!.textContent;
        });
        expect(description).toContain('Which two?');
        const id = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.highlightMark);
        await page.locator(`[data-thread-card="${id}"].active`).waitFor({ state: 'attached' });
        await screenshot(page, `a11y-highlight-focused-${size.name}`);
        await page.keyboard.press('Tab');
        expect(await quoteOf()).toBe('Highlight: nearly twice as many ships');
        await page.keyboard.press('Shift+Tab');
        expect(await quoteOf()).toBe('Highlight: kept two ledgers');
        await page.keyboard.press('Enter');
        await page.waitForFunction((id) => document.activeElement?.getAttribute('data-thread-card') === id, id);
        expect(user.errors).toEqual([]);
        await user.context.close();
      },
    );
  }

  browserTest(
    'a keyboard-only viewer reaches the read-only article with Tab and selects text with Shift+arrows',
    async () => {
      const user = await newUserPage(browser, server, { width: 1400, height: 900 });
      const { page } = user;
      await signIn(page, 'vic', 'vic-password');
      await openDocument(page, docId);
      await tabUntil(page, '.article-content');
      await page.locator('.browse-caret').waitFor();
      await page.keyboard.press('ArrowDown');
      for (let i = 0; i < 3; i++) await page.keyboard.press('Control+Shift+ArrowRight');
      const selected = await page.evaluate(() => window.getSelection()!.toString());
      expect(selected.trim()).toBe('The harbour master');
      await screenshot(page, 'a11y-keyboard-selection-desktop');
      expect(user.errors).toEqual([]);
      await user.context.close();
    },
  );

  browserTest('a keyboard-only commenter selects a passage and comments on it with the shortcut', async () => {
    const user = await newUserPage(browser, server, { width: 1400, height: 900 });
    const { page } = user;
    await signIn(page, 'cora', 'cora-password');
    await openDocument(page, docId);
    await tabUntil(page, '.article-content');
    await page.keyboard.press('ArrowDown');
    for (let i = 0; i < 2; i++) await page.keyboard.press('Control+Shift+ArrowRight');
    await page.keyboard.press('Control+Alt+KeyM');
    const composer = page.locator('[data-composer="true"]');
    await composer.waitFor();
    expect((await composer.locator('.thread-quote').textContent())?.trim()).toBe('The harbour');
    await page.keyboard.type('Which harbour?');
    await page.keyboard.press('Enter');
    await page.locator('[data-thread-card]', { hasText: 'Which harbour?' }).waitFor();
    expect(user.errors).toEqual([]);
    await user.context.close();
  });

  browserTest('with reduced motion asked for, nothing on the page animates', async () => {
    const user = await newUserPage(browser, server, { width: 1400, height: 900 });
    const { page } = user;
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await signIn(page, ADMIN.username, ADMIN.password);
    await openDocument(page, docId);
    await page.locator('[data-highlight-mark]').first().focus();
    await page.locator('.hl-active').first().waitFor({ state: 'attached' });
    const moving = await page.evaluate(() =>
      Array.from(document.querySelectorAll('*'))
        .filter((el) => {
          const style = getComputedStyle(el);
          const long = (value: string) => value.split(',').some((v) => parseFloat(v) > 0.01);
          return (style.animationName !== 'none' && long(style.animationDuration)) || long(style.transitionDuration);
        })
        .map((el) => el.className),
    );
    expect(moving).toEqual([]);
    await user.context.close();
  });

  for (const size of SIZES) {
    browserTest(
      `dark mode follows the system, the toggle overrides it, and passes the audit (${size.name})`,
      async () => {
        const user = await newUserPage(browser, server, { width: size.width, height: size.height });
        const { page } = user;
        await page.emulateMedia({ colorScheme: 'dark' });
        await signIn(page, ADMIN.username, ADMIN.password);
        const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        const darkness = async () => {
          const [r, g, b] = (await background()).match(/\d+/g)!.map(Number);
          return (r! + g! + b!) / 3;
        };
        expect(await darkness()).toBeLessThan(60);
        await openDocument(page, docId);
        await page.locator('[data-thread-card]').first().waitFor({ state: 'attached' });
        const found: Record<string, Violation[]> = {};
        const check = async (state: string) => {
          const violations = await audit(page);
          if (violations.length) found[state] = violations;
          await screenshot(page, `a11y-dark-${state}-${size.name}`);
        };
        await check('document');
        const threads = page.getByRole('button', { name: /^Threads/ });
        if (await threads.isVisible()) {
          await threads.click();
          await page.locator('.sheet [data-thread-card]').first().waitFor();
          await check('threads-panel');
          await page.getByRole('button', { name: 'Close threads' }).click();
        }
        await selectText(page, 'which of the two the council believed');
        await page.locator('.comment-button').click();
        await page.locator('[data-composer="true"]').waitFor();
        await check('composer');
        await page.keyboard.press('Escape');
        expect(found).toEqual({});

        // The toggle: system → light → dark → system; a choice outlives a reload.
        const menu = page.getByRole('button', { name: 'Menu' });
        const toggle = page.getByRole('button', { name: /^Theme:/ });
        if (await menu.isVisible()) await menu.click();
        await toggle.click();
        await page.getByRole('button', { name: 'Theme: light' }).waitFor();
        expect(await darkness()).toBeGreaterThan(200);
        await page.reload();
        await page.locator('.article-wrap[data-article-ready="true"]').waitFor();
        expect(await darkness()).toBeGreaterThan(200);
        if (await menu.isVisible()) await menu.click();
        await page.getByRole('button', { name: 'Theme: light' }).click();
        await page.getByRole('button', { name: 'Theme: dark' }).waitFor();
        await page.emulateMedia({ colorScheme: 'light' });
        expect(await darkness()).toBeLessThan(60);
        await page.getByRole('button', { name: 'Theme: dark' }).click();
        await page.getByRole('button', { name: 'Theme: system' }).waitFor();
        expect(await darkness()).toBeGreaterThan(200);
        expect(user.errors).toEqual([]);
        await user.context.close();
      },
    );
  }
});
