/**
 * Folds stored states (snapshot + log) in a worker thread, so compaction never stalls the event loop that
 * carries every live document's writes and broadcasts: a fold costs the whole document (hundreds of
 * milliseconds for a large one), the write path a few microseconds per update.
 *
 * One worker per process, started on first use; it keeps the process alive only while a fold is running. If
 * the worker cannot run (no compiled worker file, e.g. under a TypeScript test runner), folds run in this thread.
 */
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { existsSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { foldPieces, storedPieces } from './merge.js';
import type { StoredState } from './types.js';

type FoldInput = Pick<StoredState, 'snapshot' | 'updates'>;
interface Request { id: number; pieces: Uint8Array[] }
export interface Folded {
  update: Uint8Array;
  /** Encoded state vector of `update`. */
  stateVector: Uint8Array;
}
type Reply = { id: number; ok: true; folded: Folded } | { id: number; ok: false; error: string };

const ROLE = 'marginalia:fold-worker';

if (parentPort && (workerData as { role?: string } | null)?.role === ROLE) {
  const port = parentPort;
  lowerThreadPriority();
  port.on('message', (req: Request) => {
    let reply: Reply;
    try {
      const folded = foldPieces(req.pieces);
      reply = { id: req.id, ok: true, folded };
    } catch (e) {
      reply = { id: req.id, ok: false, error: (e as Error).message };
    }
    port.postMessage(reply, reply.ok ? [reply.folded.update.buffer as ArrayBuffer] : []);
  });
}

/**
 * Folding is background work: on Linux this thread gets the lowest CPU priority (nice 19, for this thread only:
 * /proc/thread-self names its task id), so on a busy core it yields to the event loop that serves clients.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // not Linux, or not permitted: folds run at normal priority
  }
}

const WORKER_FILE = fileURLToPath(import.meta.url);

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, { resolve: (d: Folded) => void; reject: (e: Error) => void }>();

function failAll(error: Error): void {
  for (const w of waiting.values()) w.reject(error);
  waiting.clear();
}

function getWorker(): Worker | null {
  if (worker) return worker;
  if (!WORKER_FILE.endsWith('.js') || !existsSync(WORKER_FILE)) return null;
  const w = new Worker(WORKER_FILE, { workerData: { role: ROLE } });
  w.on('message', (r: Reply) => {
    const entry = waiting.get(r.id);
    if (!entry) return;
    waiting.delete(r.id);
    if (waiting.size === 0) w.unref();
    if (r.ok) entry.resolve(r.folded);
    else entry.reject(new Error(r.error));
  });
  w.on('error', (e) => {
    if (worker === w) worker = null;
    failAll(e);
  });
  w.on('exit', (code) => {
    if (worker === w) worker = null;
    failAll(new Error(`fold worker exited (${code})`));
  });
  w.unref(); // after the listeners: adding a 'message' listener refs the worker again
  worker = w;
  return w;
}

/** Folds a stored state into one update (as `foldState`) with its state vector, in the worker thread when it can. */
export function foldInWorker(state: FoldInput): Promise<Folded> {
  const w = getWorker();
  const pieces = storedPieces(state);
  if (!w) return Promise.resolve().then(() => foldPieces(pieces));
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    w.ref(); // held only while a fold is running
    w.postMessage({ id, pieces } satisfies Request);
  });
}
