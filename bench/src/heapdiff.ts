/**
 * What an idle connection keeps in the server's heap: Marginalia with the memory scenario's documents loaded (one
 * client each), a V8 heap snapshot, `--conns` more idle connections, a second snapshot, then the self sizes of the
 * objects the second snapshot has in addition, summed per kind and constructor and divided by the connections.
 * Also prints RSS and heap per connection as the memory scenario measures them.
 *
 *   cd bench && npx tsc -p tsconfig.json && node dist/heapdiff.js [--docs=100] [--conns=1000] [--top=40]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ask, loadavg, sleep, stop } from './lib/proc.js';
import { probe, provision, startTarget } from './servers.js';
import { SMALL_ARTICLE, startGenerator } from './scenarios.js';

const arg = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const docsN = arg('docs', 100);
const conns = arg('conns', 1000);
const top = arg('top', 40);

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
      location_fields: string[];
    };
  };
  nodes: number[];
  edges: number[];
  locations: number[];
  strings: string[];
}

/**
 * Self size and count per kind and constructor; plain objects also by their property names, anonymous closures
 * by their source position (script id:line:column), arrays and contexts by what holds them; strings and numbers
 * by kind only.
 */
function summarize(file: string): Map<string, { size: number; count: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { meta } = s.snapshot;
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const width = meta.node_fields.length;
  const ew = meta.edge_fields.length;
  const nf = (f: string) => meta.node_fields.indexOf(f);
  const [iType, iName, iSize, iEdges] = [nf('type'), nf('name'), nf('self_size'), nf('edge_count')];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const count = s.nodes.length / width;
  const name = (n: number) => s.strings[s.nodes[n * width + iName]!]!;
  const type = (n: number) => types[s.nodes[n * width + iType]!]!;
  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0, e = 0; n < count; n++) {
    firstEdge[n] = e;
    e += s.nodes[n * width + iEdges]! * ew;
  }
  firstEdge[count] = s.edges.length;
  const edgeName = (e: number) => {
    const t = edgeTypes[s.edges[e + eType]!]!;
    return t === 'element' || t === 'hidden' ? `[${s.edges[e + eName]}]` : s.strings[s.edges[e + eName]!]!;
  };
  // One holder per node (the first edge found to it, ignoring weak ones), to name arrays and contexts.
  const holder = new Map<number, string>();
  for (let n = 0; n < count; n++) {
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += ew) {
      const to = s.edges[e + eTo]! / width;
      const t = type(to);
      if (edgeTypes[s.edges[e + eType]!] === 'weak' || holder.has(to)) continue;
      if (t === 'array' || name(to) === 'system / Context' || name(to) === 'system / PropertyArray')
        holder.set(to, `${type(n)} ${name(n).slice(0, 40)}.${edgeName(e)}`);
    }
  }
  const at = new Map<number, string>();
  const lf = meta.location_fields;
  for (let i = 0; i < s.locations.length; i += lf.length) {
    const [obj, script, line, col] = ['object_index', 'script_id', 'line', 'column'].map(
      (f) => s.locations[i + lf.indexOf(f)]!,
    ) as [number, number, number, number];
    at.set(obj / width, `@${script}:${line + 1}:${col + 1}`);
  }
  const out = new Map<string, { size: number; count: number }>();
  for (let n = 0; n < count; n++) {
    const t = type(n);
    const nm = name(n);
    let key: string;
    if (/string|number/.test(t)) key = `(${t})`;
    else if (t === 'object' && nm === 'Object') {
      const props: string[] = [];
      for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += ew)
        if (edgeTypes[s.edges[e + eType]!] === 'property') props.push(edgeName(e));
      key = `object Object {${props.join(',').slice(0, 80)}}`;
    } else if (t === 'closure') key = `closure ${nm} ${at.get(n) ?? ''}`;
    else if (t === 'array' || nm === 'system / Context' || nm === 'system / PropertyArray')
      key = `${t} ${nm} in ${holder.get(n) ?? '?'}`;
    else key = `${t} ${nm.slice(0, 70)}`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += s.nodes[n * width + iSize]!;
    e.count++;
    out.set(key, e);
  }
  return out;
}

type Mem = { rss: number; heapUsed: number; external: number };

const server = await startTarget('marginalia', { env: { MARGINALIA_UNLOAD_GRACE_MS: '60000' } });
const gen = await startGenerator();
const dir = mkdtempSync(join(tmpdir(), 'heapdiff-'));
try {
  const p = await provision(
    server,
    Array.from({ length: docsN }, (_, i) => ({ title: `Small ${i}`, content: SMALL_ARTICLE })),
  );
  await ask(gen.proc, { cmd: 'memory-phase', target: p.target, docs: p.docIds, perDoc: 1, seedFile: null }, 120_000);
  await sleep(500);
  const m1 = await probe<Mem>(server, 'mem');
  const before = await ask<string>(
    server.child.proc,
    { cmd: 'heap-snapshot', file: join(dir, 'a.heapsnapshot') },
    300_000,
  );
  const perDoc = Math.ceil(conns / docsN);
  await ask(gen.proc, { cmd: 'memory-phase', target: p.target, docs: p.docIds, perDoc, seedFile: null }, 240_000);
  await sleep(500);
  const m2 = await probe<Mem>(server, 'mem');
  const after = await ask<string>(
    server.child.proc,
    { cmd: 'heap-snapshot', file: join(dir, 'b.heapsnapshot') },
    300_000,
  );
  const n = perDoc * docsN;
  const a = summarize(before);
  const b = summarize(after);
  const rows = [...b].map(([key, v]) => {
    const w = a.get(key) ?? { size: 0, count: 0 };
    return { key, bytes: (v.size - w.size) / n, count: (v.count - w.count) / n };
  });
  rows.sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((t, r) => t + r.bytes, 0);
  console.log(`load ${loadavg()}; ${n} idle connections over ${docsN} documents`);
  // RSS is not shown: the first snapshot itself grows it.
  console.log(
    `per connection: heap+external ${((m2.heapUsed + m2.external - m1.heapUsed - m1.external) / n / 1024).toFixed(
      2,
    )} KB, snapshot self sizes ${(total / 1024).toFixed(2)} KB`,
  );
  console.log('bytes/conn  objects/conn  kind constructor');
  for (const r of rows.slice(0, top)) {
    console.log(`${r.bytes.toFixed(1).padStart(10)}  ${r.count.toFixed(2).padStart(12)}  ${r.key}`);
  }
} finally {
  await stop(gen.proc);
  await server.stop();
  if (process.argv.includes('--keep')) console.log(`snapshots kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
