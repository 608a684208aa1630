/**
 * Live delivery of new notifications to the streams (SSE) of their users, on whichever instance serves them.
 * Without Redis it is a map of local listeners; with Redis every instance publishes what its projection committed
 * on one channel (`<prefix>notifications`) and delivers what arrives there to its own listeners, its own
 * publications included (so each item reaches a stream once). Pub/sub may drop a message: a stream that
 * reconnects reads what it missed from GET /api/notifications.
 */
import { Redis } from 'ioredis';
import { log } from '../log.js';
import type { NotificationItem } from './store.js';

export interface Delivery {
  userId: string;
  item: NotificationItem;
}

export interface NotificationBus {
  /** Hands new notifications to their users' streams (after they are committed). */
  publish(deliveries: Delivery[]): void;
  /** Calls `listener` with each new notification of the user; returns the function that stops it. */
  subscribe(userId: string, listener: (item: NotificationItem) => void): () => void;
  close(): Promise<void>;
}

class Listeners {
  private readonly byUser = new Map<string, Set<(item: NotificationItem) => void>>();

  add(userId: string, listener: (item: NotificationItem) => void): () => void {
    const set = this.byUser.get(userId) ?? new Set();
    set.add(listener);
    this.byUser.set(userId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.byUser.delete(userId);
    };
  }

  deliver(deliveries: Delivery[]): void {
    for (const d of deliveries)
      for (const listener of this.byUser.get(d.userId) ?? []) {
        try {
          listener(d.item);
        } catch (e) {
          log.warn('a notification stream failed', { error: (e as Error).message });
        }
      }
  }
}

export function localBus(): NotificationBus {
  const listeners = new Listeners();
  return {
    publish: (deliveries) => listeners.deliver(deliveries),
    subscribe: (userId, listener) => listeners.add(userId, listener),
    close: async () => {},
  };
}

export async function redisBus(url: string, prefix: string): Promise<NotificationBus> {
  const channel = `${prefix}notifications`;
  const listeners = new Listeners();
  const common = {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (n: number) => Math.min(100 * 2 ** n, 2000),
  };
  const pub = new Redis(url, { ...common, enableOfflineQueue: false });
  const sub = new Redis(url, { ...common, enableOfflineQueue: true });
  for (const client of [pub, sub])
    client.on('error', (e: Error) => log.debug('redis error (notifications)', { error: e.message }));
  sub.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    try {
      listeners.deliver(JSON.parse(message) as Delivery[]);
    } catch (e) {
      log.warn('unreadable notification message', { error: (e as Error).message });
    }
  });
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (e) {
    log.warn('redis unavailable at start: notifications reach only streams on this instance until it returns', {
      error: (e as Error).message,
    });
  }
  // Queued until Redis is reachable; ioredis subscribes again after each reconnect.
  void sub.subscribe(channel).catch((e: Error) => log.warn('redis subscribe failed', { error: e.message }));
  return {
    publish(deliveries) {
      if (deliveries.length === 0) return;
      pub.publish(channel, JSON.stringify(deliveries)).catch((e: Error) => {
        // Redis is down: this instance's streams at least get them.
        log.warn('notification publish failed; delivered locally only', { error: e.message });
        listeners.deliver(deliveries);
      });
    },
    subscribe: (userId, listener) => listeners.add(userId, listener),
    async close() {
      pub.disconnect();
      sub.disconnect();
    },
  };
}
