/**
 * Server-side work on versions that touches the live document: recording its state as a version, and revising its
 * article (a new revision, a restore) through its write path, so connected clients receive the change at once.
 */
import * as Y from 'yjs';
import type { Storage } from '../storage/types.js';
import type { DocumentRegistry } from '../collab/registry.js';
import type { LiveDocument } from '../collab/live-document.js';
import { insertVersion } from './store.js';
import { readCopyOf } from './read-copy.js';
import { freshDeletions } from '../collab/deleted-ranges.js';
import type { DeletedRange } from '../collab/hooks.js';
import { anchorCounts, reviseArticle, type AnchorCounts } from './revise.js';

interface Services {
  storage: Storage;
  registry: DocumentRegistry;
}

/** Records the live document's state as a version; resolves with its id. */
export async function recordVersion(
  ctx: Services,
  docId: string,
  v: { name: string | null; createdBy: string | null; automatic: boolean },
): Promise<string> {
  const { state, readCopy, uptoSeq } = await ctx.registry.with(docId, async (live) => {
    // A server-side change is applied before it is stored: record only what is stored. The state and its read
    // copy are read in one tick.
    await live.changesSettled();
    return {
      state: Y.encodeStateAsUpdate(live.doc),
      readCopy: readCopyOf(live.doc, { cached: true }),
      uptoSeq: live.seqs.through,
    };
  });
  return insertVersion(ctx.storage.db, { docId, ...v, uptoSeq, state, readCopy });
}

const MAX_CLAIM_TRIES = 8;

/** A fresh Yjs client id of the document, claimed for `userId`: what it writes is attributed to them. */
export async function claimFreshClientId(live: LiveDocument, userId: string): Promise<number> {
  for (let i = 0; i < MAX_CLAIM_TRIES; i++) {
    const id = Math.floor(Math.random() * 2 ** 31);
    if ((await live.clientIds.claim([id], userId)) === null) return id;
  }
  throw new Error('no free client id found');
}

export interface RevisionOutcome {
  /** The version recorded before the change (null for a dry run). */
  version: string | null;
  anchors: AnchorCounts;
  /** The article's text after it. */
  text: string;
}

/**
 * Revises the live article to hold the blocks `target`, as a new change by `userId`: first the state before is
 * recorded as an automatic version, then only the changed spans are written. A dry run changes nothing and says
 * where the anchors would resolve.
 */
export async function reviseLiveArticle(
  ctx: Services,
  docId: string,
  target: readonly string[],
  opts: { userId: string; dryRun: boolean; origin: string },
): Promise<RevisionOutcome> {
  return ctx.registry.with(docId, async (live) => {
    const clientId = opts.dryRun ? Math.floor(Math.random() * 2 ** 31) : await claimFreshClientId(live, opts.userId);
    // A server-side change is applied before it is stored: the state kept and revised is only what is stored.
    await live.changesSettled();
    // The state the revision is made on, kept as the version before it (a dry run keeps nothing). The revision
    // copies the live article in the same tick, so both see one state.
    const base = opts.dryRun ? null : Y.encodeStateAsUpdate(live.doc);
    const readCopy = opts.dryRun ? null : readCopyOf(live.doc, { cached: true });
    // The edit is made on a copy of the article alone. The anchors are counted in that copy for a dry run, on the
    // live document after a real one.
    const revision = await reviseArticle(live.doc, target, clientId, { countAnchors: opts.dryRun });
    if (base === null) return { version: null, anchors: revision.anchors, text: revision.text };
    const version = await insertVersion(ctx.storage.db, {
      docId,
      name: null,
      createdBy: opts.userId,
      automatic: true,
      uptoSeq: live.seqs.through,
      state: base,
      readCopy,
    });
    if (revision.changed) {
      // What the revision deletes is noted as the caller's (as for updates that clients send).
      const note = { author: opts.userId, deleted: [] as DeletedRange[] };
      await live.change(
        (doc) => {
          note.deleted.push(...freshDeletions(doc, revision.update));
          Y.applyUpdate(doc, revision.update);
        },
        opts.origin,
        { note },
      );
    }
    return { version, anchors: anchorCounts(live.doc), text: revision.text };
  });
}
