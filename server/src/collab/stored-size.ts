/**
 * How much of a document is in storage: its snapshot and the log entries after it, as this instance knows them
 * (its own appends and folds). The size limit measures it; compaction decides by it.
 */
export class StoredSize {
  constructor(
    public logEntries: number,
    public logBytes: number,
    public snapshotBytes: number,
  ) {}

  /** About how many bytes the document takes in storage (snapshot + log since). */
  get bytes(): number {
    return this.snapshotBytes + this.logBytes;
  }

  /** Entries appended to the log. */
  appended(updates: Uint8Array[]): void {
    for (const u of updates) this.logBytes += u.byteLength;
    this.logEntries += updates.length;
  }

  /** `entries` log entries of `bytes` were folded into a new snapshot of `snapshotBytes`. */
  folded(entries: number, bytes: number, snapshotBytes: number): void {
    this.logEntries = Math.max(0, this.logEntries - entries);
    this.logBytes = Math.max(0, this.logBytes - bytes);
    this.snapshotBytes = snapshotBytes;
  }
}
