/**
 * Tells the server the reader has viewed the document (POST /api/documents/:id/seen) as they reach the end of the
 * article, and as they leave it (another page, or the tab closing): what is new to them is counted from then.
 */
import { useEffect } from 'react';
import { api } from '../../app/api';
import { useStoreState } from '../../app/store';
import { isGuest } from '../../ui/format';
import { useDocument } from './DocumentContext';

const seen = (docId: string) => void api.seen(docId).catch(() => {});

export function SeenTracker() {
  const { docId, user, model } = useDocument();
  const arrived = useStoreState(model.snapshot, (s) => s.textLength > 0);
  useEffect(() => {
    if (isGuest(user.id)) return;
    // The tab closing: a request that outlives the page (the session cookie signs it).
    const onPageHide = () => navigator.sendBeacon?.(`/api/documents/${encodeURIComponent(docId)}/seen`);
    window.addEventListener('pagehide', onPageHide);
    return () => {
      window.removeEventListener('pagehide', onPageHide);
      seen(docId);
    };
  }, [docId, user.id]);
  // The end of the article in view, once the article is there.
  useEffect(() => {
    if (isGuest(user.id) || !arrived) return;
    let seenAtEnd = false;
    let observer: IntersectionObserver | null = null;
    let frame = 0;
    const watchEnd = (framesLeft: number) => {
      const end = document.querySelector('[data-article-end]');
      if (!end) {
        if (framesLeft > 0) frame = requestAnimationFrame(() => watchEnd(framesLeft - 1));
        return;
      }
      observer = new IntersectionObserver((entries) => {
        if (seenAtEnd || !entries.some((e) => e.isIntersecting)) return;
        seenAtEnd = true;
        seen(docId);
      });
      observer.observe(end);
    };
    watchEnd(60);
    return () => {
      cancelAnimationFrame(frame);
      observer?.disconnect();
    };
  }, [docId, user.id, arrived]);
  return null;
}
