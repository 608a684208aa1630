/**
 * Offline work survives: a comment written without a network is kept on the device (y-indexeddb), is still
 * there after a reload while offline (the service worker serves the app), and reaches others once online.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser } from 'playwright-core';
import {
  browserAvailable,
  browserTest,
  commentOn,
  launchBrowser,
  membersOnDocument,
  screenshot,
  threadCard,
  waitForArticle,
  type UserPage,
} from '../support/browser.js';
import { api, createDocument, startServer, type TestServer } from '../support/server.js';

const ARTICLE = [
  'The survey behind the flood line was flown thirty years ago, before the bypass drained the wetlands.',
  'Residents remember two floods since then that the official map does not show at all.',
].join('\n\n');

describe('offline comments', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;
  let a: UserPage;
  let b: UserPage;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Flood lines' });
    [a, b] = (await membersOnDocument(browser, server, docId, [
      { username: 'ann', name: 'Ann Analyst', role: 'commenter' },
      { username: 'ben', name: 'Ben Reviewer', role: 'commenter' },
    ])) as [UserPage, UserPage];
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest('a comment made offline survives a reload and reaches the others when back online', async () => {
    // The app shell must be cached before the network goes away.
    await b.page.evaluate(() => navigator.serviceWorker.ready.then(() => true));

    await b.context.setOffline(true);
    await b.page.locator('[data-connection="offline"]').waitFor();

    const passage = 'two floods since then';
    await commentOn(b.page, passage, 'Which years? The council minutes should say.');
    const card = threadCard(b.page, passage);
    await card.getByText('Not yet synced').waitFor();
    await b.page.locator('[data-connection="offline"][data-pending="1"]').waitFor();
    await screenshot(b.page, 'offline-pending');

    await b.page.reload();
    await waitForArticle(b.page, { online: false });
    await threadCard(b.page, passage).getByText('Which years? The council minutes should say.').waitFor();
    await threadCard(b.page, passage).getByText('Not yet synced').waitFor();
    await b.page.locator('[data-connection="offline"]').waitFor();
    expect(Number(await b.page.locator('[data-connection]').getAttribute('data-pending'))).toBeGreaterThan(0);
    await screenshot(b.page, 'offline-after-reload');

    // Nobody else has it yet.
    expect(await threadCard(a.page, passage).count()).toBe(0);

    await b.context.setOffline(false);
    await b.page.locator('[data-connection="connected"][data-pending="0"]').waitFor({ timeout: 20_000 });
    await threadCard(b.page, passage).getByText('Not yet synced').waitFor({ state: 'detached' });
    await threadCard(a.page, passage).getByText('Which years? The council minutes should say.').waitFor();
    await screenshot(a.page, 'offline-synced-to-other');

    const threads = (await api(server.url, server.adminToken).get(`/documents/${docId}/threads`)).body as Array<{
      quote: { exact: string };
    }>;
    expect(threads.map((t) => t.quote.exact)).toContain(passage);
    expect(a.errors).toEqual([]);
  });
});
