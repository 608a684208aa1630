/** latency.svg: delivery latency (p99 solid, p50 dashed) against client count, one colour per server. */
import type { LoadRun } from './scenarios.js';

const COLORS: Record<string, string> = {
  marginalia: '#c2410c',
  'y-websocket-server': '#2563eb',
  hocuspocus: '#15803d',
};
const W = 720;
const H = 420;
const M = { left: 64, right: 180, top: 40, bottom: 56 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function latencySvg(sweep: Record<string, Record<number, LoadRun>>): string | null {
  const series = Object.entries(sweep)
    .map(([server, byN]) => ({
      server,
      points: Object.entries(byN)
        .map(([n, r]) => ({ n: Number(n), p50: r.p50_ms, p99: r.p99_ms }))
        .sort((a, b) => a.n - b.n),
    }))
    .filter((s) => s.points.length > 0);
  if (series.length === 0) return null;
  const ns = [...new Set(series.flatMap((s) => s.points.map((p) => p.n)))].sort((a, b) => a - b);
  // Latencies span milliseconds to seconds: a log scale, whole decades.
  const values = series.flatMap((s) => s.points.flatMap((p) => [p.p50, p.p99])).filter((v) => v > 0);
  const bottom = 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(...values))));
  const top = 10 ** Math.ceil(Math.log10(Math.max(bottom * 10, ...values)));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const lo = Math.log(Math.min(...ns));
  const hi = Math.log(Math.max(...ns));
  const x = (n: number) => M.left + (hi === lo ? pw / 2 : ((Math.log(n) - lo) / (hi - lo)) * pw);
  const y = (v: number) =>
    M.top + ph - ((Math.log10(Math.max(v, bottom)) - Math.log10(bottom)) / (Math.log10(top) - Math.log10(bottom))) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(
    `<text x="${M.left}" y="22" font-size="15" font-weight="600">Fan-out delivery latency: one writer at 50 updates/s</text>`,
  );
  for (let dec = bottom; dec <= top * 1.0001; dec *= 10) {
    for (const m of [1, 2, 5]) {
      const v = dec * m;
      if (v > top * 1.0001) break;
      const yy = y(v).toFixed(1);
      out.push(
        `<line x1="${M.left}" x2="${M.left + pw}" y1="${yy}" y2="${yy}" stroke="${m === 1 ? '#d1d5db' : '#f3f4f6'}"/>`,
      );
      out.push(
        `<text x="${M.left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#374151">${+v.toPrecision(3)}</text>`,
      );
    }
  }
  for (const n of ns) {
    const xx = x(n).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${M.top}" y2="${M.top + ph}" stroke="#f3f4f6"/>`);
    out.push(`<text x="${xx}" y="${M.top + ph + 18}" text-anchor="middle" fill="#374151">${n}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#111827"/>`);
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#111827"/>`);
  out.push(
    `<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle" fill="#111827">connected clients (log scale)</text>`,
  );
  out.push(
    `<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#111827">delivery latency (ms, log scale)</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[s.server] ?? '#6b7280';
    for (const [key, dash] of [
      ['p99', ''],
      ['p50', ' stroke-dasharray="5 4"'],
    ] as const) {
      const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${x(p.n).toFixed(1)} ${y(p[key]).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
      for (const p of s.points) {
        out.push(
          `<circle cx="${x(p.n).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="3" fill="${key === 'p99' ? color : '#fff'}" stroke="${color}"><title>${esc(s.server)} ${p.n} clients: ${key} ${p[key]} ms</title></circle>`,
        );
      }
    }
    const ly = M.top + 10 + i * 22;
    out.push(
      `<line x1="${W - M.right + 16}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    );
    out.push(`<text x="${W - M.right + 46}" y="${ly}" dominant-baseline="middle">${esc(s.server)}</text>`);
  });
  const ly = M.top + 10 + series.length * 22 + 8;
  out.push(
    `<line x1="${W - M.right + 16}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="#374151" stroke-width="2"/><text x="${W - M.right + 46}" y="${ly}" dominant-baseline="middle">p99</text>`,
  );
  out.push(
    `<line x1="${W - M.right + 16}" x2="${W - M.right + 40}" y1="${ly + 20}" y2="${ly + 20}" stroke="#374151" stroke-width="2" stroke-dasharray="5 4"/><text x="${W - M.right + 46}" y="${ly + 20}" dominant-baseline="middle">p50</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}
