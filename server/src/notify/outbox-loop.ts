/**
 * The loop an outbox sender runs (webhooks.ts, mail.ts): `sendDue` is called until it finds nothing due, when
 * kicked (after a projection queued something) and on a timer (retries, digests, rows another instance left). One
 * run at a time; a kick during a run makes it go round once more. A failed round is logged and retried later.
 */
import { log } from '../log.js';

export class OutboxLoop {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    /** What is sent, for the log ("webhook", "mail"). */
    private readonly what: string,
    pollMs: number,
    /** Sends what is due; returns how many it tried (0: nothing due). */
    private readonly sendDue: () => Promise<number>,
  ) {
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref();
  }

  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          while (!this.closed && (await this.sendDue()) > 0);
        } catch (e) {
          log.warn(`${this.what} sending failed; retried later`, { error: (e as Error).message });
        }
      } while (this.again && !this.closed);
    })().finally(() => (this.running = null));
  }

  /** Stops the timer and waits for the run under way. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }
}
