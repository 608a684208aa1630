/**
 * The web client's page, and for a document's page (`/d/<id>`, with or without a permalink's tail) the article as
 * static HTML beside the app's root: its text is on screen at first paint, before the app's script has loaded or
 * the document has synced, and the editor takes its place once it shows the synced article (ArticleEditor.tsx).
 * A large document's threads cost nothing here: the preview is read from the document loaded on this instance, or
 * else from the stored snapshot's lead (the snapshot without its threads, storage/slice.ts) and the log after it.
 *
 * Only a signed-in reader of the document gets it (the session cookie, checked as the API checks it); everyone
 * else gets the plain page, as before. A page with a preview is never cached (`no-store`, also by the service
 * worker). Serving it also starts loading the document here, so that the socket the page opens a moment later
 * (after the app's script, the session check and the document's REST record: about 0.3-0.5 s) finds it loading or
 * loaded, not the first to ask.
 */
import * as Y from 'yjs';
import type { Request, Response } from 'express';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { articleBlocks, articlePreviewHtml, escapeHtml, type ArticleBlock } from '@marginalia/shared';
import { tokenPrincipal, type AppContext } from './context.js';
import { DOC_ID, roleFor } from '../access.js';
import { SESSION_COOKIE, readCookie } from '../auth/cookies.js';
import type { Principal } from '../auth/tokens.js';
import { log } from '../log.js';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Stored bytes a preview reads at most (lead or snapshot, and the log after it); a larger document gets none. */
const PREVIEW_MAX_BYTES = 4 * 1024 * 1024;

const DOCUMENT_PATH = /^\/d\/([^/]+)(?:\/|$)/;

/** Whoever the session cookie names, if it is valid and not refused; null otherwise (never an error: a page). */
async function pagePrincipal(ctx: AppContext, req: Request): Promise<Principal | null> {
  const token = readCookie(req, SESSION_COOKIE);
  if (!token) return null;
  const verified = await tokenPrincipal(ctx, token);
  return 'principal' in verified ? verified.principal : null;
}

/** The loaded copy's article, if the document is loaded here and its load has finished; else null at once. */
async function loadedBlocks(ctx: AppContext, docId: string): Promise<ArticleBlock[] | null> {
  const loading = ctx.registry.peek(docId);
  if (!loading) return null;
  const notYet = new Promise<null>((resolve) => setImmediate(resolve, null));
  const live = await Promise.race([loading.catch(() => null), notYet]);
  return live && !live.broken ? articleBlocks(live.doc) : null;
}

/** The article as stored: the snapshot's lead (or the snapshot) and the log after it; null if that is too large. */
async function storedBlocks(ctx: AppContext, docId: string): Promise<ArticleBlock[] | null> {
  const state = await ctx.storage.log.loadLeadState(docId);
  const base = state.snapshotLead ?? state.snapshot;
  const bytes = state.updates.reduce((n, u) => n + u.data.byteLength, base?.byteLength ?? 0);
  if (bytes > PREVIEW_MAX_BYTES) return null;
  const doc = new Y.Doc();
  try {
    // Entries that build on threads the lead leaves out wait as pending structs: only the article is read.
    if (base) Y.applyUpdate(doc, base);
    for (const u of state.updates) Y.applyUpdate(doc, u.data);
    return articleBlocks(doc);
  } finally {
    doc.destroy();
  }
}

/** The document's title and article as HTML for this caller, or null when they may not read it (or it is gone). */
async function previewFor(
  ctx: AppContext,
  principal: Principal,
  docId: string,
): Promise<{ title: string; html: string } | null> {
  const record = await ctx.storage.getDocument(docId);
  if (!record || !(await roleFor(ctx.storage, principal, record))) return null;
  const blocks = (await loadedBlocks(ctx, docId)) ?? (await storedBlocks(ctx, docId));
  return blocks && { title: record.title, html: articlePreviewHtml(blocks) };
}

/** The handler for every client page: the app's index.html, with the article's preview on a document's page. */
export function clientPage(ctx: AppContext, clientDir: string) {
  const index = join(clientDir, 'index.html');
  return async (req: Request, res: Response): Promise<void> => {
    res.setHeader('Content-Security-Policy', CSP);
    const docId = DOCUMENT_PATH.exec(req.path)?.[1];
    const principal = docId && DOC_ID.test(docId) ? await pagePrincipal(ctx, req) : null;
    let preview: { title: string; html: string } | null = null;
    if (docId && principal) {
      try {
        preview = await previewFor(ctx, principal, docId);
      } catch (e) {
        // The page works without it: the app loads the document as it always does.
        log.warn('article preview failed', { docId, error: (e as Error).message });
      }
    }
    if (!preview) {
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(index);
      return;
    }
    const page = (await readFile(index, 'utf8'))
      .replace(/<title>[^<]*<\/title>/, () => `<title>${escapeHtml(preview.title)} · Marginalia</title>`)
      .replace(
        '<div id="root"></div>',
        // A function, so that no `$` in the text is read as a replacement pattern.
        () =>
          '<div id="root"></div><div id="article-preview" class="preview-page" aria-busy="true">' +
          `<div class="article-wrap"><div class="article-preview" data-doc-id="${escapeHtml(docId!)}" aria-label="Article">` +
          `${preview.html}</div></div></div>`,
      );
    res.setHeader('Cache-Control', 'private, no-store');
    res.type('html').send(page);
    // The page's socket follows in a moment: have the document loaded (or loading) by then.
    void ctx.registry.with(docId!, () => undefined).catch(() => {});
  };
}
