/**
 * Path routes, as the server prints them; the server answers every client path with index.html. Old hash links
 * (#/d/<id>) still open.
 * - `/` the library; `/search?q=…` search results
 * - `/d/<id>` a document; `/d/<id>/t/<threadId>` focused on a thread (a permalink), `…/c/<commentId>` on a comment
 */
import type { MouseEvent } from 'react';
import { newStore, useStoreState } from './store';

export type Route =
  | { name: 'library' }
  | { name: 'search'; params: URLSearchParams }
  | { name: 'document'; id: string; threadId: string | null; commentId: string | null };

function parse(path: string, hash: string, search: string): Route {
  const permalink = /^\/d\/([^/?#]+)\/t\/([^/?#]+)(?:\/c\/([^/?#]+))?\/?$/.exec(path);
  if (permalink) {
    return {
      name: 'document',
      id: decodeURIComponent(permalink[1]!),
      threadId: decodeURIComponent(permalink[2]!),
      commentId: permalink[3] ? decodeURIComponent(permalink[3]) : null,
    };
  }
  const match = /^\/d\/([^/?#]+)/.exec(path) ?? /^#\/d\/([^/?#]+)/.exec(hash);
  if (match) return { name: 'document', id: decodeURIComponent(match[1]!), threadId: null, commentId: null };
  if (path === '/search') return { name: 'search', params: new URLSearchParams(search) };
  return { name: 'library' };
}

const keyOf = () => location.pathname + location.search + location.hash;
const here = () => ({ key: keyOf(), route: parse(location.pathname, location.hash, location.search) });
const routeStore = newStore(here());

/** Follows the address bar: back/forward, a changed hash, or navigate(). */
function locationChanged(): void {
  if (routeStore.getState().key !== keyOf()) routeStore.setState(here());
}
window.addEventListener('popstate', locationChanged);
window.addEventListener('hashchange', locationChanged);

export function useRoute(): Route {
  return useStoreState(routeStore, (s) => s.route);
}

export function documentHref(id: string): string {
  return `/d/${encodeURIComponent(id)}`;
}

/** The permalink of a thread (and of one of its comments). */
export function threadHref(docId: string, threadId: string, commentId?: string | null): string {
  const thread = `${documentHref(docId)}/t/${encodeURIComponent(threadId)}`;
  return commentId ? `${thread}/c/${encodeURIComponent(commentId)}` : thread;
}

export function searchHref(params: URLSearchParams): string {
  return `/search?${params}`;
}

export function navigate(href: string): void {
  history.pushState(null, '', href);
  locationChanged();
}

/**
 * Changes the address without a new history entry and without a route change (the address following what the
 * page shows, e.g. the focused thread).
 */
export function replaceAddress(href: string): void {
  if (keyOf() === href) return;
  history.replaceState(null, '', href);
  routeStore.setState({ key: keyOf(), route: routeStore.getState().route });
}

/** For <a> elements: follow in-app links without a page load (modified clicks keep their browser meaning). */
export function followLink(event: MouseEvent<HTMLAnchorElement>): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(event.currentTarget.getAttribute('href') ?? '/');
}
