/** Hash routes (#/ and #/d/<id>): the server serves one index.html and needs no knowledge of client paths. */
import { useSyncExternalStore } from 'react';

export type Route = { name: 'library' } | { name: 'document'; id: string };

function parse(hash: string): Route {
  const match = /^#\/d\/([^/?#]+)/.exec(hash);
  if (match) return { name: 'document', id: decodeURIComponent(match[1]!) };
  return { name: 'library' };
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('hashchange', listener);
  return () => window.removeEventListener('hashchange', listener);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => location.hash);
  return parse(hash);
}

export function documentHref(id: string): string {
  return `#/d/${encodeURIComponent(id)}`;
}

export function navigate(href: string): void {
  location.hash = href.replace(/^#/, '');
}
