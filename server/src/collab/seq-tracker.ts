/**
 * Which log sequence numbers a loaded document has applied. `through` is the highest n such that every entry
 * up to n is applied; entries applied out of order above it are remembered until the hole below them fills.
 * With several instances writing one log, a hole means an update this instance has not seen yet.
 */
export class SeqTracker {
  private readonly ahead = new Set<number>();

  constructor(public through: number) {}

  add(seqs: Iterable<number>): void {
    for (const s of seqs) if (s > this.through) this.ahead.add(s);
    while (this.ahead.delete(this.through + 1)) this.through++;
  }

  /** Everything up to `seq` is known to be applied (after a full catch-up). */
  advanceTo(seq: number): void {
    if (seq > this.through) this.through = seq;
    for (const s of this.ahead) if (s <= this.through) this.ahead.delete(s);
    while (this.ahead.delete(this.through + 1)) this.through++;
  }

  get hasGap(): boolean {
    return this.ahead.size > 0;
  }
}
