/**
 * The search box of the library and the results page, and `/` anywhere (outside a text field) to reach it.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { navigate, searchHref } from '../app/router';

export const SEARCH_INPUT_ID = 'site-search';

export function SearchBox({ initial = '', params }: { initial?: string; params?: URLSearchParams }) {
  const [q, setQ] = useState(initial);
  useEffect(() => setQ(initial), [initial]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams(params);
    next.delete('cursor');
    if (q.trim()) next.set('q', q.trim());
    else next.delete('q');
    navigate(searchHref(next));
  };
  return (
    <form className="search-box" role="search" onSubmit={submit}>
      <label htmlFor={SEARCH_INPUT_ID} className="sr-only">
        Search all documents
      </label>
      <input
        id={SEARCH_INPUT_ID}
        type="search"
        placeholder="Search (press /)"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        autoComplete="off"
      />
      <button type="submit">Search</button>
    </form>
  );
}

const editable = (target: EventTarget | null): boolean => {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
};

/** `/` outside a text field: the search box of this page, or the search page. */
export function useSearchShortcut(): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey || editable(event.target)) return;
      event.preventDefault();
      const input = document.getElementById(SEARCH_INPUT_ID) as HTMLInputElement | null;
      if (input) {
        input.focus();
        input.select();
        return;
      }
      navigate('/search');
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}
