/**
 * Places margin cards level with their highlights without overlap. Cards keep reading order; the focused
 * card (if any) sits exactly level with its highlight, the ones above are pushed up, the ones below pushed
 * down, and nothing goes above the top of the margin.
 */
export interface MarginItem {
  key: string;
  /** Where the card would like to be: the top of its highlight. */
  desired: number;
  height: number;
}

export const CARD_GAP = 10;

export function layoutMargin(items: readonly MarginItem[], focusedKey: string | null): Map<string, number> {
  const sorted = [...items].sort((a, b) => a.desired - b.desired);
  const tops = new Array<number>(sorted.length);
  const focus = focusedKey === null ? -1 : sorted.findIndex((item) => item.key === focusedKey);

  const pushDown = (from: number, floor: number) => {
    let y = floor;
    for (let i = from; i < sorted.length; i++) {
      tops[i] = Math.max(sorted[i]!.desired, y);
      y = tops[i]! + sorted[i]!.height + CARD_GAP;
    }
  };

  if (focus === -1) {
    pushDown(0, 0);
  } else {
    tops[focus] = Math.max(0, sorted[focus]!.desired);
    pushDown(focus + 1, tops[focus]! + sorted[focus]!.height + CARD_GAP);
    let ceiling = tops[focus]! - CARD_GAP;
    for (let i = focus - 1; i >= 0; i--) {
      tops[i] = Math.min(sorted[i]!.desired, ceiling - sorted[i]!.height);
      ceiling = tops[i]! - CARD_GAP;
    }
    // Cards pushed above the margin's top: lay everything out from the top instead.
    if (focus > 0 && tops[0]! < 0) pushDown(0, 0);
  }
  return new Map(sorted.map((item, i) => [item.key, tops[i]!]));
}
