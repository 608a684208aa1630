/**
 * The REST client. One function per call of docs/API.md; every failure becomes an ApiError carrying the
 * server's own message, so views can show it as is.
 */
import type { Role } from '@marginalia/shared';

export interface User {
  id: string;
  username: string;
  name: string;
}

export interface Session {
  token: string;
  user: User;
}

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

let currentToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setApiToken(token: string | null): void {
  currentToken = token;
}

/** Called once when a request with a token answers 401: the session has expired or was revoked. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (currentToken) headers.Authorization = `Bearer ${currentToken}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection.');
  }
  if (response.status === 401 && currentToken && onUnauthorized) onUnauthorized();
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

export const api = {
  config: () => request<{ guests: boolean; version: string }>('GET', '/config'),
  login: (username: string, password: string) => request<Session>('POST', '/auth/login', { username, password }),
  guest: (name: string) => request<Session>('POST', '/auth/guest', { name }),
  me: () => request<{ user: User }>('GET', '/auth/me'),
  logout: () => request<void>('POST', '/auth/logout'),
  documents: () => request<DocumentSummary[]>('GET', '/documents'),
  document: (id: string) => request<DocumentInfo>('GET', `/documents/${encodeURIComponent(id)}`),
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
};

/**
 * Fetches an export with the session's token and hands it to the browser as a download (a plain link
 * could not carry the Authorization header).
 */
export async function downloadExport(docId: string, format: ExportFormat, title: string): Promise<void> {
  const headers: Record<string, string> = {};
  if (currentToken) headers.Authorization = `Bearer ${currentToken}`;
  let response: Response;
  try {
    response = await fetch(`/api/documents/${encodeURIComponent(docId)}/export?format=${format}`, { headers });
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
