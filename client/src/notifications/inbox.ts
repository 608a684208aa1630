/**
 * The signed-in user's notifications: the latest page, the unread count, kept live by the server's event stream
 * (GET /api/notifications/stream, authenticated by the session cookie). The stream is opened by the first bell on
 * screen and closed with the last; after a reconnect the page is read again, so nothing missed stays missing.
 */
import { api, type NotificationItem } from '../app/api';
import { newStore, useStoreState } from '../app/store';

interface InboxState {
  items: NotificationItem[];
  unread: number;
  loaded: boolean;
  error: string | null;
}

export const inboxStore = newStore<InboxState>({ items: [], unread: 0, loaded: false, error: null });

export function useInbox(): InboxState {
  return useStoreState(inboxStore);
}

export async function refreshInbox(): Promise<void> {
  try {
    const page = await api.notifications('?limit=50');
    inboxStore.setState({ items: page.items, unread: page.unread, loaded: true, error: null });
  } catch (e) {
    inboxStore.setState({ error: (e as Error).message });
  }
}

export async function markRead(ids: string[]): Promise<void> {
  const unreadIds = new Set(ids);
  const now = Date.now();
  inboxStore.setState((s) => ({
    items: s.items.map((i) => (unreadIds.has(i.id) && i.readAt === null ? { ...i, readAt: now } : i)),
  }));
  const { unread } = await api.markRead({ ids });
  inboxStore.setState({ unread });
}

export async function markAllRead(): Promise<void> {
  const now = Date.now();
  inboxStore.setState((s) => ({ items: s.items.map((i) => (i.readAt === null ? { ...i, readAt: now } : i)) }));
  const { unread } = await api.markRead({ all: true });
  inboxStore.setState({ unread });
}

let users = 0;
let source: EventSource | null = null;
let poll: ReturnType<typeof setInterval> | null = null;

/** Opens the live stream (once, however many bells are on screen); returns the function that lets it go. */
export function watchInbox(): () => void {
  users++;
  if (!source) {
    void refreshInbox();
    if (typeof EventSource !== 'undefined') {
      source = new EventSource('/api/notifications/stream');
      source.addEventListener('open', () => void refreshInbox());
      source.addEventListener('notification', (event) => {
        const item = JSON.parse((event as MessageEvent<string>).data) as NotificationItem;
        inboxStore.setState((s) =>
          s.items.some((i) => i.id === item.id)
            ? s
            : { items: [item, ...s.items].slice(0, 200), unread: s.unread + (item.readAt === null ? 1 : 0) },
        );
      });
    }
  }
  // Also read now and then: a stream a proxy cut without telling, or one refused (no session cookie).
  poll ??= setInterval(() => void refreshInbox(), 60_000);
  return () => {
    users--;
    if (users === 0) {
      source?.close();
      source = null;
      if (poll) clearInterval(poll);
      poll = null;
    }
  };
}

/** The items grouped by document, in the order their newest item came. */
export function byDocument(
  items: NotificationItem[],
): { documentId: string; title: string; items: NotificationItem[] }[] {
  const groups = new Map<string, { documentId: string; title: string; items: NotificationItem[] }>();
  for (const item of items) {
    const group = groups.get(item.documentId) ?? { documentId: item.documentId, title: item.documentTitle, items: [] };
    group.items.push(item);
    groups.set(item.documentId, group);
  }
  return [...groups.values()];
}

export function describe(n: NotificationItem): string {
  switch (n.kind) {
    case 'mention':
      return `${n.actor.name} mentioned you`;
    case 'reply':
      return `${n.actor.name} replied`;
    case 'resolved':
      return `${n.actor.name} resolved a thread`;
    case 'reopened':
      return `${n.actor.name} reopened a thread`;
    case 'new-thread':
      return `${n.actor.name} started a thread`;
  }
}

export const threadHref = (n: Pick<NotificationItem, 'documentId' | 'threadId'>): string =>
  `/d/${encodeURIComponent(n.documentId)}/t/${encodeURIComponent(n.threadId)}`;
