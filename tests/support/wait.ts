/** Waiting for a condition with a timeout: the only way tests synchronise (never a fixed sleep). */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  {
    timeout = 10_000,
    interval = 10,
    message,
  }: { timeout?: number; interval?: number; message?: string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await condition();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const m = typeof message === 'function' ? message() : message;
      throw new Error(
        `timed out after ${timeout} ms waiting for ${m ?? String(condition)}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Resolves when `emitter` emits `event` (with a timeout). */
export function once<T = unknown>(
  emitter: { once(ev: string, fn: (...a: any[]) => void): unknown },
  event: string,
  timeout = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for "${event}"`)), timeout);
    emitter.once(event, (v: T) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}
