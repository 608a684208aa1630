/**
 * The HTML export's layout, measured in Chromium: on a wide screen each card sits in the margin level with (or,
 * when earlier cards are tall, below) the start of its passage's block, cards never overlap, and a tall card does
 * not open a gap under its paragraph: the article's blocks follow one another with only their own spacing. On a
 * phone the cards come under their block and nothing scrolls sideways.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { exportDocument } from '@marginalia/shared';
import { browserTest, launchBrowser } from '../support/browser.js';
import { BASE_URL, DOC_ID, NOW, buildFixture } from './fixture.js';

let browser: Browser;
let html: string;
beforeAll(async () => {
  const doc = await buildFixture();
  html = (await exportDocument(doc, 'html', { docId: DOC_ID, baseUrl: BASE_URL, now: NOW })) as string;
  doc.destroy();
  browser = await launchBrowser();
}, 30_000);
afterAll(async () => {
  await browser?.close();
});

interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

async function layout(width: number): Promise<{
  page: Page;
  blocks: Box[];
  cards: (Box & { rowTop: number })[];
  scrollWidth: number;
}> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.setContent(html);
  const measured = await page.evaluate(() => {
    const box = (e: Element) => {
      const r = e.getBoundingClientRect();
      return { top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left, right: r.right };
    };
    return {
      blocks: Array.from(document.querySelectorAll('main > .row > .text > *, main > header')).map(box),
      cards: Array.from(document.querySelectorAll('main > .row > .threads > .thread')).map((c) => ({
        ...box(c),
        rowTop: c.closest('.row')!.getBoundingClientRect().top + scrollY,
      })),
      scrollWidth: document.documentElement.scrollWidth,
    };
  });
  return { page, ...measured };
}

describe('HTML export layout', () => {
  browserTest(
    'wide: cards in the margin, in order, never overlapping; no gap under a paragraph with tall cards',
    async () => {
      const { page, blocks, cards, scrollWidth } = await layout(1400);
      try {
        expect(cards.length).toBeGreaterThan(5);
        expect(blocks.length).toBeGreaterThan(5);
        const textRight = Math.max(...blocks.map((b) => b.right));
        for (const [i, card] of cards.entries()) {
          expect(card.left).toBeGreaterThan(textRight);
          expect(card.top).toBeGreaterThanOrEqual(card.rowTop - 1);
          if (i > 0) expect(card.top).toBeGreaterThanOrEqual(cards[i - 1]!.bottom);
        }
        // The fixture's first paragraph carries five cards, far taller than the paragraph: the next block still
        // follows at a paragraph's spacing (1em margins), not below the cards.
        const gaps = blocks.slice(1).map((b, i) => b.top - blocks[i]!.bottom);
        expect(Math.max(...gaps)).toBeLessThan(60);
        expect(scrollWidth).toBeLessThanOrEqual(1400);
      } finally {
        await page.close();
      }
    },
    30_000,
  );

  browserTest(
    'phone: each block is followed by its cards, and nothing scrolls sideways',
    async () => {
      const { page, blocks, cards, scrollWidth } = await layout(390);
      try {
        expect(scrollWidth).toBeLessThanOrEqual(390);
        for (const card of cards) {
          expect(card.right).toBeLessThanOrEqual(390);
          // Under the text of its own row.
          const own = blocks.filter((b) => b.top >= card.rowTop - 1 && b.bottom <= card.top + 1);
          expect(own.length).toBeGreaterThan(0);
        }
      } finally {
        await page.close();
      }
    },
    30_000,
  );
});
