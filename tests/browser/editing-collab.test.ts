/**
 * Two editors in two browsers fix one paragraph at the same time, at machine speed (keystrokes with no delay, both
 * at once): one types at its end, the other types at its start and makes words bold and italic in its middle.
 * Every letter either typed must end up in the article exactly once, every letter of the original paragraph must
 * still be there in order, and both browsers and the server must hold the same text.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import {
  articleText,
  browserAvailable,
  browserTest,
  launchBrowser,
  membersOnDocument,
  screenshot,
  type UserPage,
} from '../support/browser.js';
import { api, createDocument, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** Lower case only: what the editors type (upper case, digits) can be told apart from it letter by letter. */
const PARAGRAPH = 'the harbour council met on the quay at dawn to argue about the price of grain and rope';

/** Letters each editor types: each occurs once, so each can be accounted for. */
const AT_END = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const AT_START = ['0123', '4567', '89'];

const typed = (s: string): string => s.replace(/[^A-Z0-9]/g, '');
const original = (s: string): string => s.replace(/[A-Z0-9]/g, '');

describe('two editors fix one paragraph at once', () => {
  let server: TestServer;
  let browser: Browser;
  let docId: string;
  let a: UserPage;
  let b: UserPage;

  beforeAll(async () => {
    if (!browserAvailable) return;
    server = await startServer();
    browser = await launchBrowser();
    docId = await createDocument(server.url, server.adminToken, PARAGRAPH, { title: 'Harbour council' });
    [a, b] = (await membersOnDocument(browser, server, docId, [
      { username: 'ada', name: 'Ada Editor', role: 'editor' },
      { username: 'ben', name: 'Ben Editor', role: 'editor' },
    ])) as [UserPage, UserPage];
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  /**
   * Selects text[start, end) of the (one-paragraph) article, offsets in its text, as a user's drag or click would: a
   * DOM selection (no mouse: a click could land on the floating comment button a selection shows). Resolves once
   * the page has held exactly that selection through a frame, so that the editor has taken it in.
   */
  async function selectOffsets(page: Page, start: number | 'end', end: number | 'end' = start): Promise<void> {
    await page.locator('.article-content').evaluate(
      (root, { start, end }) => {
        const place = (): (() => boolean) => {
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          const nodes: Text[] = [];
          for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n as Text);
          const total = nodes.reduce((sum, n) => sum + n.data.length, 0);
          const locate = (offset: number): [Text, number] => {
            let seen = 0;
            for (const node of nodes) {
              if (offset <= seen + node.data.length) return [node, offset - seen];
              seen += node.data.length;
            }
            const last = nodes[nodes.length - 1]!;
            return [last, last.data.length];
          };
          const [a, aOffset] = locate(start === 'end' ? total : start);
          const [b, bOffset] = locate(end === 'end' ? total : end);
          const selection = window.getSelection()!;
          selection.setBaseAndExtent(a, aOffset, b, bOffset);
          return () =>
            selection.anchorNode === a &&
            selection.anchorOffset === aOffset &&
            selection.focusNode === b &&
            selection.focusOffset === bOffset;
        };
        (root as HTMLElement).focus();
        // The other editor's typing re-renders the paragraph meanwhile, which can replace the text nodes or put the
        // editor's previous selection back: place the selection again until it holds for a whole frame.
        return new Promise<void>((resolve, reject) => {
          const deadline = Date.now() + 5000;
          const attempt = (): void => {
            const holds = place();
            requestAnimationFrame(() => {
              if (holds()) resolve();
              else if (Date.now() > deadline) reject(new Error('the selection did not hold'));
              else attempt();
            });
          };
          attempt();
        });
      },
      { start, end },
    );
  }

  /** Toggles a format on a passage with the keyboard shortcut, and waits until the page shows it. */
  async function format(page: Page, passage: string, key: 'B' | 'I', tag: 'strong' | 'em'): Promise<void> {
    const at = (await articleText(page)).indexOf(passage);
    await selectOffsets(page, at, at + passage.length);
    await page.keyboard.press(`Control+Key${key}`);
    await waitFor(
      async () => (await page.locator(`.article-content ${tag}`).allInnerTexts()).join('').includes(passage),
      { message: `"${passage}" in <${tag}>` },
    );
  }

  browserTest('typing at both ends and formatting in the middle, every letter is accounted for', async () => {
    await selectOffsets(a.page, 'end');
    await selectOffsets(b.page, 0);

    const ada = async (): Promise<void> => {
      for (const ch of AT_END) await a.page.keyboard.type(ch);
    };
    const ben = async (): Promise<void> => {
      await b.page.keyboard.type(AT_START[0]!);
      await format(b.page, 'council', 'B', 'strong');
      await selectOffsets(b.page, 0);
      await b.page.keyboard.type(AT_START[1]!);
      await format(b.page, 'argue about', 'I', 'em');
      await selectOffsets(b.page, 0);
      await b.page.keyboard.type(AT_START[2]!);
    };
    await Promise.all([ada(), ben()]);

    const serverText = async (): Promise<string> =>
      (await api(server.url, server.adminToken).get(`/documents/${docId}/text`)).text;
    const expected = (AT_START.join('') + AT_END).split('').sort().join('');
    // Converged: both browsers show what the server holds, and it holds every typed letter.
    let last: string[] = [];
    await waitFor(
      async () => {
        last = await Promise.all([articleText(a.page), articleText(b.page), serverText()]);
        const [onA, onB, stored] = last as [string, string, string];
        return onA === onB && onA === stored.trim() && typed(stored).split('').sort().join('') === expected;
      },
      { timeout: 20_000, message: () => `converged text (A, B, server: ${JSON.stringify(last)})` },
    );
    const text = await serverText();
    await screenshot(a.page, 'editing-two-editors-one-paragraph');

    // Each typed letter exactly once; A's letters in the order typed; the original paragraph intact.
    for (const ch of expected) expect(text.split(ch).length - 1).toBe(1);
    expect(typed(text).replace(/[0-9]/g, '')).toBe(AT_END);
    // Where each of B's runs lands depends on where B's caret is when the run starts (a remote change may move it),
    // but a run typed in one go stays in one piece.
    for (const run of AT_START) expect(typed(text).replace(/[A-Z]/g, '')).toContain(run);
    expect(original(text).trim()).toBe(PARAGRAPH);
    // The formatting took: the words are bold and italic in both browsers.
    for (const { page } of [a, b]) {
      expect(await page.locator('.article-content strong, .article-content b').allInnerTexts()).toContain('council');
      expect((await page.locator('.article-content em, .article-content i').allInnerTexts()).join('')).toContain(
        'argue about',
      );
    }
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });
});
