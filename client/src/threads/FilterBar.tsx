/** FilterBar: status, tag, author, orphaned, and a search over quotes, comment text and the article's text. */
import { useId, useMemo } from 'react';
import { useAnnotations, useDocument } from '../views/document/DocumentContext';
import { DEFAULT_FILTERS, useUiState, type StatusFilter } from '../views/document/uiStore';
import { personName } from '../ui/format';
import { authorsOf, tagsOf, visibleThreads } from './filters';

export function FilterBar() {
  const { ui } = useDocument();
  const snapshot = useAnnotations();
  const filters = useUiState(ui, (s) => s.filters);
  const showResolved = useUiState(ui, (s) => s.showResolved);
  const ids = { status: useId(), tag: useId(), author: useId(), search: useId() };
  const authors = useMemo(() => authorsOf(snapshot.threads), [snapshot.threads]);
  const tags = useMemo(() => tagsOf(snapshot.threads, snapshot.vocabulary), [snapshot.threads, snapshot.vocabulary]);
  const counts = useMemo(() => {
    const { anchored, orphans } = visibleThreads(snapshot, { ...filters, orphaned: false });
    return { shown: filters.orphaned ? orphans.length : anchored.length + orphans.length, orphans: orphans.length };
  }, [snapshot, filters]);
  const filtered = JSON.stringify(filters) !== JSON.stringify(DEFAULT_FILTERS);
  const find = useUiState(ui, (s) => s.articleFind);

  return (
    <div className="filter-bar" role="search" aria-label="Filter threads">
      <label htmlFor={ids.search} className="sr-only">
        Search comments, quotes and text
      </label>
      <input
        id={ids.search}
        type="search"
        className="filter-search"
        placeholder="Search comments, quotes and text"
        value={filters.search}
        onChange={(e) => ui.setFilters({ search: e.target.value })}
        onKeyDown={(e) => {
          if (e.key !== 'Enter') return;
          e.preventDefault();
          ui.stepArticleFind(e.shiftKey ? -1 : 1);
        }}
      />
      {filters.search.trim().length >= 2 && (
        <span className="article-find" role="status">
          <span className="small muted">
            {find.step > 0 ? `${find.step} of ${find.count}` : find.count} in the article
          </span>
          <button
            type="button"
            className="icon"
            aria-label="Previous match in the article"
            disabled={find.count === 0}
            onClick={() => ui.stepArticleFind(-1)}
          >
            ↑
          </button>
          <button
            type="button"
            className="icon"
            aria-label="Next match in the article"
            disabled={find.count === 0}
            onClick={() => ui.stepArticleFind(1)}
          >
            ↓
          </button>
        </span>
      )}
      <label htmlFor={ids.status} className="filter-label">
        Status
      </label>
      <select
        id={ids.status}
        value={filters.status}
        onChange={(e) => ui.setFilters({ status: e.target.value as StatusFilter })}
      >
        <option value="all">All</option>
        <option value="open">Open</option>
        <option value="resolved">Resolved</option>
      </select>
      <label htmlFor={ids.tag} className="filter-label">
        Tag
      </label>
      <select id={ids.tag} value={filters.tag ?? ''} onChange={(e) => ui.setFilters({ tag: e.target.value || null })}>
        <option value="">Any</option>
        {tags.map((tag) => (
          <option key={tag} value={tag}>
            {tag}
          </option>
        ))}
      </select>
      <label htmlFor={ids.author} className="filter-label">
        Author
      </label>
      <select
        id={ids.author}
        value={filters.author ?? ''}
        onChange={(e) => ui.setFilters({ author: e.target.value || null })}
      >
        <option value="">Anyone</option>
        {authors.map((a) => (
          <option key={a.id} value={a.id}>
            {personName(a.name, a.id)}
          </option>
        ))}
      </select>
      <label className="check">
        <input
          type="checkbox"
          checked={filters.orphaned}
          onChange={(e) => ui.setFilters({ orphaned: e.target.checked })}
        />
        Orphaned only{counts.orphans > 0 ? ` (${counts.orphans})` : ''}
      </label>
      <label className="check">
        <input type="checkbox" checked={showResolved} onChange={(e) => ui.set({ showResolved: e.target.checked })} />
        Show resolved
      </label>
      <span className="filter-count" aria-live="polite">
        {counts.shown} {counts.shown === 1 ? 'thread' : 'threads'}
      </span>
      {filtered && (
        <button type="button" className="link" onClick={() => ui.set({ filters: DEFAULT_FILTERS })}>
          Clear filters
        </button>
      )}
    </div>
  );
}
