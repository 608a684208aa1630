/**
 * Whole-document work on stored states in a worker thread, so it never stalls the event loop that carries every
 * live document's writes and broadcasts: folding a stored state (snapshot + log) for compaction, and cutting a
 * large one into slices for loading (slice.ts). Either costs the whole document (hundreds of milliseconds for a
 * large one), the write path a few microseconds per update. SQLite's WAL checkpoints run here too: each copies
 * pages into the database file and waits for two fsyncs, which the event loop must never wait for.
 *
 * One worker per process, started on first use; it keeps the process alive only while a job is running. If the
 * worker cannot run (no compiled worker file, e.g. under a TypeScript test runner), jobs run in this thread.
 */
import { Worker, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { existsSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { foldPieces, snapshotLeadOf, storedPieces } from './stored-state.js';
import { sliceUpdate } from './slice.js';
import type { StoredState } from './types.js';
import { readCopyOf, type ReadCopy } from '../versions/read-copy.js';

type FoldInput = Pick<StoredState, 'snapshot' | 'updates'>;
type Job = 'fold' | 'fold-and-find-invalid' | 'fold-version' | 'slice' | 'checkpoint';
/** `pieces`: the stored pieces to fold or slice; `file`: the SQLite database to checkpoint. */
interface Request {
  id: number;
  job: Job;
  pieces: Uint8Array[];
  file?: string;
}
export interface Folded {
  update: Uint8Array;
  /** Encoded state vector of `update`. */
  stateVector: Uint8Array;
  /** Keys of `threads` holding junk no reader can read (only when asked for: see foldInWorker). */
  invalid: string[];
}
/** A stored state folded for compaction: also the snapshot's lead (stored-state.ts `snapshotLeadOf`). */
export interface FoldedSnapshotState extends Folded {
  lead: Uint8Array | null;
}
/** A stored state folded for a version: the update and its read copy (versions/read-copy.ts). */
export interface FoldedVersion extends Folded {
  readCopy: ReadCopy;
}
/** An update cut into slices to apply in order, and the state vector it covers (slice.ts); null: apply it whole. */
export type Sliced = ReturnType<typeof sliceUpdate>;
/** What a checkpoint did: frames in the WAL, and how many of them are now in the database file. */
export interface Checkpointed {
  walFrames: number;
  checkpointed: number;
}
type Result = FoldedSnapshotState | FoldedVersion | Sliced | Checkpointed;
type Reply = { id: number; ok: true; result: Result } | { id: number; ok: false; error: string };

/** Runs a job where it is called (the worker, or this thread when there is none). */
function run(req: Omit<Request, 'id'>): Result {
  if (req.job === 'checkpoint') return checkpoint(req.file!);
  if (req.job === 'slice') return sliceUpdate(req.pieces[0]!);
  if (req.job === 'fold-version') return foldPieces(req.pieces, { read: readCopyOf });
  const folded = foldPieces(req.pieces, { findInvalid: req.job === 'fold-and-find-invalid' });
  return { ...folded, lead: snapshotLeadOf(folded.update) };
}

/**
 * Copies what the WAL holds into the database file, on a connection of its own (opened per job: a checkpoint runs
 * every few megabytes written). PASSIVE: it never waits for, nor blocks, the server's connection; the next commit
 * there starts the WAL over once everything is copied. synchronous=NORMAL syncs the WAL before copying and the
 * database after.
 */
function checkpoint(file: string): Checkpointed {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('synchronous = NORMAL');
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    return { walFrames: r!.log, checkpointed: r!.checkpointed };
  } finally {
    db.close();
  }
}

/** The buffers a reply can hand over instead of copying (each once). */
const buffersOf = (r: Result): ArrayBuffer[] => [
  ...new Set(
    (r === null || 'walFrames' in r
      ? []
      : 'update' in r
        ? 'readCopy' in r
          ? [r.update, r.readCopy.article]
          : r.lead
            ? [r.update, r.lead]
            : [r.update]
        : r.slices
    ).map((u) => u.buffer as ArrayBuffer),
  ),
];

const ROLE = 'marginalia:storage-worker';

if (parentPort && (workerData as { role?: string } | null)?.role === ROLE) {
  const port = parentPort;
  lowerThreadPriority();
  port.on('message', (req: Request) => {
    let reply: Reply;
    try {
      reply = { id: req.id, ok: true, result: run(req) };
    } catch (e) {
      reply = { id: req.id, ok: false, error: (e as Error).message };
    }
    port.postMessage(reply, reply.ok ? buffersOf(reply.result) : []);
  });
}

/**
 * This is background work: on Linux this thread gets the lowest CPU priority (nice 19, for this thread only:
 * /proc/thread-self names its task id), so on a busy core it yields to the event loop that serves clients.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // not Linux, or not permitted: jobs run at normal priority
  }
}

const WORKER_FILE = fileURLToPath(import.meta.url);

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>();

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
    if (r.ok) entry.resolve(r.result);
    else entry.reject(new Error(r.error));
  });
  w.on('error', (e) => {
    if (worker === w) worker = null;
    failAll(e);
  });
  w.on('exit', (code) => {
    if (worker === w) worker = null;
    failAll(new Error(`stored-state worker exited (${code})`));
  });
  w.unref(); // after the listeners: adding a 'message' listener refs the worker again
  worker = w;
  return w;
}

function inWorker(job: Omit<Request, 'id'>): Promise<Result> {
  const w = getWorker();
  if (!w) return Promise.resolve().then(() => run(job));
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    w.ref(); // held only while a job is running
    w.postMessage({ id, ...job } satisfies Request);
  });
}

/**
 * Folds a stored state into one update (as `foldSnapshot`: with its lead) with its state vector, in the worker
 * thread when it can. `findInvalid`: also list the keys of `threads` that hold junk (compaction purges it), found
 * there too.
 */
export function foldInWorker(state: FoldInput, opts: { findInvalid?: boolean } = {}): Promise<FoldedSnapshotState> {
  const job = opts.findInvalid ? 'fold-and-find-invalid' : 'fold';
  return inWorker({ job, pieces: storedPieces(state) }) as Promise<FoldedSnapshotState>;
}

/**
 * Folds a stored state for a version: the update (as foldInWorker) and the read copy of the document it makes
 * (versions/read-copy.ts), read from the same built document, in the worker thread when it can.
 */
export function foldVersionInWorker(state: FoldInput): Promise<FoldedVersion> {
  return inWorker({ job: 'fold-version', pieces: storedPieces(state) }) as Promise<FoldedVersion>;
}

/** Cuts an update into slices that build the document a turn at a time (slice.ts), in the worker when it can. */
export function sliceInWorker(update: Uint8Array): Promise<Sliced> {
  return inWorker({ job: 'slice', pieces: [update] }) as Promise<Sliced>;
}

/** Checkpoints a SQLite database's WAL (see `checkpoint`), in the worker when it can. */
export function checkpointInWorker(file: string): Promise<Checkpointed> {
  return inWorker({ job: 'checkpoint', pieces: [], file }) as Promise<Checkpointed>;
}
