/** Rows for storage tests that talk to a Storage directly (no server in between). */
import type { DocumentRecord } from '@marginalia/server/storage/types.js';

/** A document record with fixed, plain fields: title "T", no guests, created by "u" at time 1, no threads. */
export const documentRecord = (id: string): DocumentRecord => ({
  id,
  title: 'T',
  guestRole: null,
  createdBy: 'u',
  createdAt: 1,
  updatedAt: 1,
  threadCount: 0,
  commentCount: 0,
});
