/** Notifications as the API shows them (docs/API.md, "Notifications"): the server's store and the client's inbox. */

export const NOTIFICATION_KINDS = ['mention', 'reply', 'resolved', 'reopened', 'new-thread'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** A notification as the API shows it. */
export interface NotificationItem {
  id: string;
  kind: NotificationKind;
  documentId: string;
  documentTitle: string;
  threadId: string;
  commentId: string | null;
  actor: { id: string | null; name: string };
  excerpt: string;
  createdAt: number;
  readAt: number | null;
}
