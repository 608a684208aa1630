/**
 * Importing annotations in the client (Export ▾ → "Import annotations…"): a W3C export of one document, made over
 * REST, is imported into another through the dialog; its threads, their comments and tags appear in the margin at
 * once and the dialog says what the server did. A file that is not JSON, a format the server refuses and a file too
 * large each show their own error and change nothing; viewers are not offered the import. And the Export menu
 * drops "the server cannot be reached" once the connection is back (issue 16, item 8).
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  browserAvailable,
  browserTest,
  launchBrowser,
  newUserPage,
  openDocument,
  screenshot,
  signIn,
  threadCard,
} from '../support/browser.js';
import { addMember, api, createDocument, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = [
  'The harbour master kept two ledgers: one for the customs office and one for himself.',
  'Historians who compared them found that the private ledger recorded nearly twice as many ships.',
].join('\n\n');

/** Small enough that a padded export passes it, large enough for everything else the tests send. */
const MAX_BODY_BYTES = 256 * 1024;

/** A Hypothesis-style annotation on words no article here has. */
const MOON = {
  '@context': 'http://www.w3.org/ns/anno.jsonld',
  id: 'https://hypothes.is/a/moon',
  type: 'Annotation',
  motivation: 'commenting',
  body: { type: 'TextualBody', value: 'Never happened.', purpose: 'commenting' },
  target: {
    source: 'https://example.org/harbour',
    selector: { type: 'TextQuoteSelector', exact: 'a tram to the moon' },
  },
  creator: { id: 'https://hypothes.is/u/zoe', type: 'Person', name: 'Zoe' },
};

const DESKTOP = { width: 1400, height: 900 };
const PHONE = { width: 390, height: 844 };

describe('importing annotations in the client', () => {
  let server: TestServer;
  let browser: Browser;
  /** The W3C export of the source document: two threads (three comments), each with a tag of its own colour. */
  let w3c: string;
  /** Imported into by the editor (desktop); the viewer's too. */
  let deskDoc: string;
  /** Imported into by the commenter (phone). */
  let phoneDoc: string;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer({ env: { MARGINALIA_MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
    browser = await launchBrowser();
    const admin = api(server.url, server.adminToken);
    const source = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Harbour ledgers' });
    for (const [tag, color] of [
      ['question', '#b4462b'],
      ['evidence', '#1f7a4d'],
    ] as const) {
      expect((await admin.put(`/documents/${source}/vocabulary/${tag}`, { color })).status).toBe(200);
    }
    const first = await admin.post(`/documents/${source}/threads`, {
      exact: 'one for the customs office',
      body: 'Which office, exactly?',
      tags: ['question'],
    });
    expect(first.status).toBe(201);
    expect(
      (await admin.post(`/documents/${source}/threads/${first.body.id}/comments`, { body: 'The one at the quay.' }))
        .status,
    ).toBe(201);
    const second = await admin.post(`/documents/${source}/threads`, {
      exact: 'nearly twice as many ships',
      body: 'Source: the 1848 survey.',
      tags: ['evidence'],
    });
    expect(second.status).toBe(201);
    const exported = await admin.get(`/documents/${source}/export?format=w3c`);
    expect(exported.status).toBe(200);
    w3c = exported.text;

    deskDoc = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Harbour ledgers (copy)' });
    phoneDoc = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Harbour ledgers (phone)' });
    await addMember(server, deskDoc, 'eda', 'Eda Editor', 'editor');
    await addMember(server, deskDoc, 'vic', 'Vic Viewer', 'viewer');
    await addMember(server, phoneDoc, 'cole', 'Cole Commenter', 'commenter');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const threadCount = async (docId: string) =>
    ((await api(server.url, server.adminToken).get(`/documents/${docId}/threads`)).body as unknown[]).length;

  /** Opens the import dialog from the Export menu (on a phone, inside the header's menu). */
  async function openImport(page: Page, phone = false): Promise<Locator> {
    if (phone) await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('button', { name: /^Export/ }).click();
    if (phone) await screenshot(page, 'import-annotations-menu-390x844-dark');
    await page.getByRole('menuitem', { name: /Import annotations/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Import annotations' });
    await dialog.waitFor();
    return dialog;
  }

  const file = (name: string, content: string) => ({
    name,
    mimeType: name.endsWith('.jsonld') ? 'application/ld+json' : 'application/json',
    buffer: Buffer.from(content),
  });

  browserTest('at 1400x900 an editor imports a W3C export: its threads, comments and tags appear', async () => {
    const user = await newUserPage(browser, server, DESKTOP);
    const { page } = user;
    await signIn(page, 'eda', 'eda-password');
    await openDocument(page, deskDoc);
    const dialog = await openImport(page);
    await dialog.getByLabel('File').setInputFiles(file('harbour-ledgers.jsonld', w3c));
    await dialog.locator('[data-import-file]', { hasText: 'W3C AnnotationCollection of 3 annotations' }).waitFor();
    expect(await dialog.getByLabel('Read it as').inputValue()).toBe('w3c');
    await screenshot(page, 'import-annotations-chosen-1400x900');

    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    const report = dialog.locator('[data-import-report]');
    await report.getByText('2 threads imported, 3 comments.').waitFor();
    // The threads reach the page through the live document, with their comments and their tags' colours.
    const office = threadCard(page, 'one for the customs office');
    await office.getByText('Which office, exactly?').waitFor();
    await office.getByText('The one at the quay.').waitFor();
    expect(await office.locator('.tag').innerText()).toContain('question');
    expect(await office.locator('.tag').getAttribute('style')).toContain('#b4462b');
    const ships = threadCard(page, 'nearly twice as many ships');
    await ships.getByText('Source: the 1848 survey.').waitFor();
    expect(await ships.locator('.tag').getAttribute('style')).toContain('#1f7a4d');
    await screenshot(page, 'import-annotations-report-1400x900');

    // The same file again: nothing is added twice.
    await dialog.getByRole('button', { name: 'Import another file' }).click();
    await dialog.getByLabel('File').setInputFiles(file('harbour-ledgers.jsonld', w3c));
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    await report.getByText('0 threads imported, 2 already there, 0 comments.').waitFor();

    // Another tool's annotation on words this article does not have: kept as an orphan, and said so.
    await dialog.getByRole('button', { name: 'Import another file' }).click();
    await dialog.getByLabel('File').setInputFiles(file('moon.json', JSON.stringify(MOON)));
    await dialog.locator('[data-import-file]', { hasText: 'a W3C Annotation of 1 annotation' }).waitFor();
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    await report.getByText('1 thread imported, 1 comment.').waitFor();
    await report
      .getByText(/1 passage not found in this article: its thread is listed under “Orphaned threads”/)
      .waitFor();
    await report.locator('li', { hasText: 'a tram to the moon' }).waitFor();
    await screenshot(page, 'import-annotations-orphan-1400x900');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await threadCount(deskDoc)).toBe(3);
    await screenshot(page, 'import-annotations-margin-1400x900');
    expect(user.errors).toEqual([]);
    await user.context.close();
  });

  browserTest(
    'at 390x844 in dark mode a commenter imports from the header menu; tags it may not add are named',
    async () => {
      const user = await newUserPage(browser, server, PHONE);
      const { page } = user;
      await page.emulateMedia({ colorScheme: 'dark' });
      await signIn(page, 'cole', 'cole-password');
      await openDocument(page, phoneDoc);
      const dialog = await openImport(page, true);
      await dialog.getByLabel('File').setInputFiles(file('harbour-ledgers.jsonld', w3c));
      await dialog.getByRole('button', { name: 'Import', exact: true }).click();
      const report = dialog.locator('[data-import-report]');
      await report.getByText('2 threads imported, 3 comments.').waitFor();
      await report.getByText(/Tags left off .*: (evidence, question|question, evidence)\./).waitFor();
      // The dialog fits the phone's width.
      const box = (await dialog.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await screenshot(page, 'import-annotations-report-390x844-dark');
      await dialog.getByRole('button', { name: 'Done' }).click();
      await page.getByRole('button', { name: /^Threads/ }).click();
      const office = threadCard(page, 'one for the customs office');
      await office.getByText('The one at the quay.').waitFor();
      expect(await office.locator('.tag').count()).toBe(0);
      await threadCard(page, 'nearly twice as many ships').getByText('Source: the 1848 survey.').waitFor();
      await screenshot(page, 'import-annotations-sheet-390x844-dark');
      expect(user.errors).toEqual([]);
      await user.context.close();
    },
  );

  browserTest(
    'a file that is not JSON, one the server refuses and one too large show errors and change nothing',
    async () => {
      const before = await threadCount(deskDoc);
      const user = await newUserPage(browser, server, DESKTOP);
      const { page } = user;
      await signIn(page, 'eda', 'eda-password');
      await openDocument(page, deskDoc);
      // By keyboard alone: Enter on Export, Tab to the import item, Enter.
      await page.getByRole('button', { name: /^Export/ }).focus();
      await page.keyboard.press('Enter');
      const item = page.getByRole('menuitem', { name: /Import annotations/ });
      await waitFor(
        async () => {
          if (await item.evaluate((el) => el === document.activeElement).catch(() => false)) return true;
          await page.keyboard.press('Tab');
          return false;
        },
        { message: 'Tab to reach "Import annotations…"' },
      );
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Import annotations' });
      await dialog.waitFor();
      expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
      const input = dialog.getByLabel('File');
      const importButton = dialog.getByRole('button', { name: 'Import', exact: true });
      const alert = dialog.getByRole('alert');

      await input.setInputFiles(file('notes.json', '{"items": [ this is not json'));
      await alert.getByText(/This file is not JSON/).waitFor();
      expect(await importButton.isDisabled()).toBe(true);

      // JSON of neither kind: the user picks a format, the server refuses it as that format.
      await input.setInputFiles(file('other.json', JSON.stringify({ hello: 'world' })));
      await dialog
        .locator('[data-import-file]', { hasText: 'neither W3C Web Annotations nor a Marginalia export' })
        .waitFor();
      expect(await alert.count()).toBe(0);
      await dialog.getByLabel('Read it as').selectOption('json');
      await importButton.click();
      await alert.getByText(/could not import this file as Marginalia JSON export: /).waitFor();
      await screenshot(page, 'import-annotations-refused-1400x900');

      // A real export padded past the server's body limit.
      const padded = JSON.stringify({ ...JSON.parse(w3c), padding: 'x'.repeat(MAX_BODY_BYTES) });
      await input.setInputFiles(file('huge.jsonld', padded));
      await dialog.locator('[data-import-file]', { hasText: 'W3C AnnotationCollection' }).waitFor();
      await importButton.click();
      await alert.getByText(/is larger than the server accepts/).waitFor();

      expect(await threadCount(deskDoc)).toBe(before);
      expect(await page.locator('[data-thread-card]').count()).toBe(before);
      // Escape closes the dialog and the focus goes back to the Export menu's toggle.
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      const exportToggle = page.getByRole('button', { name: /^Export/ });
      await waitFor(() => exportToggle.evaluate((el) => el === document.activeElement), {
        message: 'the focus back on Export',
      });
      await user.context.close();
    },
  );

  browserTest('a viewer is not offered the import', async () => {
    const user = await newUserPage(browser, server, DESKTOP);
    const { page } = user;
    await signIn(page, 'vic', 'vic-password');
    await openDocument(page, deskDoc);
    await page.getByRole('button', { name: /^Export/ }).click();
    const menu = page.getByRole('menu', { name: 'Export formats' });
    await menu.getByRole('menuitem', { name: /^Markdown/ }).waitFor();
    expect(await menu.getByRole('menuitem', { name: /Import/ }).count()).toBe(0);
    await user.context.close();
  });

  browserTest('the Export menu drops "cannot be reached" once the connection is back', async () => {
    const user = await newUserPage(browser, server, DESKTOP);
    const { page, context } = user;
    await signIn(page, 'vic', 'vic-password');
    await openDocument(page, deskDoc);
    await context.setOffline(true);
    await page.locator('[data-connection="offline"]').waitFor();
    await page.getByRole('button', { name: /^Export/ }).click();
    const menu = page.getByRole('menu', { name: 'Export formats' });
    await menu.getByRole('menuitem', { name: /^Markdown/ }).click();
    const alert = menu.getByRole('alert').getByText(/cannot be reached/);
    await alert.waitFor();
    await context.setOffline(false);
    await page.locator('[data-connection="connected"]').waitFor({ timeout: 20_000 });
    await alert.waitFor({ state: 'detached', timeout: 5_000 });
    // The menu stayed open and works again.
    await waitFor(async () => (await menu.getByRole('menuitem', { name: /^Markdown/ }).isEnabled()) === true);
    await user.context.close();
  });
});
