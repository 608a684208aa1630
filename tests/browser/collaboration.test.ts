/**
 * Two analysts in two browsers on one document: threads, replies, resolution and presence travel live;
 * overlapping annotations made at the same moment both anchor exactly and leave the text untouched.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser } from 'playwright-core';
import {
  articleText,
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
  type UserPage,
} from '../support/browser.js';
import { addMember, api, createDocument, startServer, type TestServer } from '../support/server.js';

const ARTICLE = [
  'Harbour towns grew rich on the grain trade, and their councils built quays that still stand today.',
  'When the railway arrived, the trade moved inland within a decade, and the quays fell silent.',
  'Historians still argue whether the councils could have seen the change coming.',
].join('\n\n');

describe('two analysts annotate one article live', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;
  let alice: { id: string };
  let bob: { id: string };
  let a: UserPage;
  let b: UserPage;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, ARTICLE, { title: 'Harbour towns' });
    alice = await addMember(server, docId, 'alice', 'Alice Archer', 'commenter');
    bob = await addMember(server, docId, 'bob', 'Bob Baker', 'commenter');
    a = await newUserPage(browser, server);
    b = await newUserPage(browser, server);
    await signIn(a.page, 'alice', 'alice-password');
    await signIn(b.page, 'bob', 'bob-password');
    await Promise.all([openDocument(a.page, docId), openDocument(b.page, docId)]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  browserTest('each sees the other present, with a live selection in their colour', async () => {
    await a.page.locator(`[data-presence="${bob.id}"]`).waitFor();
    await b.page.locator(`[data-presence="${alice.id}"]`).waitFor();

    await selectText(a.page, 'the railway arrived');
    await b.page.locator(`.remote-selection[data-peer="${alice.id}"] .remote-rect`).first().waitFor();
    expect(await b.page.locator(`.remote-selection[data-peer="${alice.id}"] .remote-label`).textContent()).toContain(
      'Alice Archer',
    );
    await screenshot(b.page, 'collab-remote-selection');
  });

  browserTest('a comment, a reply and a resolution reach the other browser', async () => {
    await commentOn(a.page, 'built quays that still stand today', 'Which quays? Name them.');
    const cardOnA = threadCard(a.page, 'built quays that still stand today');
    await cardOnA.waitFor();

    // Bob sees the highlight and the thread.
    const cardOnB = threadCard(b.page, 'built quays that still stand today');
    await cardOnB.getByText('Which quays? Name them.').waitFor();
    const threadId = await cardOnB.getAttribute('data-thread-card');
    await b.page.locator(`[data-highlight="${threadId}"] .hl-rect`).first().waitFor();
    await screenshot(b.page, 'collab-thread-arrived');

    // Bob replies; Alice sees the reply and, while he types, that he is typing.
    await cardOnB.getByRole('button', { name: 'Reply', exact: true }).click();
    const reply = cardOnB.getByRole('textbox', { name: 'Reply…' });
    expect(await reply.evaluate((el) => el === document.activeElement)).toBe(true);
    await reply.pressSequentially('The north');
    await cardOnA.getByText('Bob Baker is typing…').waitFor();
    await reply.pressSequentially(' and the east quay.');
    await reply.press('Enter');
    await cardOnA.getByText('The north and the east quay.').waitFor();
    await screenshot(a.page, 'collab-reply-arrived');

    // Alice resolves; both see the thread folded away.
    await cardOnA.getByRole('button', { name: 'Resolve' }).click();
    await a.page.locator(`[data-thread-card="${threadId}"][data-folded="true"]`).waitFor();
    await b.page.locator(`[data-thread-card="${threadId}"][data-folded="true"]`).waitFor();
    await screenshot(b.page, 'collab-resolved-folded');

    const threads = (await api(server.url, server.adminToken).get(`/documents/${docId}/threads`)).body as Array<{
      id: string;
      status: string;
      comments: Array<{ authorId: string; body: string }>;
    }>;
    const stored = threads.find((t) => t.id === threadId)!;
    expect(stored.status).toBe('resolved');
    expect(stored.comments.map((c) => [c.authorId, c.body])).toEqual([
      [alice.id, 'Which quays? Name them.'],
      [bob.id, 'The north and the east quay.'],
    ]);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  browserTest(
    'overlapping annotations made at the same moment both anchor exactly; the text is unchanged',
    async () => {
      const before = await articleText(a.page);
      // Select on both sides first, then post both at once.
      const overlapA = 'the trade moved inland within a decade';
      const overlapB = 'inland within a decade, and the quays fell silent';
      const open = async (page: UserPage['page'], passage: string, body: string) => {
        await selectText(page, passage);
        await page.locator('.comment-button').click();
        const composer = page.locator('[data-composer="true"]');
        await composer.getByRole('textbox').fill(body);
        return composer;
      };
      const [composerA, composerB] = await Promise.all([
        open(a.page, overlapA, 'Within a decade? Source?'),
        open(b.page, overlapB, 'Silent is too strong.'),
      ]);
      await Promise.all([
        composerA.getByRole('button', { name: 'Comment' }).click(),
        composerB.getByRole('button', { name: 'Comment' }).click(),
      ]);

      for (const page of [a.page, b.page]) {
        await threadCard(page, overlapA).getByText('Within a decade? Source?').waitFor();
        await threadCard(page, overlapB).getByText('Silent is too strong.').waitFor();
        expect(await threadCard(page, overlapA).getAttribute('data-anchor')).toBe('exact');
        expect(await threadCard(page, overlapB).getAttribute('data-anchor')).toBe('exact');
        expect(await articleText(page)).toBe(before);
      }
      // Both highlights are drawn, and they overlap on "inland within a decade".
      const idA = await threadCard(b.page, overlapA).getAttribute('data-thread-card');
      const idB = await threadCard(b.page, overlapB).getAttribute('data-thread-card');
      await b.page.locator(`[data-highlight="${idA}"] .hl-rect`).first().waitFor();
      await b.page.locator(`[data-highlight="${idB}"] .hl-rect`).first().waitFor();
      await screenshot(b.page, 'collab-overlapping');

      const server_text = (await api(server.url, server.adminToken).get(`/documents/${docId}/text`)).text;
      expect(server_text).toBe(ARTICLE);
      const threads = (await api(server.url, server.adminToken).get(`/documents/${docId}/threads`)).body as Array<{
        quote: { exact: string };
        anchorState: string;
      }>;
      const byQuote = new Map(threads.map((t) => [t.quote.exact, t.anchorState]));
      expect(byQuote.get(overlapA)).toBe('exact');
      expect(byQuote.get(overlapB)).toBe('exact');
    },
  );
});
