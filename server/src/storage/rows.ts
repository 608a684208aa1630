/** Row shapes shared by the SQL engines, and their mapping to records (column names are the same in both). */
import type { Role } from '@marginalia/shared';
import type { DocumentFields, DocumentRecord, UserRecord } from './types.js';

export interface DocumentRow {
  id: string;
  title: string;
  guest_role: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  thread_count: number;
  comment_count: number;
}

export interface UserRow {
  id: string;
  username: string;
  name: string;
  password_hash: string;
  /** SQLite stores 0/1, PostgreSQL a boolean. */
  is_admin: number | boolean;
  created_at: number;
}

/** Document fields that may change, with their columns. */
export const DOCUMENT_COLUMNS: [keyof DocumentFields, string][] = [
  ['title', 'title'],
  ['guestRole', 'guest_role'],
  ['updatedAt', 'updated_at'],
  ['threadCount', 'thread_count'],
  ['commentCount', 'comment_count'],
];

export const toDocument = (r: DocumentRow): DocumentRecord => ({
  id: r.id,
  title: r.title,
  guestRole: (r.guest_role as Role | null) ?? null,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  threadCount: r.thread_count,
  commentCount: r.comment_count,
});

export const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  username: r.username,
  name: r.name,
  passwordHash: r.password_hash,
  isAdmin: r.is_admin === true || r.is_admin === 1,
  createdAt: r.created_at,
});

/** A driver's Buffer as the plain Uint8Array the rest of the server works with (no copy). */
export const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
