/**
 * The article at first paint, in Chromium: a document's page carries the article as static HTML
 * (server/src/http/document-page.ts), so a reader sees the text on screen before the app has run or synced the
 * document, even when the collaboration socket answers nothing at all; once the editor shows the synced article it
 * takes the preview's place, and the text is on the page once. At desktop and phone widths.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser } from 'playwright-core';
import {
  articleText,
  browserAvailable,
  browserTest,
  launchBrowser,
  newUserPage,
  screenshot,
  signIn,
  waitForArticle,
} from '../support/browser.js';
import { ADMIN, createDocument, startServer, type TestServer } from '../support/server.js';

const ARTICLE =
  '# Grain prices\n\nThe harvest came in late this year.\n\nMarkets in the north opened with *thin* stock.';

describe('the article at first paint', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer({ env: { MARGINALIA_SAMPLE: '0' } });
    docId = await createDocument(server.url, server.adminToken, ARTICLE, { format: 'markdown' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  for (const [width, height] of [
    [1400, 900],
    [390, 844],
  ] as const) {
    browserTest(
      `at ${width} px: readable while the socket is silent, then replaced by the synced editor`,
      async () => {
        const user = await newUserPage(browser, server, { width, height });
        const { page, context } = user;
        try {
          await signIn(page, ADMIN.username, ADMIN.password);
          // Before the app has run (here: never, scripts are off), the page shows the article on screen.
          const bare = await browser.newContext({
            baseURL: server.url,
            viewport: { width, height },
            javaScriptEnabled: false,
          });
          try {
            await bare.addCookies(await context.cookies());
            const first = await bare.newPage();
            await first.goto(`/d/${docId}`);
            const line = first.locator('.article-preview').getByText('The harvest came in late this year.');
            expect(await line.isVisible()).toBe(true);
            const box = await line.boundingBox();
            expect(box && box.y >= 0 && box.y + box.height <= height).toBe(true);
            await screenshot(first, `article-preview-before-app-${width}`);
          } finally {
            await bare.close();
          }
          // A socket that is accepted and never answers: the document cannot sync.
          await page.routeWebSocket(/\/collab/, () => {});
          await page.goto(`/d/${docId}`);
          const preview = page.locator('.article-preview');
          await preview.getByText('The harvest came in late this year.').waitFor({ timeout: 15_000 });
          expect(await preview.locator('h1').innerText()).toBe('Grain prices');
          expect(await preview.locator('.a-italic').innerText()).toBe('thin');
          // Set as the editor sets the article.
          expect(
            await preview
              .locator('p')
              .first()
              .evaluate((p) => getComputedStyle(p).fontFamily),
          ).toMatch(/serif/i);
          expect(await page.locator('.article-wrap[data-article-ready="true"]').count()).toBe(0);
          await screenshot(page, `article-preview-silent-${width}`);

          // With a socket that works, the editor takes over: the text is on the page once, in the editor.
          await page.close();
          const page2 = await context.newPage();
          page2.on('pageerror', (error) => user.errors.push(`pageerror: ${error.message}`));
          await page2.goto(`/d/${docId}`);
          await waitForArticle(page2);
          expect(await page2.locator('.article-preview').count()).toBe(0);
          expect(await page2.locator('#article-preview').count()).toBe(0);
          expect(await articleText(page2)).toBe(
            'Grain prices\n\nThe harvest came in late this year.\n\nMarkets in the north opened with thin stock.',
          );
          const bodyText = await page2.locator('body').innerText();
          expect(bodyText.split('The harvest came in late this year.').length - 1).toBe(1);
          expect(user.errors).toEqual([]);
        } finally {
          await context.close();
        }
      },
      60_000,
    );
  }
});
