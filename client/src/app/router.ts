/**
 * Path routes: / (library) and /d/<id> (a document), as the server prints them; the server answers every
 * client path with index.html. Old hash links (#/d/<id>) still open.
 */
import type { MouseEvent } from 'react';
import { newStore, useStoreState } from './store';

export type Route = { name: 'library' } | { name: 'document'; id: string };

function parse(path: string, hash: string): Route {
  const match = /^\/d\/([^/?#]+)/.exec(path) ?? /^#\/d\/([^/?#]+)/.exec(hash);
  if (match) return { name: 'document', id: decodeURIComponent(match[1]!) };
  return { name: 'library' };
}

const here = () => ({ key: location.pathname + location.hash, route: parse(location.pathname, location.hash) });
const routeStore = newStore(here());

/** Follows the address bar: back/forward, a changed hash, or navigate(). */
function locationChanged(): void {
  if (routeStore.getState().key !== location.pathname + location.hash) routeStore.setState(here());
}
window.addEventListener('popstate', locationChanged);
window.addEventListener('hashchange', locationChanged);

export function useRoute(): Route {
  return useStoreState(routeStore, (s) => s.route);
}

export function documentHref(id: string): string {
  return `/d/${encodeURIComponent(id)}`;
}

export function navigate(href: string): void {
  history.pushState(null, '', href);
  locationChanged();
}

/** For <a> elements: follow in-app links without a page load (modified clicks keep their browser meaning). */
export function followLink(event: MouseEvent<HTMLAnchorElement>): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(event.currentTarget.getAttribute('href') ?? '/');
}
