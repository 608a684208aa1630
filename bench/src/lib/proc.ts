/** Process plumbing: CPU time from /proc, machine load, core pinning, children that print a ready line. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime of a process (all its threads), in seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}

/** utime and stime separately, in seconds. */
export function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK }; // fields 14, 15
}

/** Time the process's main thread has spent runnable but waiting for a CPU, in seconds (/proc/<pid>/schedstat). */
export function runQueueWaitSeconds(pid: number | 'self'): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
  } catch {
    return 0;
  }
}

function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * CPU seconds the machine has been busy since boot (user, nice, system, irq, softirq; all cores). Processes'
 * utime/stime include some of the interrupt time and not the rest, so "other work" derived from it is approximate
 * (a few hundredths of a core when nothing else runs).
 */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / CLK_TCK;
}

/** Share of the machine's CPU time (all cores) that was busy over the next `ms`. */
export async function machineBusy(ms = 1000): Promise<number> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}

/**
 * Waits (up to `maxS` seconds) until the machine is quiet — at most `threshold` of its CPU busy with other work —
 * so that runs start on an idle machine when there is one. Returns the busy share when it stopped waiting.
 */
export async function waitForQuiet(maxS: number, threshold = 0.3): Promise<{ busy: number; waitedS: number }> {
  const t0 = Date.now();
  let busy = await machineBusy();
  while (busy > threshold && Date.now() - t0 < maxS * 1000) busy = await machineBusy(2000);
  return { busy: Math.round(busy * 100) / 100, waitedS: Math.round((Date.now() - t0) / 1000) };
}

export function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

const hasTaskset = spawnSync('taskset', ['-V']).status === 0;
export const CORES = cpus().length;

/** The command line prefix that pins a child to `core` (server: the last core; generators: core 0). */
export function pinned(core: number, args: string[]): [string, string[]] {
  if (hasTaskset && CORES > 1) return ['taskset', ['-c', String(core), ...args]];
  return [args[0]!, args.slice(1)];
}
export const SERVER_CORE = CORES > 1 ? CORES - 1 : 0;
export const GENERATOR_CORE = 0;
export const pinningNote =
  hasTaskset && CORES > 1
    ? `server pinned to core ${SERVER_CORE}, load generators to core ${GENERATOR_CORE} (taskset)`
    : 'no pinning (taskset missing or one core)';

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** The match of `ready` in the child's output. */
  ready: RegExpExecArray;
  output(): string;
}

/**
 * Spawns a child (pinned, with an IPC channel) and waits until a line of its output matches `ready`.
 * `taskset` execs the real program, so the pid is the program's own.
 */
export function spawnReady(
  cmd: [string, string[]],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; ready: RegExp; timeoutMs?: number },
): Promise<Child> {
  const proc = spawn(cmd[0], cmd[1], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${cmd[1].join(' ')}: not ready after ${opts.timeoutMs ?? 30_000} ms\n${out}`));
    }, opts.timeoutMs ?? 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
      const m = opts.ready.exec(out);
      if (m && timer) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stdout!.on('data', (x: Buffer) => void (out += x.toString().slice(0, 2000)));
        resolve({ proc, pid: proc.pid!, ready: m, output: () => out });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => void (out += d.toString()));
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${cmd[1].join(' ')} exited (${code ?? signal}) before it was ready\n${out}`));
    });
  });
}

/** Sends an IPC request to a child and waits for the reply with the same id. */
let nextId = 1;
export function ask<T>(proc: ChildProcess, msg: Record<string, unknown>, timeoutMs = 60_000): Promise<T> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.off('message', onMessage);
      reject(new Error(`no answer to ${JSON.stringify(msg)}`));
    }, timeoutMs);
    const onMessage = (m: { id?: number; result?: T; error?: string }) => {
      if (m?.id !== id) return;
      clearTimeout(timer);
      proc.off('message', onMessage);
      if (m.error) reject(new Error(m.error));
      else resolve(m.result as T);
    };
    proc.on('message', onMessage);
    proc.send({ ...msg, id });
  });
}

/** Stops a child: SIGINT, then SIGKILL after `graceMs`. Resolves when it has exited. */
export function stop(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGINT');
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
