import { describe, expect, test } from '@jest/globals';
import { CARD_GAP, layoutMargin } from '../../client/src/threads/marginLayout.js';

const card = (key: string, desired: number, height = 100) => ({ key, desired, height });

describe('margin layout', () => {
  test('cards sit level with their highlights when there is room', () => {
    const tops = layoutMargin([card('a', 0), card('b', 300), card('c', 600)], null);
    expect([...tops]).toEqual([
      ['a', 0],
      ['b', 300],
      ['c', 600],
    ]);
  });

  test('cards never overlap: later ones are pushed down in reading order', () => {
    const tops = layoutMargin([card('b', 40), card('a', 20), card('c', 60)], null);
    expect(tops.get('a')).toBe(20);
    expect(tops.get('b')).toBe(20 + 100 + CARD_GAP);
    expect(tops.get('c')).toBe(20 + 2 * (100 + CARD_GAP));
  });

  test('the focused card is level with its highlight; the ones above move up to make room', () => {
    const tops = layoutMargin([card('a', 400), card('b', 420), card('c', 440)], 'b');
    expect(tops.get('b')).toBe(420);
    expect(tops.get('a')).toBe(420 - CARD_GAP - 100);
    expect(tops.get('c')).toBe(420 + 100 + CARD_GAP);
  });

  test('no card goes above the top of the margin, even to make room for the focused one', () => {
    const tops = layoutMargin([card('a', 0), card('b', 10)], 'b');
    expect(tops.get('a')).toBe(0);
    expect(tops.get('b')).toBe(100 + CARD_GAP);
  });
});
