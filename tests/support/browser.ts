/**
 * Browser tests: Debian's Chromium driven by playwright-core (never `playwright install`). One browser per
 * test file, one context per user. Helpers speak the app's own vocabulary: sign in, open a document, select a
 * passage, comment. Screenshots of the main states go to tests/artifacts/screenshots/ (git-ignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '@jest/globals';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ROOT, addMember, type TestServer } from './server.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'tests', 'artifacts', 'screenshots');

/** Chromium is present, or the run demands it (then a missing browser fails the suite instead of skipping). */
export const browserAvailable = existsSync(CHROMIUM_PATH) || process.env.MARGINALIA_REQUIRE_SERVICES === '1';

/** `test`, or a skipped `[needs chromium] …` test when there is no browser here. */
export const browserTest: typeof test = browserAvailable
  ? test
  : (((name: string) => test.skip(`[needs chromium] ${name}`, () => {})) as unknown as typeof test);

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}

export interface UserPage {
  context: BrowserContext;
  page: Page;
  /** Messages the page logged as errors, and uncaught exceptions. */
  errors: string[];
  /** Dialogs (alert/confirm/prompt) the page opened. */
  dialogs: string[];
}

export async function newUserPage(
  browser: Browser,
  server: TestServer,
  viewport = { width: 1280, height: 860 },
): Promise<UserPage> {
  const context = await browser.newContext({ baseURL: server.url, viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.accept();
  });
  return { context, page, errors, dialogs };
}

/**
 * Makes each person a member of the document and opens it for each, signed in, in a browser context of their own
 * (in the order given). Their password is the test convention, `<username>-password`.
 */
export async function membersOnDocument(
  browser: Browser,
  server: TestServer,
  docId: string,
  people: { username: string; name: string; role: string }[],
): Promise<UserPage[]> {
  for (const p of people) await addMember(server, docId, p.username, p.name, p.role);
  const pages: UserPage[] = [];
  for (const p of people) {
    const user = await newUserPage(browser, server);
    await signIn(user.page, p.username, `${p.username}-password`);
    pages.push(user);
  }
  await Promise.all(pages.map((user) => openDocument(user.page, docId)));
  return pages;
}

export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/');
  const accountTab = page.getByRole('tab', { name: 'Account' });
  await page.getByLabel(/Username|Your name/).waitFor();
  if (await accountTab.count()) await accountTab.click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Documents' }).waitFor();
}

export async function signInAsGuest(page: Page, name: string): Promise<void> {
  await page.goto('/');
  await page.getByRole('tab', { name: 'Guest' }).click();
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Continue as guest' }).click();
  await page.getByRole('heading', { name: 'Documents' }).waitFor();
}

/** Opens a document and waits until its article is on screen, bound, and the connection is live. */
export async function openDocument(page: Page, docId: string, { online = true } = {}): Promise<void> {
  await page.goto(`/d/${encodeURIComponent(docId)}`);
  await waitForArticle(page, { online });
}

export async function waitForArticle(page: Page, { online = true } = {}): Promise<void> {
  await page.locator('.article-wrap[data-article-ready="true"]').waitFor({ timeout: 15_000 });
  if (online) await page.locator('[data-connection="connected"]').waitFor({ timeout: 15_000 });
}

export function article(page: Page): Locator {
  return page.locator('.article-content');
}

/** The article's text as the page shows it (Lexical's text content: blocks joined by a blank line). */
export async function articleText(page: Page): Promise<string> {
  return page.locator('.article-content').evaluate((root) => {
    const blocks = Array.from(root.children).map((el) => (el as HTMLElement).innerText.replace(/\n+$/, ''));
    return blocks.join('\n\n');
  });
}

/**
 * Selects the `occurrence`-th appearance of `text` in the article, as a user's drag would (a DOM Range set
 * as the document selection, so `selectionchange` fires).
 */
export async function selectText(page: Page, text: string, occurrence = 0): Promise<void> {
  const found = await page.locator('.article-content').evaluate(
    (root, { text, occurrence }) => {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      const nodes: Text[] = [];
      for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n as Text);
      const joined = nodes.map((n) => n.data).join('');
      let at = -1;
      for (let i = 0; i <= occurrence; i++) {
        at = joined.indexOf(text, at + 1);
        if (at === -1) return false;
      }
      const locate = (offset: number, preferNext: boolean): [Text, number] => {
        let seen = 0;
        for (const node of nodes) {
          const end = seen + node.data.length;
          if (offset < end || (!preferNext && offset === end)) return [node, offset - seen];
          seen = end;
        }
        const last = nodes[nodes.length - 1]!;
        return [last, last.data.length];
      };
      const [startNode, startOffset] = locate(at, true);
      const [endNode, endOffset] = locate(at + text.length, false);
      const range = document.createRange();
      range.setStart(startNode, startOffset);
      range.setEnd(endNode, endOffset);
      const selection = window.getSelection()!;
      // Resolve once the page (Lexical, the selection action) has seen the change: selectionchange is async.
      const seen = new Promise<void>((resolve) =>
        document.addEventListener('selectionchange', () => requestAnimationFrame(() => resolve()), { once: true }),
      );
      selection.removeAllRanges();
      selection.addRange(range);
      return seen.then(() => true);
    },
    { text, occurrence },
  );
  if (!found) throw new Error(`"${text}" is not in the article`);
}

/** Selects a passage and writes a new thread on it with the floating "Comment" button. */
export async function commentOn(page: Page, passage: string, body: string): Promise<void> {
  await selectText(page, passage);
  await page.getByRole('button', { name: 'Comment', exact: false }).and(page.locator('.comment-button')).click();
  const composer = page.locator('[data-composer="true"]');
  await composer.getByRole('textbox').fill(body);
  await composer.getByRole('button', { name: 'Comment' }).click();
  await composer.waitFor({ state: 'detached' });
}

/** The card of the thread whose quote is exactly `quote`. */
export function threadCard(page: Page, quote: string): Locator {
  return page.locator('[data-thread-card]').filter({ has: page.locator('.thread-quote', { hasText: quote }) });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
