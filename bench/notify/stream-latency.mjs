// Mention -> the mentioned user's open stream: latency with N users connected to GET /api/notifications/stream.
// Usage (after `node scripts/build.mjs`): node bench/notify/stream-latency.mjs [users=1000] [mentions=200]
// Starts the built server (SQLite, projection delay 0 unless MARGINALIA_PROJECTION_DELAY_MS is set), creates the
// users, opens one stream per user, then posts comments mentioning random users (one at a time, 20/s) and times
// each from the POST's answer to the event on the mentioned user's stream. Prints p50/p95/p99/max in ms.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', '..', 'server', 'dist', 'cli.js');
const users = Number(process.argv[2] ?? 1000);
const mentions = Number(process.argv[3] ?? 200);
const secret = 'bench-secret-0123456789abcdef0123456789abcdef';
const dataDir = mkdtempSync(join(tmpdir(), 'marginalia-notify-bench-'));

const server = spawn(process.execPath, [CLI, 'serve'], {
  env: {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    MARGINALIA_SECRET: secret,
    MARGINALIA_ADMIN_USER: 'admin',
    MARGINALIA_ADMIN_PASSWORD: 'admin-password',
    MARGINALIA_PROJECTION_DELAY_MS: process.env.MARGINALIA_PROJECTION_DELAY_MS ?? '0',
    MARGINALIA_MAX_CONNECTIONS_PER_IP: '100000',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /running at (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
});
const call = async (method, path, token, body) => {
  const r = await fetch(`${url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
};
const login = await fetch(`${url}/api/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'admin', password: 'admin-password' }),
}).then((r) => r.json());
const admin = login.token;
const key = new TextEncoder().encode(secret);
const tokenFor = (u) =>
  new SignJWT({ username: u.username, name: u.name, guest: false, admin: false })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(u.id)
    .setIssuedAt()
    .setExpirationTime('2h')
    .setJti(`bench-${u.id}`)
    .sign(key);

try {
  const { id: docId } = await call('POST', '/documents', admin, {
    title: 'Bench',
    format: 'text',
    content: 'A passage everyone may read.',
    guestRole: 'viewer',
  });
  const people = [];
  for (let i = 0; i < users; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, users - i) }, (_, j) =>
        call('POST', '/users', admin, { username: `u${i + j}`, password: 'bench-password', name: `User ${i + j}` }),
      ),
    );
    people.push(...batch.map((b, j) => ({ id: b.id, username: `u${i + j}`, name: `User ${i + j}` })));
  }
  const { id: threadId } = await call('POST', `/documents/${docId}/threads`, admin, {
    exact: 'passage',
    body: 'Start',
  });
  const waiting = new Map(); // userId -> resolve
  let open = 0;
  const aborts = [];
  await Promise.all(
    people.map(async (p) => {
      const abort = new AbortController();
      aborts.push(abort);
      const res = await fetch(`${url}/api/notifications/stream`, {
        headers: { authorization: `Bearer ${await tokenFor(p)}` },
        signal: abort.signal,
      });
      open++;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      void (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            if (value.includes('event: notification')) waiting.get(p.id)?.(performance.now());
          }
        } catch {
          /* closed */
        }
      })();
    }),
  );
  console.log(`${open} streams open`);
  const latencies = [];
  for (let n = 0; n < mentions; n++) {
    const target = people[Math.floor(Math.random() * people.length)];
    const arrived = new Promise((resolve) => waiting.set(target.id, resolve));
    const started = performance.now();
    await call('POST', `/documents/${docId}/threads/${threadId}/comments`, admin, { body: `@${target.username} ${n}` });
    const acknowledged = performance.now();
    const at = await Promise.race([arrived, new Promise((r) => setTimeout(() => r(null), 10_000))]);
    waiting.delete(target.id);
    if (at === null) throw new Error(`mention ${n} never arrived`);
    latencies.push({ fromPost: at - started, fromAck: at - acknowledged });
    await new Promise((r) => setTimeout(r, 50));
  }
  const pct = (xs, q) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  for (const field of ['fromPost', 'fromAck']) {
    const xs = latencies.map((l) => l[field]).sort((a, b) => a - b);
    console.log(
      `${field}: p50 ${pct(xs, 0.5).toFixed(1)} ms, p95 ${pct(xs, 0.95).toFixed(1)} ms, p99 ${pct(xs, 0.99).toFixed(1)} ms, max ${xs.at(-1).toFixed(1)} ms`,
    );
  }
  for (const a of aborts) a.abort();
} finally {
  server.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}
