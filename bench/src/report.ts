/**
 * Writes the results: latest.json (the exact shape, median run per scenario and server), details.json
 * (every run), latency.svg (latency against client count, drawn here from the data) and RESULTS.md (table,
 * goals met or not, machine load, profile summaries). Scenarios this run did not measure keep their previous
 * figures (or null); RESULTS.md keeps an "## Exports" section written by the exports bench, and the hand-written
 * analysis between the analysis markers.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { medianRun } from './lib/hist.js';
import { BENCH_DIR } from './servers.js';
import { latencySvg } from './chart.js';
import { goals, renderResults } from './results-md.js';
import type { Details } from './run.js';

type Json = Record<string, unknown>;
const pick = <T, K extends keyof T>(o: T, keys: K[]): Pick<T, K> =>
  Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;

function mapServers<T, R>(
  runs: Record<string, T[]>,
  key: (r: T) => number,
  shape: (r: T) => R,
): Record<string, R> | null {
  const entries = Object.entries(runs).filter(([, r]) => r.length > 0);
  return entries.length ? Object.fromEntries(entries.map(([k, r]) => [k, shape(medianRun(r, key))])) : null;
}

/**
 * The exports bench (another issue) writes its figures only into RESULTS.md's "## Exports" table
 * (| format | ms (median) | …): copied into latest.json's `exports` so that the file holds every scenario.
 */
export function exportsFromSection(section: string | null): Json | null {
  if (!section) return null;
  const ms: Record<string, number> = {};
  for (const m of section.matchAll(/^\|\s*(md|html|w3c|csv|docx)\s*\|\s*([\d.]+)\s*\|/gm)) ms[m[1]!] = Number(m[2]);
  if (Object.keys(ms).length === 0) return null;
  const threads = /([\d,]+) threads/.exec(section);
  return { threads: threads ? Number(threads[1]!.replace(/,/g, '')) : 10000, ms };
}

export function latestJson(d: Details, previous: Json | null, exportsSection: string | null = null): Json {
  const prev = ((previous?.scenarios ?? {}) as Json) ?? {};
  const keep = (name: string, now: unknown) => (now !== null ? now : (prev[name] ?? null));
  const fanout = mapServers(
    d.fanout,
    (r) => r.p99_ms,
    (r) => pick(r, ['p50_ms', 'p99_ms', 'drops', 'server_us_per_frame']),
  );
  const hotroom = mapServers(
    d.hotroom,
    (r) => r.p99_ms,
    (r) => pick(r, ['p99_ms', 'loop_lag_p99_ms', 'frames_per_update', 'server_us_per_frame']),
  );
  const durable = mapServers(
    d.durable,
    (r) => r.p99_ms,
    (r) => pick(r, ['p99_ms']),
  );
  const memory = mapServers(
    d.memory,
    (r) => r.kb_per_idle_conn,
    (r) => pick(r, ['kb_per_idle_conn', 'kb_per_small_doc', 'docs_resident_after_grace']),
  );
  const cold = d.coldload ? medianRun(d.coldload.runs, (r) => r.first_sync_ms) : null;
  return {
    date: d.finished,
    machine: { cpus: d.machine.cpus, node: d.machine.node },
    scenarios: {
      fanout: keep('fanout', fanout ? { clients: d.fanout.marginalia?.[0]?.clients ?? 500, servers: fanout } : null),
      hotroom: keep('hotroom', hotroom ? { writers: 400, servers: hotroom } : null),
      durable: keep('durable', durable ? { servers: durable } : null),
      coldload: keep(
        'coldload',
        cold
          ? {
              threads: d.coldload!.threads,
              comments: d.coldload!.comments,
              servers: { marginalia: pick(cold, ['load_ms', 'article_ms', 'first_sync_ms']) },
            }
          : null,
      ),
      memory: keep('memory', memory ? { servers: memory } : null),
      exports: exportsFromSection(exportsSection) ?? prev.exports ?? null,
      scaleout: prev.scaleout ?? null,
    },
  };
}

/** Sections of RESULTS.md this bench writes itself; every other "## " section was written elsewhere and is kept. */
const OWN_SECTIONS = ['Goals', 'Figures', 'Server CPU profiles', 'Method'];

/** The parts of an existing RESULTS.md that other benches, drills or a person wrote, to carry over. */
function carried(file: string): { exports: string | null; analysis: string | null; others: string[] } {
  if (!existsSync(file)) return { exports: null, analysis: null, others: [] };
  const text = readFileSync(file, 'utf8');
  const an = /<!-- analysis:start -->[\s\S]*?<!-- analysis:end -->/.exec(text);
  const sections = [
    ...text
      .replace(/<!-- analysis:start -->[\s\S]*?<!-- analysis:end -->/, '')
      .matchAll(/\n## ([^\n]*)\n[\s\S]*?(?=\n## |$)/g),
  ];
  const foreign = sections.filter((m) => !OWN_SECTIONS.some((own) => m[1]!.startsWith(own)));
  const ex = foreign.find((m) => m[1]!.startsWith('Exports'));
  return {
    exports: ex ? ex[0].trim() : null,
    analysis: an ? an[0] : null,
    others: foreign.filter((m) => m !== ex).map((m) => m[0].trim()),
  };
}

/** A run of some scenarios only (--only) keeps the other scenarios' details from the previous run. */
function mergeDetails(d: Details, file: string): Details {
  if (!existsSync(file)) return d;
  const prev = JSON.parse(readFileSync(file, 'utf8')) as Details;
  const empty = (v: unknown) =>
    v === null || v === undefined || (typeof v === 'object' && Object.keys(v as object).length === 0);
  const out = { ...d } as Record<string, unknown>;
  for (const k of ['floor', 'fanout', 'sweep', 'hotroom', 'durable', 'coldload', 'memory'] as const) {
    if (empty(d[k]) && !empty(prev[k])) out[k] = prev[k];
  }
  out.profiles = { ...prev.profiles, ...d.profiles };
  out.busyBefore = { ...prev.busyBefore, ...d.busyBefore };
  const same = (a: string, b: string) => a.slice(0, 30) === b.slice(0, 30);
  out.notes = [...d.notes, ...prev.notes.filter((n) => !d.notes.some((m) => same(m, n)))];
  return out as unknown as Details;
}

export function writeReport(dNow: Details, outDir: string, previous: Json | null, merge = true): void {
  const d = merge ? mergeDetails(dNow, join(outDir, 'details.json')) : dNow;
  const mdFile = outDir === join(BENCH_DIR, 'results') ? join(BENCH_DIR, 'RESULTS.md') : join(outDir, 'RESULTS.md');
  const keepParts = carried(mdFile.endsWith(join('bench', 'RESULTS.md')) ? mdFile : join(BENCH_DIR, 'RESULTS.md'));
  const latest = latestJson(d, previous, keepParts.exports);
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify(latest, null, 2) + '\n');
  writeFileSync(join(outDir, 'details.json'), JSON.stringify(d, null, 2) + '\n');
  const svg = latencySvg(d.sweep);
  if (svg) writeFileSync(join(outDir, 'latency.svg'), svg);
  writeFileSync(
    mdFile,
    renderResults(d, latest, goals(latest, d), keepParts, mdFile === join(BENCH_DIR, 'RESULTS.md') ? 'results/' : ''),
  );
  console.log(`wrote ${join(outDir, 'latest.json')}, details.json${svg ? ', latency.svg' : ''}, ${mdFile}`);
}
