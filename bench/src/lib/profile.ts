/** Summarises a V8 .cpuprofile: self time by function and by area (our modules, yjs, ws, sqlite, GC, …). */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  total_ms: number;
  busy_ms: number;
  areas: { area: string; ms: number; pct: number }[];
  top: { fn: string; where: string; ms: number; pct: number }[];
  /** Inclusive time of Marginalia's own functions (server/dist, shared/dist). */
  ours: { fn: string; where: string; ms: number; pct: number }[];
}

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.includes('/server/dist/')) return 'marginalia server';
  if (url.includes('/shared/dist/')) return 'marginalia shared';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node core';
  if (url.includes('/bench/')) return 'bench probe';
  return url.split('/').slice(-1)[0]!;
}

const where = (n: Node) => {
  const u = n.callFrame.url
    .replace(/^file:\/\/.*\/(?:node_modules\/@marginalia\/)?(server|shared)\/dist\//, '$1/dist/')
    .replace(/^file:\/\/.*?\/node_modules\//, 'node_modules/');
  return u ? `${u}:${n.callFrame.lineNumber + 1}` : '';
};

export function summarize(file: string, topN = 15, intervalUs?: number): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  // A sample's delta is the wall time since the previous one; on a busy machine a descheduled process shows a
  // long gap charged to whatever ran next. Cap each at 4 sampling intervals (the bench samples every 0.5 ms).
  const cap = 4 * (intervalUs ?? 500);
  for (let i = 0; i < p.samples.length; i++)
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + Math.min(cap, p.timeDeltas[i] ?? 0) / 1000);
  let total = 0;
  let idle = 0;
  const fnSelf = new Map<string, { fn: string; where: string; ms: number }>();
  const areas = new Map<string, number>();
  const incl = new Map<string, { fn: string; where: string; ms: number }>();
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    total += ms;
    if (n.callFrame.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const key = `${n.callFrame.functionName}@${where(n)}`;
    const e = fnSelf.get(key) ?? { fn: n.callFrame.functionName || '(anonymous)', where: where(n), ms: 0 };
    e.ms += ms;
    fnSelf.set(key, e);
    const a = area(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    // Inclusive time of our own frames: each sample counts once per distinct frame on its stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!;
      const u = f.callFrame.url;
      if (!u.includes('/server/dist/') && !u.includes('/shared/dist/')) continue;
      const k = `${f.callFrame.functionName}@${where(f)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const x = incl.get(k) ?? { fn: f.callFrame.functionName || '(anonymous)', where: where(f), ms: 0 };
      x.ms += ms;
      incl.set(k, x);
    }
  }
  const busy = total - idle;
  const pct = (ms: number) => Math.round((1000 * ms) / Math.max(busy, 1e-9)) / 10;
  const r = (ms: number) => Math.round(ms * 10) / 10;
  return {
    total_ms: r(total),
    busy_ms: r(busy),
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([a, ms]) => ({ area: a, ms: r(ms), pct: pct(ms) })),
    top: [...fnSelf.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topN)
      .map((e) => ({ ...e, ms: r(e.ms), pct: pct(e.ms) })),
    ours: [...incl.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topN)
      .map((e) => ({ ...e, ms: r(e.ms), pct: pct(e.ms) })),
  };
}
