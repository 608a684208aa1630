/**
 * The REST client. One function per call of docs/API.md; every failure becomes an ApiError carrying the
 * server's own message, so views can show it as is.
 */
import type { NotificationItem, Role } from '@marginalia/shared';

export interface User {
  id: string;
  username: string;
  name: string;
}

/**
 * Who is signed in, and until when. The web app keeps no token: the server's HttpOnly session cookie
 * authenticates its REST calls and WebSocket, so no script in the page can read the credential.
 */
export interface Session {
  user: User;
  /** When the session cookie's token expires (ms); refreshed ahead of it (session.ts). */
  expiresAt: number;
}

/** What sign-in answers: the web app asks for the cookie only (cookieOnly), so no token reaches its scripts. */
interface SignInAnswer {
  token?: string;
  expiresAt: number;
  user: User;
}

const toSession = ({ user, expiresAt }: SignInAnswer): Session => ({ user, expiresAt });

export interface DocumentSummary {
  id: string;
  title: string;
  role: Role;
  guestRole: Role | null;
  createdAt: number | string;
  updatedAt: number | string;
  threadCount?: number;
  commentCount?: number;
  /** Comments by others since the caller last viewed the document. */
  unreadComments?: number;
}

export interface DocumentInfo {
  id: string;
  title: string;
  role: Role;
  guestRole: Role | null;
  createdAt: number | string;
  updatedAt: number | string;
  /** When the caller last viewed the document (null: never, or a guest). */
  lastSeenAt?: number | null;
}

export type SearchKind = 'comment' | 'article' | 'title';

export interface SearchItem {
  kind: SearchKind;
  documentId: string;
  documentTitle: string;
  threadId?: string;
  commentId?: string;
  snippet: string;
  /** [start, end) UTF-16 offsets into `snippet`. */
  highlights: [number, number][];
  score: number;
  createdAt?: number;
  author?: { id: string; name: string };
}

export interface SearchQuery {
  q: string;
  tags?: string;
  authors?: string;
  status?: 'open' | 'resolved' | '';
  document?: string;
  kind?: SearchKind | '';
  limit?: number;
  cursor?: string | null;
}

export interface Member {
  username: string;
  name: string;
  role: Role;
}

export type ImportFormat = 'text' | 'markdown' | 'html';
export type ExportFormat = 'md' | 'html' | 'w3c' | 'csv' | 'docx' | 'json';
/** What POST /api/documents/:id/import reads: W3C Web Annotations, or a Marginalia JSON dump. */
export type AnnotationImportFormat = 'w3c' | 'json';

/** The import report (docs/API.md "Exports and imports"). */
export interface AnnotationImportResult {
  /** Threads created, orphans included. */
  imported: number;
  /** Threads whose passage was not found: stored as orphans. */
  orphaned: { id: string; exact: string; reason: string }[];
  /** Threads already in the document: not created again. */
  skipped: number;
  /** Comments written. */
  comments: number;
  /** Annotations not imported at all. */
  rejected: { id: string; reason: string }[];
  /** Tags left off because the importer may not add them to the vocabulary. */
  droppedTags: string[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  /** No answer at all: the network is down or the server is gone. */
  get offline(): boolean {
    return this.status === 0;
  }
}

let onUnauthorized: (() => void) | null = null;

/** Called when a request other than sign-in answers 401: the session has expired or was revoked. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection.');
  }
  if (response.status === 401 && !path.startsWith('/auth/login') && !path.startsWith('/auth/guest')) onUnauthorized?.();
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let payload: unknown;
  try {
    payload = text ? JSON.parse(text) : undefined;
  } catch {
    // A body that is not JSON (a proxy's error page) carries no message of ours: the status speaks for it.
    payload = undefined;
  }
  if (!response.ok) {
    const message =
      payload && typeof payload === 'object' && 'error' in payload && typeof payload.error === 'string'
        ? payload.error
        : `The server answered ${response.status} ${response.statusText}.`;
    throw new ApiError(response.status, message);
  }
  return payload as T;
}

/** One version of a document (GET /api/documents/:id/versions). */
export interface VersionSummary {
  id: string;
  name: string | null;
  createdAt: number;
  createdBy: string | null;
  createdByName: string | null;
  automatic: boolean;
}

export interface ArticleChange {
  op: 'insert' | 'delete';
  text: string;
  /** Offset in the newer text. */
  at: number;
  by: string | null;
}

export interface DocumentDiff {
  article: ArticleChange[];
  threads: { op: string; threadId: string; commentId?: string; by: string | null }[];
  authors: { id: string; name: string; inserted: number; deleted: number }[];
}

export interface VersionThread {
  id: string;
  status: 'open' | 'resolved';
  quote: { exact: string };
  anchorState: 'exact' | 'moved' | 'orphan';
  comments: { id: string; authorName: string; body: string; deleted: boolean }[];
}

export interface AnchorCounts {
  exact: number;
  moved: number;
  orphaned: number;
}

async function requestText(path: string): Promise<string> {
  let response: Response;
  try {
    // The session cookie signs the request in (the web app keeps no token).
    response = await fetch(`/api${path}`, { credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection.');
  }
  if (!response.ok) {
    const payload = (await response.json().catch(() => null)) as { error?: string } | null;
    throw new ApiError(response.status, payload?.error ?? `The server answered ${response.status}.`);
  }
  return response.text();
}

const docPath = (id: string) => `/documents/${encodeURIComponent(id)}`;

export const api = {
  config: () => request<{ guests: boolean; version: string }>('GET', '/config'),
  login: (username: string, password: string) =>
    request<SignInAnswer>('POST', '/auth/login', { username, password, cookieOnly: true }).then(toSession),
  guest: (name: string) => request<SignInAnswer>('POST', '/auth/guest', { name, cookieOnly: true }).then(toSession),
  me: () => request<{ user: User; expiresAt: number }>('GET', '/auth/me'),
  /** A fresh session cookie before the current one expires (answered without a token to cookie callers). */
  refresh: () => request<SignInAnswer>('POST', '/auth/refresh').then(toSession),
  logout: () => request<void>('POST', '/auth/logout'),
  documents: () => request<DocumentSummary[]>('GET', '/documents'),
  document: (id: string) => request<DocumentInfo>('GET', `/documents/${encodeURIComponent(id)}`),
  setGuestRole: (id: string, guestRole: Role | null) =>
    request<DocumentInfo>('PATCH', `/documents/${encodeURIComponent(id)}`, { guestRole }),
  createDocument: (input: { title: string; format: ImportFormat; content: string; guestRole?: Role | null }) =>
    request<{ id: string }>('POST', '/documents', input),
  deleteDocument: (id: string) => request<void>('DELETE', `/documents/${encodeURIComponent(id)}`),
  members: (id: string) => request<Member[]>('GET', `/documents/${encodeURIComponent(id)}/members`),
  setMember: (id: string, username: string, role: Role) =>
    request<unknown>('PUT', `/documents/${encodeURIComponent(id)}/members/${encodeURIComponent(username)}`, { role }),
  seen: (id: string) => request<{ lastSeenAt: number | null }>('POST', `/documents/${encodeURIComponent(id)}/seen`),
  search: (query: SearchQuery) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query))
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    return request<{ items: SearchItem[]; nextCursor: string | null }>('GET', `/search?${params}`);
  },
  removeMember: (id: string, username: string) =>
    request<void>('DELETE', `/documents/${encodeURIComponent(id)}/members/${encodeURIComponent(username)}`),
  versions: (id: string) => request<VersionSummary[]>('GET', `${docPath(id)}/versions`),
  nameVersion: (id: string, name: string) => request<{ id: string }>('POST', `${docPath(id)}/versions`, { name }),
  versionText: (id: string, version: string) =>
    requestText(`${docPath(id)}/text?version=${encodeURIComponent(version)}`),
  versionThreads: (id: string, version: string) =>
    request<VersionThread[]>('GET', `${docPath(id)}/threads?version=${encodeURIComponent(version)}`),
  diff: (id: string, from: string, to = 'current') =>
    request<DocumentDiff>('GET', `${docPath(id)}/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`),
  restoreVersion: (id: string, version: string) =>
    request<{ version: string; anchors: AnchorCounts }>(
      'POST',
      `${docPath(id)}/versions/${encodeURIComponent(version)}/restore`,
    ),
  /** Imports annotations (already parsed from the file) into the document; connected clients see them live. */
  importAnnotations: (id: string, format: AnnotationImportFormat, annotations: unknown) =>
    request<AnnotationImportResult>('POST', `${docPath(id)}/import?format=${format}`, annotations),
  reviseArticle: (id: string, input: { format: ImportFormat; content: string }, dryRun: boolean) =>
    request<{ version: string | null; anchors: AnchorCounts }>(
      'PUT',
      `${docPath(id)}/article${dryRun ? '?dryRun=true' : ''}`,
      input,
    ),
  mentionable: (id: string, q = '', limit = 20) =>
    request<Person[]>(
      'GET',
      `/documents/${encodeURIComponent(id)}/mentionable?q=${encodeURIComponent(q)}&limit=${limit}`,
    ),
  shareable: (id: string, q = '', limit = 8) =>
    request<Person[]>(
      'GET',
      `/documents/${encodeURIComponent(id)}/shareable?q=${encodeURIComponent(q)}&limit=${limit}`,
    ),
  notifications: (query = '') => request<NotificationPage>('GET', `/notifications${query}`),
  markRead: (which: { ids: string[] } | { all: true }) =>
    request<{ unread: number }>('POST', '/notifications/read', which),
  following: (id: string) => request<{ following: boolean }>('GET', `/documents/${encodeURIComponent(id)}/follow`),
  setFollowing: (id: string, following: boolean) =>
    request<{ following: boolean }>('PUT', `/documents/${encodeURIComponent(id)}/follow`, { following }),
  settings: () => request<UserSettings>('GET', '/me/settings'),
  setSettings: (changes: Partial<UserSettings>) => request<UserSettings>('PUT', '/me/settings', changes),
};

/** Someone a comment may mention. */
export interface Person {
  id: string;
  username: string;
  name: string;
}

export type { NotificationKind, NotificationItem } from '@marginalia/shared';

export interface NotificationPage {
  items: NotificationItem[];
  unread: number;
  nextCursor: string | null;
}

export interface UserSettings {
  email: 'off' | 'instant' | 'digest';
  emailAddress: string | null;
}

/** Fetches an export (with the session cookie) and hands it to the browser as a download. */
export async function downloadExport(docId: string, format: ExportFormat, title: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`/api/documents/${encodeURIComponent(docId)}/export?format=${format}`, {
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection.');
  }
  if (!response.ok) {
    const payload = (await response.json().catch(() => null)) as { error?: string } | null;
    throw new ApiError(response.status, payload?.error ?? `Export failed (${response.status}).`);
  }
  const blob = await response.blob();
  const disposition = response.headers.get('Content-Disposition') ?? '';
  // RFC 6266: prefer the exact UTF-8 name (filename*) over the ASCII fallback (filename).
  const named = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1] ?? /filename="?([^";]+)"?/i.exec(disposition)?.[1];
  const extension: Record<ExportFormat, string> = {
    md: 'md',
    html: 'html',
    w3c: 'jsonld',
    csv: 'csv',
    docx: 'docx',
    json: 'json',
  };
  const fallback = `${title.replace(/[^\p{L}\p{N} _-]+/gu, '').trim() || 'document'}.${extension[format]}`;
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = named ? decodeURIComponent(named) : fallback;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
