/**
 * Whether an update from a client may enter a document's write path: every admission rule in one place, in the
 * order they apply.
 *   1. the document copy is trusted (not being reloaded after a failed store);
 *   2. the update is well-formed Yjs (inspect.ts);
 *   3. this server has what the update builds on (else it catches up from the log and the client resends);
 *   4. the writer's role and the per-field policy allow each change (policy.ts);
 *   5. the writer owns the Yjs client ids it writes under (first writer owns an id; claimed in storage);
 *   6. the document is below its size limit.
 * An update that changes nothing new is admitted as `nothing-new` (there is nothing to store). A refused update is
 * not applied, stored or broadcast; the caller only maps the decision to a close code and message.
 */
import type { Role } from '@marginalia/shared';
import { checkUpdate } from './policy.js';
import { MalformedUpdateError } from './inspect.js';
import type { LiveDocument } from './live-document.js';
import { log } from '../log.js';

/** Who writes: the user and their role in this document. */
export interface Writer {
  role: Role;
  userId: string;
  userName: string;
}

export type Admission =
  /** Store it. */
  | { kind: 'accepted' }
  /** Everything in it is in the document already: nothing to store. */
  | { kind: 'nothing-new' }
  /** Not a valid Yjs update. */
  | { kind: 'malformed'; reason: string }
  /** Against a rule: the writer may not make this change. */
  | { kind: 'refused'; rule: string }
  /** The document has reached its size limit. */
  | { kind: 'too-large'; rule: string }
  /** Not the writer's fault: this server cannot take it now (it lags, or storage failed); sending again may work. */
  | { kind: 'not-now'; reason: string }
  /** The copy in memory is being replaced by one loaded from storage. */
  | { kind: 'reloading' };

const ACCEPTED: Admission = { kind: 'accepted' };
const NOTHING_NEW: Admission = { kind: 'nothing-new' };
const RELOADING: Admission = { kind: 'reloading' };

const formatBytes = (n: number): string =>
  n >= 1048576 ? `${Math.round(n / 1048576)} MiB` : `${Math.round(n / 1024)} KiB`;

/**
 * The decision on `update` from `writer` to `live`. Synchronous unless the update writes under a client id not
 * seen in this document before (then the claim is stored first): a client typing costs no await here.
 * Throws only what no rule covers (a defect).
 */
export function admit(live: LiveDocument, update: Uint8Array, writer: Writer): Admission | Promise<Admission> {
  if (live.broken) return RELOADING;
  let decision;
  try {
    decision = checkUpdate(writer, live.doc, update);
  } catch (e) {
    if (e instanceof MalformedUpdateError) return { kind: 'malformed', reason: e.message };
    throw e;
  }
  if (!decision.ok) {
    if (!decision.retry) return { kind: 'refused', rule: decision.rule };
    // This instance lags behind the shared log (scale-out): it catches up, and the client resends.
    live.catchUp().catch((e: Error) => log.warn('catch-up from the log failed', { doc: live.id, error: e.message }));
    return { kind: 'not-now', reason: `${decision.rule}; reconnecting` };
  }
  if (decision.empty) return NOTHING_NEW;
  let squatter;
  try {
    squatter = live.clientIds.claim(decision.writers, writer.userId);
  } catch (e) {
    return claimFailed(e);
  }
  if (squatter instanceof Promise) return squatter.then((s) => afterClaim(live, s), claimFailed);
  return afterClaim(live, squatter);
}

function claimFailed(e: unknown): Admission {
  return { kind: 'not-now', reason: `update not stored: ${(e as Error).message}` };
}

function afterClaim(live: LiveDocument, squatter: number | null): Admission {
  if (squatter !== null) return { kind: 'refused', rule: `Yjs client id ${squatter} belongs to another user` };
  const max = live.limits.maxDocumentBytes;
  if (live.storedBytes > max)
    return { kind: 'too-large', rule: `the document has reached its size limit (${formatBytes(max)})` };
  return ACCEPTED;
}
