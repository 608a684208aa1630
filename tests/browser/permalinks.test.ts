/**
 * Permalinks in Chromium: `/d/:docId/t/:threadId` opens the document scrolled to the thread's passage with the
 * thread focused (deep in a long article, a resolved thread, an orphan), `…/c/:commentId` highlights the comment,
 * the page does not jump afterwards, the address follows the focused thread, every card has "Copy link", and the
 * W3C export's annotation ids bring a browser to the permalink.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { browserAvailable, browserTest, launchBrowser, newUserPage, screenshot, signIn } from '../support/browser.js';
import { ADMIN, api, createDocument, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** A long article: eight sections of several paragraphs, each paragraph with its own marker. */
const LONG_ARTICLE = [
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

/** The page's scroller position and where a piece of article text is on screen (null: not in the article). */
async function where(page: Page, text: string): Promise<{ scrollTop: number; top: number; bottom: number } | null> {
  return page.evaluate((text) => {
    const root = document.querySelector('.article-content')!;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const at = (n as Text).data.indexOf(text);
      if (at === -1) continue;
      const range = document.createRange();
      range.setStart(n, at);
      range.setEnd(n, at + text.length);
      const rect = range.getBoundingClientRect();
      return { scrollTop: document.querySelector('.doc-scroll')!.scrollTop, top: rect.top, bottom: rect.bottom };
    }
    return null;
  }, text);
}

/** Lets the page render `n` frames (to see that nothing moves meanwhile). */
const frames = (page: Page, n = 30) =>
  page.evaluate(
    (n) =>
      new Promise<void>((resolve) => {
        const step = (left: number) => (left === 0 ? resolve() : requestAnimationFrame(() => step(left - 1)));
        step(n);
      }),
    n,
  );

describe('permalinks to threads and comments', () => {
  let server: TestServer;
  let browser: Browser;
  let doc: string;
  let deep: { id: string; commentId: string };
  let reply: string;
  let resolved: string;
  let orphan: string;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer({ env: { MARGINALIA_SAMPLE: '0' } });
    browser = await launchBrowser();
    const admin = api(server.url, server.adminToken);
    doc = await createDocument(server.url, server.adminToken, LONG_ARTICLE, {
      title: 'Harbour accounts',
      format: 'markdown',
    });
    const t = await admin.post(`/documents/${doc}/threads`, { exact: 'marker 8.3', body: 'Check the last season.' });
    expect(t.status).toBe(201);
    deep = { id: t.body.id, commentId: t.body.commentId };
    const r = await admin.post(`/documents/${doc}/threads/${deep.id}/comments`, { body: 'The books disagree here.' });
    reply = r.body.id;
    const done = await admin.post(`/documents/${doc}/threads`, { exact: 'marker 6.2', body: 'Settled last week.' });
    resolved = done.body.id;
    expect((await admin.patch(`/documents/${doc}/threads/${resolved}`, { status: 'resolved' })).status).toBe(200);
    // An orphan: an annotation whose passage is not in the article, imported.
    const w3c = JSON.parse((await admin.get(`/documents/${doc}/export?format=w3c`)).text);
    const annotation = w3c.first.items.find((a: { id: string }) => a.id.endsWith(deep.id));
    const gone = {
      ...annotation,
      id: `urn:uuid:${crypto.randomUUID()}`,
      body: [{ type: 'TextualBody', purpose: 'commenting', value: 'This passage was cut.' }],
      target: {
        source: annotation.target.source,
        selector: [{ type: 'TextQuoteSelector', exact: 'a paragraph long since cut' }],
      },
    };
    const imported = await admin.post(`/documents/${doc}/import?format=w3c`, {
      ...w3c,
      first: { ...w3c.first, items: [gone] },
    });
    expect(imported.status).toBe(200);
    const threads = (await admin.get(`/documents/${doc}/threads`)).body as { id: string; anchorState: string }[];
    orphan = threads.find((x) => x.anchorState === 'orphan')!.id;
    expect(orphan).toBeTruthy();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const signedIn = async (viewport = { width: 1400, height: 900 }) => {
    const user = await newUserPage(browser, server, viewport);
    await signIn(user.page, ADMIN.username, ADMIN.password);
    return user;
  };

  browserTest(
    'deep in a long article: scrolled to the passage, the thread focused, and the page stays put',
    async () => {
      const { page, errors, context } = await signedIn();
      await page.goto(`/d/${doc}/t/${deep.id}`);
      const card = page.locator(`[data-thread-card="${deep.id}"]`);
      await card.and(page.locator('.active')).waitFor();
      await waitFor(
        async () => {
          const at = await where(page, 'marker 8.3');
          return at && at.top > 56 && at.bottom < 900;
        },
        { message: 'the passage to be on screen' },
      );
      const before = await where(page, 'marker 8.3');
      expect(before!.scrollTop).toBeGreaterThan(1000);
      await frames(page);
      await page.waitForLoadState('networkidle');
      await frames(page);
      expect(await where(page, 'marker 8.3')).toEqual(before);
      await expect(card.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
      expect(new URL(page.url()).pathname).toBe(`/d/${doc}/t/${deep.id}`);
      await screenshot(page, 'permalink-deep-1400');
      expect(errors).toEqual([]);
      await context.close();
    },
  );

  browserTest('a comment permalink highlights the comment; the address then follows the focused thread', async () => {
    const { page, errors, context } = await signedIn();
    await page.goto(`/d/${doc}/t/${deep.id}/c/${reply}`);
    const comment = page.locator(`[data-thread-card="${deep.id}"] li.comment.linked[data-comment-id="${reply}"]`);
    await comment.waitFor();
    await expect(page.locator('li.comment.linked').count()).resolves.toBe(1);
    expect(new URL(page.url()).pathname).toBe(`/d/${doc}/t/${deep.id}/c/${reply}`);
    // Focusing another thread: the address names it (and no longer the comment).
    await page.goto(`/d/${doc}/t/${resolved}`);
    const other = page.locator(`[data-thread-card="${resolved}"]`);
    await other.and(page.locator('.active')).waitFor();
    await page.keyboard.press('Escape');
    await waitFor(async () => new URL(page.url()).pathname === `/d/${doc}`, {
      message: 'the address to drop the thread',
    });
    await other.click();
    await waitFor(async () => new URL(page.url()).pathname === `/d/${doc}/t/${resolved}`, {
      message: 'the address to follow the focused thread',
    });
    expect(errors).toEqual([]);
    await context.close();
  });

  browserTest(
    'a resolved thread is shown unfolded and focused; an orphan is shown under "Orphaned threads"',
    async () => {
      const { page, errors, context } = await signedIn();
      await page.goto(`/d/${doc}/t/${resolved}`);
      const card = page.locator(`[data-thread-card="${resolved}"]`);
      await card.and(page.locator('.active')).waitFor();
      await expect(card.getAttribute('data-folded')).resolves.toBe('false');
      await expect(card.getAttribute('data-status')).resolves.toBe('resolved');
      await waitFor(
        async () => {
          const at = await where(page, 'marker 6.2');
          return at && at.top > 56 && at.bottom < 900;
        },
        { message: 'the resolved passage on screen' },
      );

      await page.goto(`/d/${doc}/t/${orphan}`);
      const orphanCard = page.locator(`.orphans [data-thread-card="${orphan}"]`);
      await orphanCard.and(page.locator('.active')).waitFor();
      await waitFor(
        async () => {
          const box = await orphanCard.boundingBox();
          return box && box.y >= 0 && box.y < 900;
        },
        { message: 'the orphan card on screen' },
      );
      await expect(orphanCard.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
      expect(errors).toEqual([]);
      await context.close();
    },
  );

  browserTest('every card has "Copy link", which copies its permalink', async () => {
    const { page, errors, context } = await signedIn();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.goto(`/d/${doc}/t/${deep.id}`);
    const card = page.locator(`[data-thread-card="${deep.id}"]`);
    await card.and(page.locator('.active')).waitFor();
    const copy = card.getByRole('button', { name: 'Copy link' });
    await copy.click();
    await card.getByRole('button', { name: 'Link copied' }).waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(`${server.url}/d/${doc}/t/${deep.id}`);
    // An orphan's card, in the list under the article, has it too.
    await page.goto(`/d/${doc}/t/${orphan}`);
    const orphanCard = page.locator(`.orphans [data-thread-card="${orphan}"]`);
    await orphanCard.and(page.locator('.active')).waitFor();
    await expect(orphanCard.locator('[data-copy-link]').getAttribute('data-copy-link')).resolves.toBe(
      `${server.url}/d/${doc}/t/${orphan}`,
    );
    expect(errors).toEqual([]);
    await context.close();
  });

  browserTest("the W3C export's annotation id brings a browser to the thread's permalink", async () => {
    const { page, errors, context } = await signedIn();
    const w3c = JSON.parse((await api(server.url, server.adminToken).get(`/documents/${doc}/export?format=w3c`)).text);
    const id: string = w3c.first.items.find((a: { id: string }) => a.id.endsWith(`/threads/${deep.id}`)).id;
    await page.goto(new URL(id).pathname);
    await page.locator(`[data-thread-card="${deep.id}"].active`).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/d/${doc}/t/${deep.id}`);
    expect(errors).toEqual([]);
    await context.close();
  });

  browserTest('on a phone the permalink opens the threads panel on the focused thread', async () => {
    const { page, errors, context } = await signedIn({ width: 390, height: 844 });
    await page.goto(`/d/${doc}/t/${deep.id}/c/${reply}`);
    const comment = page.locator(`#threads-sheet li.comment.linked[data-comment-id="${reply}"]`);
    await comment.waitFor();
    await waitFor(
      async () => {
        const at = await where(page, 'marker 8.3');
        return at && at.top > 0 && at.bottom < 844;
      },
      { message: 'the passage on screen' },
    );
    await screenshot(page, 'permalink-comment-390');
    expect(errors).toEqual([]);
    await context.close();
  });
});
