/**
 * What a client may change in a document: every admission rule in one place. `admit` decides on a document
 * update, `admitPresence` on a presence (awareness) update.
 *
 * An update may enter the write path when, in this order:
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
import { decodeAwarenessEntries, encodeAwarenessEntries } from './protocol.js';
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
    live.catchUp().catch((e: Error) => live.log.warn('catch-up from the log failed', { error: e.message }));
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

/** Largest presence state (JSON characters) a client may announce: names, colours and selections fit easily. */
const MAX_AWARENESS_STATE_CHARS = 8192;

/** A presence update that ends the sender's session: it is not one a well-behaved client sends. */
export interface PresenceRefusal {
  kind: 'malformed';
  reason: string;
}

/**
 * The part of a presence update from `sender` that may apply: the update itself, its allowed entries re-encoded,
 * or null when none changes anything it may change. A client may change only its own states — ids it controls,
 * or ids no one else here has announced — each a JSON object (or null) of bounded size. Stock clients echo every
 * presence change they receive, and may time out others' states on their own: entries that would change someone
 * else's state are dropped (the rest applies), not treated as an attack.
 */
export function admitPresence(
  live: LiveDocument,
  update: Uint8Array,
  sender: { controlledIds: Set<number> | null; principal: { id: string } },
): Uint8Array | null | PresenceRefusal {
  let entries;
  try {
    entries = decodeAwarenessEntries(update);
  } catch {
    return { kind: 'malformed', reason: 'malformed awareness update' };
  }
  const awareness = live.awareness;
  const allowed = [];
  for (const e of entries) {
    if (e.state.length > MAX_AWARENESS_STATE_CHARS) return { kind: 'malformed', reason: 'presence state too large' };
    let value: unknown;
    try {
      value = JSON.parse(e.state);
    } catch {
      return { kind: 'malformed', reason: 'presence state is not JSON' };
    }
    if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
      return { kind: 'malformed', reason: 'presence state must be an object or null' };
    }
    const current = awareness.meta.get(e.clientId)?.clock ?? 0;
    const changes = current < e.clock || (current === e.clock && value === null && awareness.states.has(e.clientId));
    if (!changes) continue;
    const mine = sender.controlledIds?.has(e.clientId) ?? false;
    if (!mine && (awareness.states.has(e.clientId) || live.awarenessOwner(e.clientId) !== null)) {
      log.debug("presence change for another client's id dropped", {
        doc: live.id,
        user: sender.principal.id,
        clientId: e.clientId,
      });
      continue;
    }
    allowed.push(e);
  }
  if (allowed.length === 0) return null;
  return allowed.length === entries.length ? update : encodeAwarenessEntries(allowed);
}
