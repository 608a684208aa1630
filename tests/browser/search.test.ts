/**
 * Search and "new since your last visit" in Chromium: the library's search box and `/`, results grouped by
 * document with the matched words marked, filters, more results as the list scrolls, a result opening its
 * permalink; "N new" badges in the library and new comments marked in the margin until read. Screenshots at
 * 1400 and 390 pixels wide.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { browserAvailable, browserTest, launchBrowser, newUserPage, screenshot, signIn } from '../support/browser.js';
import { addMember, api, createDocument, startServer, type Member, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const LEDGER = Array.from(
  { length: 36 },
  (_, i) => `Entry ${i + 1}: the clerks counted cargo and duties at the harbour gate (line ${i + 1}).`,
).join('\n\n');

describe('search and what is new, in the browser', () => {
  let server: TestServer;
  let browser: Browser;
  let ledger: string;
  let notes: string;
  let ann: Member;
  let bob: Member;
  let bobThread: { id: string; commentId: string };

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer({ env: { MARGINALIA_SAMPLE: '0', MARGINALIA_PROJECTION_DELAY_MS: '20' } });
    browser = await launchBrowser();
    ledger = await createDocument(server.url, server.adminToken, LEDGER, { title: 'Harbour ledger' });
    notes = await createDocument(server.url, server.adminToken, 'Tungsten prices rose sharply in spring.', {
      title: 'Metal notes',
    });
    ann = await addMember(server, ledger, 'ann', 'Ann Ferreira', 'commenter');
    await api(server.url, server.adminToken).put(`/documents/${notes}/members/ann`, { role: 'commenter' });
    bob = await addMember(server, ledger, 'bob', 'Bob Okonkwo', 'commenter');
    const t = await api(server.url, bob.token).post(`/documents/${ledger}/threads`, {
      exact: 'line 30',
      body: 'The tungsten duty figures look doubled here.',
    });
    expect(t.status).toBe(201);
    bobThread = { id: t.body.id, commentId: t.body.commentId };
    await api(server.url, bob.token).post(`/documents/${ledger}/threads/${t.body.id}/comments`, {
      body: 'Compare with the spring ledger.',
    });
    // indexed
    await waitFor(async () => (await api(server.url, ann.token).get('/search?q=doubled')).body?.items?.length === 1, {
      message: 'the comments to be indexed',
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest('the library search box and "/" lead to results grouped by document, words marked', async () => {
    const { page, errors, context } = await newUserPage(browser, server, { width: 1400, height: 900 });
    await signIn(page, 'ann', 'ann-password');
    await page.keyboard.press('/');
    const box = page.getByRole('searchbox', { name: 'Search all documents' });
    await expect(box.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await box.fill('tungsten');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/search\?q=tungsten/);
    const groups = page.locator('.result-group');
    await waitFor(async () => (await groups.count()) === 2, { message: 'two documents of results' });
    const titles = await groups.locator('h2').allInnerTexts();
    expect(titles.sort()).toEqual(['Harbour ledger', 'Metal notes']);
    const marks = await page.locator('.result mark').allInnerTexts();
    expect(marks.length).toBeGreaterThanOrEqual(2);
    expect(marks.every((m) => m.toLowerCase() === 'tungsten')).toBe(true);
    await screenshot(page, 'search-results-1400');
    // A filter: comments only
    await page.getByLabel('Find in').selectOption('comment');
    await page.waitForURL(/kind=comment/);
    await waitFor(async () => (await page.locator('.result').count()) === 1, { message: 'one comment' });
    // A result opens its permalink
    await page.locator('.result a.result-link').first().click();
    await page.waitForURL(new RegExp(`/d/${ledger}/t/${bobThread.id}/c/${bobThread.commentId}$`));
    await page.locator(`li.comment.linked[data-comment-id="${bobThread.commentId}"]`).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  browserTest('more results load as the list is scrolled', async () => {
    const { page, errors, context } = await newUserPage(browser, server, { width: 1400, height: 900 });
    await signIn(page, 'ann', 'ann-password');
    await page.goto('/search?q=clerks&kind=article');
    const results = page.locator('.result');
    await waitFor(async () => (await results.count()) === 30, { message: 'the first page' });
    await page.locator('.results-end').scrollIntoViewIfNeeded();
    await waitFor(async () => (await results.count()) === 36, { message: 'the rest, after scrolling' });
    const lines = await results.locator('.snippet').allInnerTexts();
    expect(new Set(lines).size).toBe(36);
    expect(errors).toEqual([]);
    await context.close();
  });

  browserTest('on a phone the results and the library with its search box fit the screen', async () => {
    const { page, errors, context } = await newUserPage(browser, server, { width: 390, height: 844 });
    await signIn(page, 'ann', 'ann-password');
    await page.goto('/search?q=tungsten');
    await page.locator('.result-group').first().waitFor();
    const wide = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
    expect(wide).toBe(false);
    await screenshot(page, 'search-results-390');
    await page.goto('/');
    await page.getByRole('searchbox', { name: 'Search all documents' }).waitFor();
    const libraryWide = await page.evaluate(
      () => document.documentElement.scrollWidth > document.documentElement.clientWidth,
    );
    expect(libraryWide).toBe(false);
    await screenshot(page, 'library-390');
    expect(errors).toEqual([]);
    await context.close();
  });

  browserTest(
    '"N new" in the library; new comments marked in the margin until read; gone after the visit',
    async () => {
      // Carol has never opened the ledger: both of Bob's comments are new to her.
      await addMember(server, ledger, 'carol', 'Carol Lind', 'commenter');
      const { page, errors, context } = await newUserPage(browser, server, { width: 1400, height: 900 });
      await signIn(page, 'carol', 'carol-password');
      const badge = page.locator(`tr[data-doc-id="${ledger}"] .new-count`);
      await badge.waitFor();
      await expect(badge.innerText()).resolves.toBe('2 new');
      await expect(page.locator(`tr[data-doc-id="${notes}"] .new-count`).count()).resolves.toBe(0);
      await screenshot(page, 'library-new-1400');
      await page.goto(`/d/${ledger}/t/${bobThread.id}`);
      const card = page.locator(`[data-thread-card="${bobThread.id}"]`);
      await card.waitFor();
      // Focused at once by the permalink: read. Another visitor's view of an unfocused card is checked below.
      await page.goto('/');
      await waitFor(async () => (await badge.count()) === 0, { message: 'the badge to go after the visit' });
      // Bob writes again: new to Ann, marked on the card until she focuses it.
      await api(server.url, bob.token).post(`/documents/${ledger}/threads/${bobThread.id}/comments`, {
        body: 'Third look.',
      });
      await waitFor(
        async () => {
          await page.reload();
          await page.getByRole('heading', { name: 'Documents' }).waitFor();
          return (await badge.count()) === 1 && (await badge.innerText()) === '1 new';
        },
        { message: 'one new comment in the library' },
      );
      await page.goto(`/d/${ledger}`);
      await page.locator('.article-wrap[data-article-ready="true"]').waitFor();
      await page.locator('.doc-scroll').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
      const fresh = page.locator(`[data-thread-card="${bobThread.id}"].has-new li.comment.new`);
      await waitFor(async () => (await fresh.count()) === 1, { message: 'the new comment marked' });
      await expect(fresh.innerText()).resolves.toContain('Third look.');
      await page.locator(`[data-thread-card="${bobThread.id}"] .comment-body`).first().click();
      await waitFor(async () => (await fresh.count()) === 0, { message: 'the mark to go once read' });
      expect(errors).toEqual([]);
      await context.close();
    },
  );

  browserTest('the in-document search also finds the article text, steps through it and scrolls to each', async () => {
    const { page, errors, context } = await newUserPage(browser, server, { width: 1400, height: 900 });
    await signIn(page, 'ann', 'ann-password');
    await page.goto(`/d/${ledger}`);
    await page.locator('.article-wrap[data-article-ready="true"]').waitFor();
    const box = page.getByLabel('Search comments, quotes and text');
    await box.fill('line 35');
    const status = page.locator('.article-find');
    await waitFor(async () => (await status.innerText()).includes('1 in the article'), { message: 'one match' });
    await box.press('Enter');
    await waitFor(async () => (await status.innerText()).includes('1 of 1 in the article'), { message: 'stepped' });
    // The match is on screen, highlighted (the CSS highlight holds the range of its text).
    const shown = await page.evaluate(() => {
      const current = (CSS as unknown as { highlights: Map<string, Set<Range>> }).highlights.get(
        'article-find-current',
      );
      const range = current ? [...current][0] : null;
      if (!range) return null;
      const rect = range.getBoundingClientRect();
      return { text: range.toString(), top: rect.top, bottom: rect.bottom, height: window.innerHeight };
    });
    expect(shown).not.toBeNull();
    expect(shown!.text).toBe('line 35');
    expect(shown!.top).toBeGreaterThan(100);
    expect(shown!.bottom).toBeLessThan(shown!.height);
    await box.fill('harbour gate');
    await waitFor(async () => (await status.innerText()).includes('36 in the article'), { message: '36 matches' });
    await page.getByRole('button', { name: 'Previous match in the article' }).click();
    await waitFor(async () => (await status.innerText()).includes('36 of 36'), { message: 'the last one' });
    expect(errors).toEqual([]);
    await context.close();
  });
});
