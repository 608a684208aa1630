/**
 * Search results across every document the reader may open (GET /api/search): grouped by document, matched
 * words highlighted, filters for kind, status, tag and author, more results as the list is scrolled. A result
 * opens its permalink (a comment: its thread, the comment highlighted).
 */
import { Fragment, useEffect, useRef, useState } from 'react';
import { api, type SearchItem, type Session } from '../app/api';
import { documentHref, followLink, navigate, searchHref, threadHref } from '../app/router';
import { fullTime, timeAgo } from '../ui/format';
import { ThemeToggle } from '../ui/theme';
import { SEARCH_INPUT_ID, SearchBox } from './SearchBox';

interface Results {
  key: string;
  items: SearchItem[];
  next: string | null;
  loading: boolean;
  error: string | null;
}

const FILTERS = ['kind', 'status', 'tags', 'authors', 'document'] as const;

export function SearchPage({ session, params }: { session: Session; params: URLSearchParams }) {
  void session;
  const key = params.toString();
  const q = params.get('q') ?? '';
  const hasQuery = q !== '' || FILTERS.some((f) => params.get(f));
  const [results, setResults] = useState<Results>({ key: '', items: [], next: null, loading: false, error: null });
  const loading = useRef(false);

  const load = async (cursor: string | null) => {
    if (loading.current) return;
    loading.current = true;
    setResults((r) => ({ ...r, loading: true }));
    try {
      const page = await api.search({
        q,
        kind: (params.get('kind') as SearchItem['kind'] | null) ?? '',
        status: (params.get('status') as 'open' | 'resolved' | null) ?? '',
        tags: params.get('tags') ?? '',
        authors: params.get('authors') ?? '',
        document: params.get('document') ?? '',
        limit: 30,
        cursor,
      });
      setResults((r) => ({
        key,
        items: cursor && r.key === key ? [...r.items, ...page.items] : page.items,
        next: page.nextCursor,
        loading: false,
        error: null,
      }));
    } catch (e) {
      setResults((r) => ({ ...r, key, loading: false, error: (e as Error).message }));
    } finally {
      loading.current = false;
    }
  };

  useEffect(() => {
    document.title = q ? `“${q}” · Search · Marginalia` : 'Search · Marginalia';
    if (hasQuery) void load(null);
    else setResults({ key, items: [], next: null, loading: false, error: null });
    // `load` reads the params of this render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(() => {
    if (!q) document.getElementById(SEARCH_INPUT_ID)?.focus();
  }, [q]);

  // More as the end of the list comes into view.
  const end = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    const el = end.current;
    if (!el || !results.next) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void load(results.next);
    });
    observer.observe(el);
    return () => observer.disconnect();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [results.next, results.key]);

  const setFilter = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    navigate(searchHref(next));
  };

  const groups = groupByDocument(results.key === key ? results.items : []);
  return (
    <div className="page search-page">
      <header className="topbar">
        <a className="brand small" href="/" onClick={followLink}>
          <span className="brand-mark" aria-hidden="true">
            ¶
          </span>{' '}
          Marginalia
        </a>
        <SearchBox initial={q} params={params} />
        <div className="topbar-right">
          <ThemeToggle />
        </div>
      </header>
      <main className="search-results">
        <div className="search-filters" role="group" aria-label="Filters">
          <label>
            Find in{' '}
            <select value={params.get('kind') ?? ''} onChange={(e) => setFilter('kind', e.target.value || null)}>
              <option value="">everything</option>
              <option value="comment">comments</option>
              <option value="article">article text</option>
              <option value="title">titles</option>
            </select>
          </label>
          <label>
            Status{' '}
            <select value={params.get('status') ?? ''} onChange={(e) => setFilter('status', e.target.value || null)}>
              <option value="">any</option>
              <option value="open">open</option>
              <option value="resolved">resolved</option>
            </select>
          </label>
          <TagFilter value={params.get('tags') ?? ''} onChange={(v) => setFilter('tags', v || null)} />
          {params.get('authors') && (
            <button type="button" className="chip removable" onClick={() => setFilter('authors', null)}>
              author: {authorName(results.items, params.get('authors')!)} ×
            </button>
          )}
          {params.get('document') && (
            <button type="button" className="chip removable" onClick={() => setFilter('document', null)}>
              in: {results.items[0]?.documentTitle ?? 'one document'} ×
            </button>
          )}
        </div>
        {!hasQuery && <p className="muted">Type words to find; “a phrase” in quotes; word* for words starting so.</p>}
        {results.error && (
          <p className="banner warn" role="alert">
            {results.error}
          </p>
        )}
        {hasQuery && !results.loading && results.key === key && !results.error && groups.length === 0 && (
          <p className="muted">Nothing found.</p>
        )}
        {groups.map(([documentId, items]) => (
          <section key={documentId} className="result-group" aria-label={items[0]!.documentTitle}>
            <h2>
              <a href={documentHref(documentId)} onClick={followLink}>
                {items[0]!.documentTitle}
              </a>
            </h2>
            <ol className="results">
              {items.map((item, i) => (
                <li key={`${item.kind}:${item.commentId ?? i}`} className={`result result-${item.kind}`}>
                  <a href={hrefOf(item)} onClick={followLink} className="result-link">
                    <span className="result-kind">{KIND_LABEL[item.kind]}</span>
                    <Snippet item={item} />
                  </a>
                  {item.author && (
                    <p className="result-meta small muted">
                      <button type="button" className="link" onClick={() => setFilter('authors', item.author!.id)}>
                        {item.author.name || 'Someone'}
                      </button>
                      {item.createdAt !== undefined && (
                        <time dateTime={new Date(item.createdAt).toISOString()} title={fullTime(item.createdAt)}>
                          {' '}
                          · {timeAgo(item.createdAt)}
                        </time>
                      )}
                      {' · '}
                      <button type="button" className="link" onClick={() => setFilter('document', documentId)}>
                        only this document
                      </button>
                    </p>
                  )}
                </li>
              ))}
            </ol>
          </section>
        ))}
        <div ref={end} className="results-end" aria-hidden="true" />
        {results.loading && <p className="muted small">Searching…</p>}
      </main>
    </div>
  );
}

const KIND_LABEL = { comment: 'Comment', article: 'Article', title: 'Title' } as const;

function hrefOf(item: SearchItem): string {
  if (item.kind === 'comment' && item.threadId) return threadHref(item.documentId, item.threadId, item.commentId);
  return documentHref(item.documentId);
}

/** Results in order, gathered under the document each first appears in. */
function groupByDocument(items: SearchItem[]): [string, SearchItem[]][] {
  const groups = new Map<string, SearchItem[]>();
  for (const item of items) groups.set(item.documentId, [...(groups.get(item.documentId) ?? []), item]);
  return [...groups];
}

function authorName(items: SearchItem[], id: string): string {
  return items.find((i) => i.author?.id === id)?.author?.name || 'one person';
}

/** The snippet with its matched words marked. */
function Snippet({ item }: { item: SearchItem }) {
  const parts: React.ReactNode[] = [];
  let at = 0;
  for (const [start, end] of item.highlights) {
    if (start < at || end > item.snippet.length) continue;
    parts.push(<Fragment key={`t${at}`}>{item.snippet.slice(at, start)}</Fragment>);
    parts.push(<mark key={`m${start}`}>{item.snippet.slice(start, end)}</mark>);
    at = end;
  }
  parts.push(<Fragment key="rest">{item.snippet.slice(at)}</Fragment>);
  return <span className="snippet">{parts}</span>;
}

function TagFilter({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <form
      className="tag-filter"
      onSubmit={(e) => {
        e.preventDefault();
        onChange(text.trim());
      }}
    >
      <label>
        Tag <input value={text} onChange={(e) => setText(e.target.value)} placeholder="any" size={10} />
      </label>
    </form>
  );
}
