/**
 * Who may change what in a document (ARCHITECTURE.md §5). Pure: a decision from the caller's role and what
 * the update would change. Viewers change nothing; commenters change only `threads`; editors and owners
 * change everything.
 */
import type * as Y from 'yjs';
import { ROLE_RANK, THREADS, type Role } from '@marginalia/shared';
import { inspectUpdate } from './inspect.js';

export interface UpdateContext {
  role: Role;
  userId: string;
}

export type PolicyDecision = { ok: true; empty: boolean } | { ok: false; rule: string };

export function checkUpdate(ctx: UpdateContext, doc: Y.Doc, update: Uint8Array): PolicyDecision {
  const { changes, missingDependencies } = inspectUpdate(doc, update);
  if (changes.length === 0 && !missingDependencies) return { ok: true, empty: true };
  if (ROLE_RANK[ctx.role] >= ROLE_RANK.editor) return { ok: true, empty: false };
  if (ctx.role === 'viewer') return { ok: false, rule: 'viewers may not change the document' };
  if (missingDependencies) return { ok: false, rule: 'update depends on content the server does not have' };
  for (const c of changes) {
    if (c.root !== THREADS) return { ok: false, rule: `commenters may change only threads (touched ${c.root ?? 'unknown content'})` };
  }
  return { ok: true, empty: false };
}
