/** RESULTS.md: the figures, the goals (met, missed, not measured), machine load, and profile summaries. */
import type { Details } from './run.js';
import type { LoadRun } from './scenarios.js';
import { medianRun } from './lib/hist.js';

type Json = Record<string, any>;
export interface Goal {
  scenario: string;
  goal: string;
  value: string;
  met: boolean | null;
}

const REFS = ['y-websocket-server', 'hocuspocus'];
const n = (x: unknown) => (typeof x === 'number' ? x : null);

/** The run latest.json reports (median by p99), to see whether it lost beacons or sockets. */
function trouble(runs: LoadRun[] | undefined): string | null {
  if (!runs?.length) return null;
  const r = [...runs].sort((a, b) => a.p99_ms - b.p99_ms)[Math.floor((runs.length - 1) / 2)]!;
  const closed = Object.entries(r.closed ?? {}).map(([why, n]) => `${n} sockets closed "${why}"`);
  if (!r.drops && !closed.length) return null;
  return [r.drops ? `${r.drops} deliveries missing` : '', ...closed].filter(Boolean).join('; ');
}

export function goals(latest: Json, det?: Details): Goal[] {
  const s = latest.scenarios as Json;
  const out: Goal[] = [];
  const broken: Record<string, string | null> = {
    fanout: trouble(det?.fanout.marginalia),
    hotroom: trouble(det?.hotroom.marginalia),
    durable: trouble(det?.durable.marginalia) ?? trouble(det?.durable['marginalia-nopersist']),
  };
  // A latency or CPU figure from a run that lost deliveries or sockets is no evidence that a goal is met.
  const add = (scenario: string, goal: string, value: string, met: boolean | null) => {
    const b = broken[scenario];
    out.push(
      b && met !== null && goal !== '0 drops'
        ? { scenario, goal, value: `${value} — but ${b}`, met: false }
        : { scenario, goal, value, met },
    );
  };
  const refMin = (servers: Json | undefined, key: string) => {
    const v = REFS.map((r) => n(servers?.[r]?.[key])).filter((x): x is number => x !== null);
    return v.length === REFS.length ? Math.min(...v) : null;
  };
  const f = s.fanout?.servers as Json | undefined;
  const fm = f?.marginalia;
  const fRefCpu = refMin(f, 'server_us_per_frame');
  const fRefP99 = refMin(f, 'p99_ms');
  add(
    'fanout',
    'server CPU per delivered frame <= 0.5x both references',
    fm && fRefCpu !== null
      ? `${fm.server_us_per_frame} us vs 0.5 x ${fRefCpu} = ${(fRefCpu / 2).toFixed(2)} us`
      : 'not measured',
    fm && fRefCpu !== null ? fm.server_us_per_frame <= fRefCpu / 2 : null,
  );
  add(
    'fanout',
    'p99 no worse than either reference',
    fm && fRefP99 !== null ? `${fm.p99_ms} ms vs ${fRefP99} ms` : 'not measured',
    fm && fRefP99 !== null ? fm.p99_ms <= fRefP99 : null,
  );
  add('fanout', '0 drops', fm ? String(fm.drops) : 'not measured', fm ? fm.drops === 0 : null);
  const h = s.hotroom?.servers as Json | undefined;
  const hm = h?.marginalia;
  const hRefCpu = refMin(h, 'server_us_per_frame');
  add(
    'hotroom',
    'event-loop lag p99 <= 50 ms',
    hm ? `${hm.loop_lag_p99_ms} ms` : 'not measured',
    hm ? hm.loop_lag_p99_ms <= 50 : null,
  );
  add(
    'hotroom',
    'frames per update O(1) per recipient (<= 1)',
    hm ? String(hm.frames_per_update) : 'not measured',
    hm ? hm.frames_per_update <= 1 : null,
  );
  add(
    'hotroom',
    'server CPU per delivered frame <= 0.5x both references',
    hm && hRefCpu !== null
      ? `${hm.server_us_per_frame} us vs 0.5 x ${hRefCpu} = ${(hRefCpu / 2).toFixed(2)} us`
      : 'not measured',
    hm && hRefCpu !== null ? hm.server_us_per_frame <= hRefCpu / 2 : null,
  );
  const d = s.durable?.servers as Json | undefined;
  const dm = n(d?.marginalia?.p99_ms);
  const dn = n(d?.['marginalia-nopersist']?.p99_ms);
  add(
    'durable',
    'p99 <= 1.2x no-persist',
    dm !== null && dn !== null ? `${dm} ms vs 1.2 x ${dn} = ${(1.2 * dn).toFixed(2)} ms` : 'not measured',
    dm !== null && dn !== null ? dm <= 1.2 * dn : null,
  );
  const c = s.coldload?.servers?.marginalia;
  // The run latest.json took (median by first sync), for where the time went: the server's part, the client's.
  const cr = det?.coldload ? medianRun(det.coldload.runs, (r) => r.first_sync_ms) : null;
  const split =
    cr?.state_received_ms !== undefined
      ? `; whole state at the client after ${cr.state_received_ms} ms, the client's own apply ${cr.client_apply_ms} ms`
      : '';
  add(
    'coldload',
    'first sync <= 150 ms',
    c
      ? `${c.first_sync_ms} ms (load ${c.load_ms} ms${split}${c.article_ms !== undefined ? `; article applied after ${c.article_ms} ms` : ''})`
      : 'not measured',
    c ? c.first_sync_ms <= 150 : null,
  );
  const m = s.memory?.servers?.marginalia;
  add(
    'memory',
    '<= 20 KB per idle connection',
    m ? `${m.kb_per_idle_conn} KB` : 'not measured',
    m ? m.kb_per_idle_conn <= 20 : null,
  );
  add(
    'memory',
    '<= 150 KB per small document',
    m ? `${m.kb_per_small_doc} KB` : 'not measured',
    m ? m.kb_per_small_doc <= 150 : null,
  );
  add(
    'memory',
    '0 documents resident after the grace period',
    m ? String(m.docs_resident_after_grace) : 'not measured',
    m ? m.docs_resident_after_grace === 0 : null,
  );
  const e = s.exports?.ms as Json | undefined;
  const worst = e ? Math.max(...Object.values(e).map((v) => Number(v))) : null;
  const slowest = e ? Object.entries(e).sort((a, b) => Number(b[1]) - Number(a[1]))[0]! : null;
  add(
    'exports',
    'each export <= 1 s',
    slowest
      ? `slowest: ${slowest[0]} ${slowest[1]} ms (from the Exports section below, \`npm run bench:exports\`)`
      : 'not measured (exports bench, another issue)',
    worst !== null ? worst <= 1000 : null,
  );
  const so = n(s.scaleout?.hop_added_p50_ms);
  add(
    'scaleout',
    'scale-out hop <= 5 ms',
    so !== null ? `${so} ms` : 'not measured (run `npm run bench:scaleout`)',
    so !== null ? so <= 5 : null,
  );
  return out;
}

const mark = (met: boolean | null) => (met === null ? 'not measured' : met ? '**met**' : '**MISSED**');
const row = (cells: (string | number | null | undefined)[]) =>
  `| ${cells.map((c) => (c === null || c === undefined ? '–' : String(c))).join(' | ')} |`;

function loadTable(
  title: string,
  runs: Record<string, LoadRun[]>,
  cols: [string, (r: LoadRun) => unknown][],
): string[] {
  const servers = Object.keys(runs);
  if (!servers.length) return [];
  const out = [`**${title}**`, '', row(['server', ...cols.map((c) => c[0])]), row(['---', ...cols.map(() => '---:')])];
  for (const k of servers) {
    const sorted = [...runs[k]!].sort((a, b) => a.p99_ms - b.p99_ms);
    const med = sorted[Math.floor((sorted.length - 1) / 2)]!;
    out.push(row([k, ...cols.map((c) => c[1](med) as string)]));
  }
  out.push('');
  return out;
}

export function renderResults(
  d: Details,
  latest: Json,
  gs: Goal[],
  kept: { exports: string | null; analysis: string | null; others: string[] },
  rel: string,
): string {
  const L: string[] = [];
  const runs =
    d.profile === 'full'
      ? '3 runs per scenario, the median run (by p99) shown'
      : 'quick profile: 1 short run per scenario — indicative only';
  L.push('# Benchmark results', '');
  L.push(
    `Generated by \`npm run bench${d.profile === 'full' ? ' -- --full' : ''}\` on ${d.finished.slice(0, 16).replace('T', ' ')} UTC (${runs}).`,
  );
  L.push(`Machine: ${d.machine.cpus} × ${d.machine.model}, Node ${d.machine.node}; ${d.machine.pinning}.`);
  if (d.source)
    L.push(
      `Measured build: commit ${d.source.commit}${d.source.changed_files ? ` with ${d.source.changed_files} uncommitted file(s) in server/src and shared/src` : ''}, copied before the run so that rebuilds by other work could not change it midway.`,
    );
  const busy = Object.values(d.busyBefore ?? {});
  L.push(
    `Load average (1/5/15 min) at start ${d.load.start}, at end ${d.load.end}. The machine is shared with other work${busy.length ? `: before each run ${Math.round(Math.min(...busy) * 100)}–${Math.round(Math.max(...busy) * 100)} % of its CPU was busy with it (median ${Math.round([...busy].sort((a, b) => a - b)[Math.floor(busy.length / 2)]! * 100)} %)` : ''}. Per run: load, the share of time the server and the generator waited for a CPU (run-queue wait, from /proc/<pid>/schedstat), all in \`${rel}details.json\`.`,
  );
  L.push(
    'Reference servers: @y/websocket-server 0.1.1 (its own bin: no persistence), Hocuspocus 4.7.0 (defaults: no extensions, no persistence). Marginalia runs as shipped: token auth at upgrade, a policy check of every update, SQLite log (every update flushed to the disk before it is broadcast: synchronous=NORMAL plus an fdatasync of the WAL in the thread pool); its receivers are commenters, its writers commenters too unless a note below says otherwise.',
    '',
  );
  L.push('## Goals', '', row(['scenario', 'goal', 'measured', 'verdict']), row(['---', '---', '---', '---']));
  for (const g of gs) L.push(row([g.scenario, g.goal, g.value, mark(g.met)]));
  L.push('');
  L.push('## Figures', '');
  L.push(
    ...loadTable(
      'fanout — one writer (real provider) at 50 updates/s, 500 clients (494 raw receivers, 5 real providers)',
      d.fanout,
      [
        ['p50 ms', (r) => r.p50_ms],
        ['p99 ms', (r) => r.p99_ms],
        ['max ms', (r) => r.max_ms],
        ['real-provider p50/p99 ms', (r) => `${r.real_p50_ms} / ${r.real_p99_ms}`],
        ['drops', (r) => r.drops],
        ['server µs/frame (user)', (r) => `${r.server_us_per_frame} (${r.server_user_us_per_frame})`],
        ['server CPU', (r) => r.server_cpu_util],
        ['generator CPU', (r) => r.gen_cpu_util],
        ['run-queue wait server/gen', (r) => `${r.server_runq_wait} / ${r.gen_runq_wait}`],
        ['other work (cores)', (r) => r.others_cpu],
        ['loop lag p99 ms', (r) => r.loop_lag_p99_ms],
      ],
    ),
  );
  if (d.floor) {
    const f = d.floor;
    const raw = f.raw
      ? ` Writing a frame built once to each socket instead (what Marginalia's broadcasts do) it spends **${f.raw.us_per_frame} µs** (user ${f.raw.user_us_per_frame}, system ${f.raw.system_us_per_frame}).`
      : '';
    L.push(
      `Calibration: a bare \`ws\` server sending a ready-made 300-byte message to ${f.clients} connections 50 times a second with \`ws.send\` (no Yjs, no protocol) spends **${f.us_per_frame} µs of CPU per frame** here (user ${f.user_us_per_frame}, system ${f.system_us_per_frame}: the system part is the loopback TCP send path).${raw} That system time is the floor for any Node server that writes each update to each socket.`,
      '',
    );
  }
  L.push(
    ...loadTable('hotroom — 400 raw writers × 2 updates/s on one document (+2 real providers)', d.hotroom, [
      ['p50 ms', (r) => r.p50_ms],
      ['p99 ms', (r) => r.p99_ms],
      ['max ms', (r) => r.max_ms],
      ['drops', (r) => r.drops],
      ['loop lag p99 ms', (r) => r.loop_lag_p99_ms],
      ['frames/update/recipient', (r) => r.frames_per_update],
      ['server µs/frame (user)', (r) => `${r.server_us_per_frame} (${r.server_user_us_per_frame})`],
      ['server µs/delivered update', (r) => r.server_us_per_delivery],
      ['server CPU', (r) => r.server_cpu_util],
      ['generator CPU', (r) => r.gen_cpu_util],
      ['run-queue wait server/gen', (r) => `${r.server_runq_wait} / ${r.gen_runq_wait}`],
      ['other work (cores)', (r) => r.others_cpu],
      [
        'projector lag p50/p99 ms',
        (r) => (r.projector_lag ? `${r.projector_lag.p50_ms} / ${r.projector_lag.p99_ms}` : '—'),
      ],
    ]),
  );
  L.push(
    ...loadTable('durable — 100 raw writers × 5 updates/s (+2 real providers)', d.durable, [
      ['p50 ms', (r) => r.p50_ms],
      ['p99 ms', (r) => r.p99_ms],
      ['max ms', (r) => r.max_ms],
      ['drops', (r) => r.drops],
      ['loop lag p99 ms', (r) => r.loop_lag_p99_ms],
      ['server CPU', (r) => r.server_cpu_util],
      ['other work (cores)', (r) => r.others_cpu],
      ['storage', (r) => r.storage],
    ]),
  );
  if (d.coldload) {
    L.push(
      `**coldload — the seed article with ${d.coldload.threads} threads / ${d.coldload.comments} comments stored, fresh server per run**`,
      '',
    );
    L.push(
      row([
        'run',
        'load ms (connect → server sync step 1)',
        'first data ms (connect → state starts arriving)',
        'state received ms (connect → whole state arrived, before any apply)',
        'article ms (cold: connect → the article applied at a real provider)',
        'first sync ms (cold, real provider)',
        'article ms (doc already loaded)',
        'first sync ms (doc already loaded)',
        'client apply ms',
        'state bytes',
        'load avg',
      ]),
      row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---']),
    );
    d.coldload.runs.forEach((r, i) =>
      L.push(
        row([
          i + 1,
          r.load_ms,
          r.first_data_ms ?? '–',
          r.state_received_ms ?? '–',
          r.article_ms ?? '–',
          r.first_sync_ms,
          r.warm_article_ms ?? '–',
          r.warm_first_sync_ms,
          r.client_apply_ms,
          r.state_bytes,
          r.load_before,
        ]),
      ),
    );
    L.push('');
  }
  const mem = Object.entries(d.memory);
  if (mem.length) {
    L.push('**memory — 2,000 idle connections over 200 small documents (1.5 KB article each)**', '');
    L.push('KB figures are the larger of the RSS delta and the heap+external delta (both after a forced GC).', '');
    L.push(
      row([
        'server',
        'KB/idle conn',
        'KB/small doc',
        'resident after grace',
        'KB/conn RSS · heap',
        'KB/doc RSS · heap',
        'RSS MB base/docs/conns/after',
      ]),
      row(['---', '---:', '---:', '---:', '---:', '---:', '---']),
    );
    for (const [k, rs] of mem) {
      const r = [...rs].sort((a, b) => a.kb_per_idle_conn - b.kb_per_idle_conn)[Math.floor((rs.length - 1) / 2)]!;
      L.push(
        row([
          k,
          r.kb_per_idle_conn,
          r.kb_per_small_doc,
          r.docs_resident_after_grace,
          `${r.rss_kb_per_idle_conn} · ${r.heap_kb_per_idle_conn}`,
          `${r.rss_kb_per_small_doc} · ${r.heap_kb_per_small_doc}`,
          Object.values(r.rss_mb).join(' / '),
        ]),
      );
    }
    L.push('');
  }
  const sweepServers = Object.keys(d.sweep);
  if (sweepServers.length) {
    const ns = [...new Set(sweepServers.flatMap((k) => Object.keys(d.sweep[k]!).map(Number)))].sort((a, b) => a - b);
    L.push(
      '**Latency against client count** (fanout; p50 / p99 ms; one run per point except the 500-client median)',
      '',
    );
    L.push(row(['server', ...ns.map(String)]), row(['---', ...ns.map(() => '---:')]));
    for (const k of sweepServers)
      L.push(
        row([k, ...ns.map((x) => (d.sweep[k]![x] ? `${d.sweep[k]![x]!.p50_ms} / ${d.sweep[k]![x]!.p99_ms}` : null))]),
      );
    L.push('', `![latency against client count](${rel}latency.svg)`, '');
  }
  L.push(
    `Not measured by this bench: \`exports\` comes from the Exports section below (written by \`npm run bench:exports\`, another issue) and is copied into latest.json${(latest.scenarios as Json).exports ? '' : ' (absent so far: null)'}; \`scaleout\` comes from the Scale-out section (\`npm run bench:scaleout\`).`,
    '',
  );
  if (d.notes.length) L.push('Notes:', '', ...d.notes.map((x) => `- ${x}`), '');
  const profiles = Object.entries(d.profiles);
  if (profiles.length) {
    L.push('## Server CPU profiles (Marginalia)', '');
    L.push(
      'V8 sampling profiler. fanout and hotroom: started and stopped inside the server process by the bench probe at the edges of the measurement window (the profiler `node --cpu-prof` uses, limited to the window). coldload: `node --cpu-prof` over the whole server process (start-up, the load, three first syncs). Self time, each sample capped at 2 ms so that time the process spent descheduled is not charged to a function.',
      '',
    );
    for (const [name, p] of profiles) {
      L.push(
        `**${name}** — ${p.busy_ms} ms busy of ${p.total_ms} ms. By area: ${p.areas
          .slice(0, 8)
          .map((a) => `${a.area} ${a.pct}%`)
          .join(', ')}.`,
        '',
      );
      L.push(row(['self %', 'function', 'where']), row(['---:', '---', '---']));
      for (const t of p.top.slice(0, 12)) L.push(row([t.pct, `\`${t.fn}\``, t.where]));
      L.push(
        '',
        'Marginalia functions, inclusive:',
        '',
        row(['incl %', 'function', 'where']),
        row(['---:', '---', '---']),
      );
      for (const t of p.ours.slice(0, 8)) L.push(row([t.pct, `\`${t.fn}\``, t.where]));
      L.push('');
    }
  }
  L.push('## Method', '');
  L.push(
    '- Every server runs in its own process pinned to its own core; one load-generator process (pinned to the other core) holds every client, so senders and receivers share one clock. Latency = receipt − send time of a beacon (a comment whose body carries writer id and sequence number).',
  );
  L.push(
    "- Receivers are raw `ws` clients that do the y-websocket (or Hocuspocus: document-name framing + token message first) handshake, then only scan frames for beacon bytes; a few real providers (WebsocketProvider / HocuspocusProvider) apply every update to a Y.Doc and report their own latency beside the raw figure as a check. Writers make real Yjs updates with shared's `createThread`/`addComment`.",
  );
  L.push(
    '- Noise control: before each run the bench waits (up to 30 s) for the machine to be quiet; during each load window it measures the CPU other processes took (/proc/stat minus server and generator: "other work", in cores) and repeats a run that lost more than a quarter of a core to them (at most twice; `attempts` in details.json). Runs are interleaved across servers (the order rotates each round) so that a busy period hits all alike.',
  );
  L.push(
    '- Server CPU per delivered frame = (utime + stime from /proc/<pid>/stat over the window) / frames received by all clients in the window. Event-loop lag inside the server from a preloaded probe (nothing added to the server): a 10 ms timer that records how late it fires, timestamped so that exactly the window is read — the measure of `perf_hooks.monitorEventLoopDelay` (also read, in details.json as eld_p99_ms; it agrees within a few ms except when a saturated server reads the reset message late). Drops = beacons sent in the window that a recipient had not received when the drain time ran out.',
  );
  L.push(
    "- Durable without persistence: MARGINALIA_STORAGE=memory (see the note). Memory: RSS and heap after a forced GC, deltas between 0, 200 and 2,000 connections; Marginalia's unload grace set to 3 s for the run. Coldload: a raw client and a real provider, each in its own generator process, connect together to a freshly started server (load = the raw client's connect → the server's sync step 1, sent once the document is loaded; a client that arrives while it loads is sent the stored state first; first sync = connect → the provider's `sync`), then a second provider to the loaded document.",
  );
  L.push(
    "- Real providers are the last clients to connect, so they sit last in every server's broadcast loop: their latency is the raw receivers' plus their place in line plus applying the update — the check is that they see every beacon and follow the raw figures.",
  );
  L.push('', kept.analysis ?? '<!-- analysis:start -->\n<!-- analysis:end -->', '');
  if (kept.exports) L.push(kept.exports, '');
  for (const section of kept.others) L.push(section, '');
  return L.join('\n');
}
