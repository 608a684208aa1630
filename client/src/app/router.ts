/**
 * Path routes: / (library) and /d/<id> (a document), as the server prints them; the server answers every
 * client path with index.html. Old hash links (#/d/<id>) still open.
 */
import { useSyncExternalStore, type MouseEvent } from 'react';

export type Route = { name: 'library' } | { name: 'document'; id: string };

const CHANGE = 'marginalia:navigate';

function parse(path: string, hash: string): Route {
  const match = /^\/d\/([^/?#]+)/.exec(path) ?? /^#\/d\/([^/?#]+)/.exec(hash);
  if (match) return { name: 'document', id: decodeURIComponent(match[1]!) };
  return { name: 'library' };
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener('hashchange', listener);
  window.addEventListener(CHANGE, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener('hashchange', listener);
    window.removeEventListener(CHANGE, listener);
  };
}

let cached: { key: string; route: Route } | null = null;

export function useRoute(): Route {
  return useSyncExternalStore(subscribe, () => {
    const key = location.pathname + location.hash;
    if (!cached || cached.key !== key) cached = { key, route: parse(location.pathname, location.hash) };
    return cached.route;
  });
}

export function documentHref(id: string): string {
  return `/d/${encodeURIComponent(id)}`;
}

export function navigate(href: string): void {
  history.pushState(null, '', href);
  window.dispatchEvent(new Event(CHANGE));
}

/** For <a> elements: follow in-app links without a page load (modified clicks keep their browser meaning). */
export function followLink(event: MouseEvent<HTMLAnchorElement>): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(event.currentTarget.getAttribute('href') ?? '/');
}
