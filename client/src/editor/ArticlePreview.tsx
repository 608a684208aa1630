/**
 * The server's static preview of the article (server/src/http/document-page.ts): on a document's page it arrives
 * with the HTML, beside the app's root, so the text is on screen before the app has run. Wherever the page is
 * still waiting for the synced article (opening the document, then the editor before its first sync), this slot
 * holds the preview: the element is moved into it, never parsed again, so it stays on screen without a flash.
 * The editor drops the slot once it shows the article itself.
 */
import { useCallback } from 'react';

/** The preview's element, taken out of the page's own markup the first time a slot asks for it. */
let preview: HTMLElement | null | undefined;

function takePreview(): HTMLElement | null {
  if (preview === undefined) {
    const shell = document.getElementById('article-preview');
    preview = shell?.querySelector<HTMLElement>('.article-preview') ?? null;
    shell?.remove();
  }
  return preview;
}

/** The preview of `docId`'s article, if the page came with one (a page opened on another document keeps none). */
function previewOf(docId: string): HTMLElement | null {
  const element = takePreview();
  return element?.dataset.docId === docId ? element : null;
}

export function ArticlePreview({ docId }: { docId: string }) {
  const adopt = useCallback(
    (slot: HTMLDivElement | null) => {
      const element = slot && previewOf(docId);
      if (element) slot.appendChild(element);
    },
    [docId],
  );
  return <div ref={adopt} className="article-preview-slot" aria-busy="true" />;
}

/** Forgets the preview once the article it previews is shown (a later document's page has its own). */
export function dropArticlePreview(): void {
  takePreview()?.remove();
  preview = null;
}

/** Whether this page came with a preview of `docId` still to show (read only: safe to call while rendering). */
export function hasArticlePreview(docId: string): boolean {
  const element =
    preview === undefined ? document.querySelector<HTMLElement>('#article-preview .article-preview') : preview;
  return element?.dataset.docId === docId;
}
