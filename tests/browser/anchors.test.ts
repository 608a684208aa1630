/**
 * Anchors as a user sees them: deleting the first words of a highlighted passage leaves the highlight on the
 * words that remain; an orphaned thread is re-attached to a new selection from its card. At 1400x900 and
 * 390x844, with screenshots of each state under tests/artifacts/screenshots/anchors-*.
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
} from '../support/browser.js';
import { ADMIN, addMember, api, createDocument, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = [
  'The harbour ledger',
  'When the railway arrived, the trade moved inland within a decade, and the quays fell silent.',
  'The customs house kept its books for another forty years, counting ships that no longer came.',
  'Nobody wrote down when the last clerk left, but the ledger ends in the spring of 1911.',
].join('\n\n');

const SIZES = [
  { width: 1400, height: 900 },
  { width: 390, height: 844 },
];

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The box of the first occurrence of `text` in the article, as laid out on screen. */
async function textBox(page: Page, text: string): Promise<Box> {
  const box = await page.locator('.article-content').evaluate((root, needle) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const at = (n as Text).data.indexOf(needle);
      if (at === -1) continue;
      const range = document.createRange();
      range.setStart(n, at);
      range.setEnd(n, at + needle.length);
      const r = range.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }
    return null;
  }, text);
  if (!box) throw new Error(`"${text}" is not in the article`);
  return box;
}

/** The union of a thread's highlight rectangles on screen (null when it draws none). */
async function highlightBox(page: Page, threadId: string): Promise<Box | null> {
  const rects = await page.locator(`[data-highlight="${threadId}"] .hl-rect`).evaluateAll((els) =>
    els.map((el) => {
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, right: r.right, bottom: r.bottom };
    }),
  );
  if (rects.length === 0) return null;
  const x = Math.min(...rects.map((r) => r.x));
  const y = Math.min(...rects.map((r) => r.y));
  return {
    x,
    y,
    width: Math.max(...rects.map((r) => r.right)) - x,
    height: Math.max(...rects.map((r) => r.bottom)) - y,
  };
}

/** Whether `inner` lies within `outer`, give or take a pixel or two of rounding. */
function within(inner: Box, outer: Box, slack = 2): boolean {
  return (
    inner.x >= outer.x - slack &&
    inner.y >= outer.y - slack &&
    inner.x + inner.width <= outer.x + outer.width + slack &&
    inner.y + inner.height <= outer.y + outer.height + slack
  );
}

/** Closes the threads sheet where it is open (narrow screens): the orphans are listed in the page below it. */
async function hideThreads(page: Page): Promise<void> {
  const close = page.getByRole('button', { name: 'Close threads' });
  if (await close.isVisible()) await close.click();
}

describe('anchors in the browser', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  for (const size of SIZES) {
    const name = `${size.width}x${size.height}`;

    browserTest(`at ${name}: first words of a passage deleted, its highlight stays on the rest`, async () => {
      const docId = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Harbour ledger' });
      const user = await newUserPage(browser, server, size);
      const { page } = user;
      await signIn(page, ADMIN.username, ADMIN.password);
      await openDocument(page, docId);
      const passage = 'the trade moved inland within a decade';
      await commentOn(page, passage, 'Why inland?');
      const card = threadCard(page, passage);
      await card.waitFor({ state: 'attached' });
      const id = (await card.getAttribute('data-thread-card'))!;
      await page.locator(`[data-highlight="${id}"] .hl-rect`).first().waitFor();
      await page.locator('.article-content').focus();
      await selectText(page, 'the trade moved ');
      await page.keyboard.press('Backspace');
      await page.locator('.article-content', { hasText: 'arrived, inland within a decade' }).waitFor();
      await page.locator(`[data-thread-card="${id}"][data-anchor="moved"]`).waitFor({ state: 'attached' });
      // Drawn on what remains, and on nothing else.
      const rest = await textBox(page, 'inland within a decade');
      const drawn = await highlightBox(page, id);
      expect(drawn).not.toBeNull();
      expect(within(drawn!, rest)).toBe(true);
      expect(within(rest, drawn!)).toBe(true);
      await screenshot(page, `anchors-partial-delete-${name}`);
      const threads = (await api(server.url, server.adminToken).get(`/documents/${docId}/threads`)).body as Array<{
        id: string;
        start: number;
        end: number;
        anchorState: string;
      }>;
      const text = (await api(server.url, server.adminToken).get(`/documents/${docId}/text`)).text;
      const stored = threads.find((t) => t.id === id)!;
      expect(stored.anchorState).toBe('moved');
      expect(text.slice(stored.start, stored.end)).toBe('inland within a decade');
      expect(user.errors).toEqual([]);
      await user.context.close();
    });

    browserTest(`at ${name}: an orphan is re-attached to a new selection from its card`, async () => {
      const docId = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Harbour ledger' });
      const cole = `cole${size.width}`;
      await addMember(server, docId, cole, 'Cole Commenter', 'commenter');
      const user = await newUserPage(browser, server, size);
      const { page } = user;
      await signIn(page, ADMIN.username, ADMIN.password);
      await openDocument(page, docId);
      const passage = 'counting ships that no longer came';
      await commentOn(page, passage, 'Which ships?');
      const card = threadCard(page, passage);
      await card.waitFor({ state: 'attached' });
      const id = (await card.getAttribute('data-thread-card'))!;
      // The passage is deleted whole: the thread is an orphan.
      await page.locator('.article-content').focus();
      await selectText(page, ', counting ships that no longer came');
      await page.keyboard.press('Backspace');
      await page.locator(`[data-thread-card="${id}"][data-anchor="orphan"]`).first().waitFor({ state: 'attached' });
      // On a narrow screen the threads panel points to the orphan listed below the article.
      if (size.width < 700) {
        if (!(await page.getByRole('button', { name: 'Close threads' }).isVisible()))
          await page.locator('.threads-toggle').click();
        await screenshot(page, `anchors-orphan-pointer-${name}`);
        await page.getByRole('button', { name: 'Show 1 orphaned thread below the article' }).click();
        await page.getByRole('button', { name: 'Close threads' }).waitFor({ state: 'hidden' });
        await page.getByRole('heading', { name: /Orphaned threads/ }).waitFor({ state: 'visible' });
      }
      // Without a selection the card offers no re-attaching.
      await hideThreads(page);
      const orphanCard = page.locator(`[data-thread-card="${id}"]`).first();
      await orphanCard.scrollIntoViewIfNeeded();
      expect(await orphanCard.getByRole('button', { name: 'Re-attach to selection' }).count()).toBe(0);
      await screenshot(page, `anchors-orphan-${name}`);
      // A commenter who did not create the orphan is not offered it, even with words selected.
      const other = await newUserPage(browser, server, size);
      await signIn(other.page, cole, `${cole}-password`);
      await openDocument(other.page, docId);
      const otherCard = other.page.locator(`[data-thread-card="${id}"][data-anchor="orphan"]`).first();
      await otherCard.waitFor({ state: 'attached' });
      await selectText(other.page, 'the quays fell silent');
      await other.page.locator('.comment-button').waitFor();
      expect(await otherCard.getByRole('button', { name: 'Re-attach to selection' }).count()).toBe(0);
      await other.context.close();
      // Select the words it should now be about, then re-attach from the card.
      await selectText(page, 'the ledger ends in the spring of 1911');
      const button = orphanCard.getByRole('button', { name: 'Re-attach to selection' });
      await button.waitFor();
      await orphanCard.scrollIntoViewIfNeeded();
      await screenshot(page, `anchors-reattach-offered-${name}`);
      await button.click();
      await page
        .locator(`[data-thread-card="${id}"][data-anchor="exact"]`)
        .filter({ has: page.locator('.thread-quote', { hasText: 'the ledger ends in the spring of 1911' }) })
        .waitFor({ state: 'attached' });
      await page.locator(`[data-highlight="${id}"] .hl-rect`).first().waitFor();
      const drawn = await highlightBox(page, id);
      expect(within(drawn!, await textBox(page, 'the ledger ends in the spring of 1911'))).toBe(true);
      await screenshot(page, `anchors-reattached-${name}`);
      // Stored for everyone: the server resolves it exactly on the new passage.
      const a = api(server.url, server.adminToken);
      type Stored = { id: string; anchorState: string; start: number; end: number; quote: { exact: string } };
      const stored = await waitFor(
        async () => {
          const threads = (await a.get(`/documents/${docId}/threads`)).body as Stored[];
          const t = threads.find((x) => x.id === id);
          return t?.quote.exact === 'the ledger ends in the spring of 1911' ? t : null;
        },
        { message: 'the re-attached thread stored on the server' },
      );
      expect(stored).toMatchObject({ anchorState: 'exact', quote: { exact: 'the ledger ends in the spring of 1911' } });
      const text = (await a.get(`/documents/${docId}/text`)).text;
      expect(text.slice(stored.start, stored.end)).toBe('the ledger ends in the spring of 1911');
      expect(user.errors).toEqual([]);
      await user.context.close();
    });
  }
});
