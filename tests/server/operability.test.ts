/**
 * What an operator scrapes, reads and polls: Prometheus metrics that move with real traffic (on the main port, or
 * on their own port behind a token), request ids that round-trip into the logs, logs that never hold a password,
 * token or cookie, and readiness that turns 503 while the instance drains or its PostgreSQL (or Redis) is cut.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as Y from 'yjs';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ADMIN, ROOT, addMember, api, createDocument, login, startServer, type TestServer } from '../support/server.js';
import { rawClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import {
  POSTGRES_URL,
  REDIS_URL,
  describeIfService,
  dropSchema,
  postgresReachable,
  redisReachable,
  uniqueSchema,
} from '../support/services.js';

type Labels = Record<string, string>;
interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels` (0 when none). */
const value = (samples: Sample[], name: string, labels: Labels = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);

async function scrape(url: string, token?: string): Promise<Sample[]> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

const ready = async (url: string) => {
  const res = await fetch(`${url}/api/health/ready`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** The article as a client edits it (stand-off annotations aside, the one shared text). */
const article = (doc: Y.Doc) => doc.get('root', Y.XmlText);

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once('exit', () => r()));

describe('metrics on the main port', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      env: {
        // Small enough for a few writes to compact and to be projected soon.
        MARGINALIA_COMPACT_AFTER_UPDATES: '5',
        MARGINALIA_PROJECTION_DELAY_MS: '20',
        // A paused reader passes it after a few broadcasts; then it is closed as a slow consumer.
        MARGINALIA_MAX_BUFFERED_BYTES: '65536',
        MARGINALIA_MAX_BYTES_PER_SECOND: String(64 * 1024 * 1024),
      },
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('every named metric is exposed, with the process defaults', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const name of [
      'marginalia_ws_connections',
      'marginalia_documents_loaded',
      'marginalia_document_load_seconds',
      'marginalia_updates_accepted_total',
      'marginalia_updates_refused_total',
      'marginalia_ws_received_bytes_total',
      'marginalia_ws_sent_bytes_total',
      'marginalia_store_seconds',
      'marginalia_flush_seconds',
      'marginalia_fsync_seconds',
      'marginalia_broadcast_frames_total',
      'marginalia_slow_consumers_closed_total',
      'marginalia_compactions_total',
      'marginalia_compaction_seconds',
      'marginalia_redis_published_total',
      'marginalia_redis_received_total',
      'marginalia_replication_lag_entries',
      'marginalia_projector_lag_seconds',
      'marginalia_projector_backlog_documents',
      'marginalia_http_requests_total',
      'marginalia_http_request_duration_seconds',
      'marginalia_login_failures_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
    ]) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
  });

  test('the Grafana dashboard and the alert thresholds name only metrics the server exposes', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const named = (source: string) =>
      new Set(
        [...source.matchAll(/\b((?:marginalia|process|nodejs)_[a-z0-9_]+)/g)]
          .map((m) => m[1]!)
          .filter((n) => !n.endsWith('_'))
          .map((n) => (exposed.has(n) ? n : n.replace(/_(bucket|sum|count)$/, ''))),
      );
    const dashboard = readFileSync(join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8');
    const exprs = (JSON.parse(dashboard) as { panels: { targets?: { expr: string }[] }[] }).panels
      .flatMap((p) => p.targets ?? [])
      .map((t) => t.expr)
      .join('\n');
    expect(named(exprs).size).toBeGreaterThan(20);
    expect([...named(exprs)].filter((n) => !exposed.has(n))).toEqual([]);
    const operations = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
    const monitoring = operations.slice(operations.indexOf('## Monitoring'), operations.indexOf('### Logs'));
    expect(named(monitoring).size).toBeGreaterThan(20);
    expect([...named(monitoring)].filter((n) => !exposed.has(n))).toEqual([]);
  });

  test('values move with connections, writes, refusals, exports and failed sign-ins', async () => {
    const before = await scrape(`${server.url}/metrics`);
    const docId = await createDocument(server.url, server.adminToken, 'The article that the metrics watch.');
    const viewer = await addMember(server, docId, 'metrics-viewer', 'Viewer', 'viewer');

    const owner = rawClient(server.wsUrl, docId, server.adminToken);
    const watcher = rawClient(server.wsUrl, docId, viewer.token);
    await Promise.all([owner.synced, watcher.synced]);
    let during = await scrape(`${server.url}/metrics`);
    expect(value(during, 'marginalia_ws_connections', { role: 'owner' })).toBe(
      value(before, 'marginalia_ws_connections', { role: 'owner' }) + 1,
    );
    expect(value(during, 'marginalia_ws_connections', { role: 'viewer' })).toBe(
      value(before, 'marginalia_ws_connections', { role: 'viewer' }) + 1,
    );
    expect(value(during, 'marginalia_documents_loaded')).toBeGreaterThanOrEqual(1);
    expect(value(during, 'marginalia_document_load_seconds_count')).toBeGreaterThan(
      value(before, 'marginalia_document_load_seconds_count'),
    );

    // Writes: enough to compact the log (more than 5 entries) and to be projected.
    for (let i = 0; i < 12; i++) {
      article(owner.doc).insert(0, `Edit number ${i} of the article, long enough to weigh in the log. `);
      await owner.flushed();
    }
    await watcher.until(() => article(watcher.doc).toString().startsWith('Edit number 11'), 10_000, 'the edits');

    // A refusal: a viewer may not edit the article (closed with 4403).
    const intruder = rawClient(server.wsUrl, docId, viewer.token);
    await intruder.synced;
    article(intruder.doc).insert(0, 'vandalism ');
    expect((await intruder.closed).code).toBe(4403);

    const exported = await api(server.url, server.adminToken).get(`/documents/${docId}/export?format=md`);
    expect(exported.status).toBe(200);
    const failed = await api(server.url).post('/auth/login', {
      username: ADMIN.username,
      password: 'not the password',
    });
    expect(failed.status).toBe(401);

    const grew = (name: string, labels: Labels = {}) =>
      value(during, name, labels) > value(before, name, labels) ? null : `${name} ${JSON.stringify(labels)}`;
    let flat: string[] = [];
    await waitFor(
      async () => {
        during = await scrape(`${server.url}/metrics`);
        flat = [
          grew('marginalia_updates_accepted_total'),
          grew('marginalia_updates_refused_total', { reason: 'refused' }),
          grew('marginalia_ws_received_bytes_total'),
          grew('marginalia_ws_sent_bytes_total'),
          grew('marginalia_broadcast_frames_total'),
          grew('marginalia_store_seconds_count', { engine: 'sqlite', operation: 'append' }),
          grew('marginalia_store_seconds_count', { engine: 'sqlite', operation: 'load' }),
          grew('marginalia_flush_seconds_count'),
          grew('marginalia_fsync_seconds_count'),
          grew('marginalia_compactions_total', { result: 'ok' }),
          grew('marginalia_compaction_seconds_count'),
          grew('marginalia_projector_lag_seconds_count'),
          grew('marginalia_http_requests_total', { method: 'GET', route: '/api/documents/:id/export', status: '200' }),
          grew('marginalia_http_request_duration_seconds_count', {
            method: 'GET',
            route: '/api/documents/:id/export',
          }),
          grew('marginalia_http_requests_total', { method: 'POST', route: '/api/auth/login', status: '401' }),
          grew('marginalia_login_failures_total'),
        ].filter((x) => x !== null);
        return flat.length === 0;
      },
      { message: () => `these metrics to move: ${flat.join(', ')}` },
    );
    // Labels are route templates, never raw URLs (the document id is nowhere in a label).
    expect(during.some((s) => Object.values(s.labels).some((v) => v.includes(docId)))).toBe(false);

    await Promise.all([owner.close(), watcher.close()]);
    const connected = (samples: Sample[]) =>
      ['owner', 'viewer'].map((role) => value(samples, 'marginalia_ws_connections', { role })).join(',');
    await waitFor(async () => connected(await scrape(`${server.url}/metrics`)) === connected(before), {
      message: 'the connection gauges back where they were',
    });
  });

  test('a connection whose role changed is counted down under the role it was counted up under', async () => {
    const docId = await createDocument(server.url, server.adminToken, 'A room where a viewer is promoted.');
    const viewer = await addMember(server, docId, 'metrics-promoted', 'Promoted', 'viewer');
    const before = await scrape(`${server.url}/metrics`);
    const socket = rawClient(server.wsUrl, docId, viewer.token);
    // Each step waited for with a timeout of its own, so that a hang says where it is (seen twice in CI on a slow
    // machine as the test's own 60 s timeout, never reproduced alone or under load).
    const settled = <T>(p: Promise<T>) => {
      const box: { value?: T } = {};
      void p.then((v) => (box.value = v));
      return box;
    };
    const synced = settled(socket.synced.then(() => true));
    await waitFor(() => synced.value === true, { timeout: 20_000, message: "the viewer's first sync" });
    const put = settled(
      api(server.url, server.adminToken).put(`/documents/${docId}/members/metrics-promoted`, { role: 'commenter' }),
    );
    await waitFor(() => put.value !== undefined, { timeout: 20_000, message: 'the role change to be answered' });
    expect(put.value!.status).toBe(200);
    const closed = settled(socket.closed);
    await waitFor(() => closed.value !== undefined, {
      timeout: 20_000,
      message: () => `the server to close the viewer's socket (open: ${socket.isOpen()})`,
    });
    expect(closed.value!.code).toBe(4000); // reconnect with the new role
    const counts = (samples: Sample[]) =>
      ['viewer', 'commenter'].map((role) => value(samples, 'marginalia_ws_connections', { role })).join(',');
    await waitFor(async () => counts(await scrape(`${server.url}/metrics`)) === counts(before), {
      message: 'the connection gauges back where they were',
    });
  });

  test('a reader that stops reading is closed as a slow consumer, and counted', async () => {
    const docId = await createDocument(server.url, server.adminToken, 'A room with a reader that fell asleep.');
    const before = await scrape(`${server.url}/metrics`);
    const writer = rawClient(server.wsUrl, docId, server.adminToken);
    const sleeper = rawClient(server.wsUrl, docId, server.adminToken);
    await Promise.all([writer.synced, sleeper.synced]);
    // The sleeper's socket is no longer read: what the server sends piles up in the kernel, then in the server.
    (sleeper.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const chunk = 'x'.repeat(256 * 1024);
    let sent = 0;
    await waitFor(
      async () => {
        if (writer.isOpen()) {
          article(writer.doc).insert(0, chunk);
          await writer.flushed(20_000);
          sent++;
        }
        const s = await scrape(`${server.url}/metrics`);
        return (
          value(s, 'marginalia_slow_consumers_closed_total') > value(before, 'marginalia_slow_consumers_closed_total')
        );
      },
      { timeout: 60_000, interval: 1, message: () => `the sleeper to be closed (${sent} chunks sent)` },
    );
    expect(writer.isOpen()).toBe(true);
    await writer.close();
    sleeper.ws.terminate();
  }, 90_000);
});

describe('metrics on their own port, behind a token', () => {
  let server: TestServer;
  let metricsUrl: string;
  const token = 'metrics-scrape-token-7c1f';
  beforeAll(async () => {
    server = await startServer({ env: { MARGINALIA_METRICS_PORT: '0', MARGINALIA_METRICS_TOKEN: token } });
    metricsUrl = /Metrics at (http:\/\/\S+)/.exec(server.output())![1]!;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('answer there with the token only, and not on the main port', async () => {
    expect(new URL(metricsUrl).port).not.toBe(String(server.port));
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    const anonymous = await fetch(metricsUrl);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(metricsUrl, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
    expect((await fetch(metricsUrl, { headers: { authorization: `Bearer ${server.adminToken}` } })).status).toBe(401);
    const samples = await scrape(metricsUrl, token);
    expect(samples.some((s) => s.name === 'marginalia_http_requests_total')).toBe(true);
    expect((await fetch(metricsUrl.replace(/\/metrics$/, '/api/health'))).status).toBe(404);
  });
});

describe('request ids and secrets in the logs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('a sane X-Request-Id comes back and is in the log line of its request; others are replaced', async () => {
    const id = 'lb-7f3a9c-0001';
    const res = await fetch(`${server.url}/api/config`, { headers: { 'X-Request-Id': id } });
    expect(res.headers.get('x-request-id')).toBe(id);
    await waitFor(() =>
      server
        .output()
        .split('\n')
        .some((l) => l.includes(`"reqId":"${id}"`) && l.includes('"route":"/api/config"')),
    );
    // Errors are answered with the id too, and their log lines carry it.
    const missing = await fetch(`${server.url}/api/documents/nope`, {
      headers: { 'X-Request-Id': 'lb-404', authorization: `Bearer ${server.adminToken}` },
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('lb-404');

    const generated = (await fetch(`${server.url}/api/config`)).headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    for (const bad of ['x'.repeat(200), 'two words', 'quote"inside', '']) {
      const r = await fetch(`${server.url}/api/config`, { headers: { 'X-Request-Id': bad } });
      expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  test('passwords, tokens and cookies never reach the log, even at debug', async () => {
    const wrongPassword = 'wrong-password-9d1e6b';
    const newPassword = 'new-user-password-4c8a2f';
    const failed = await api(server.url).post('/auth/login', { username: ADMIN.username, password: wrongPassword });
    expect(failed.status).toBe(401);

    const res = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: ADMIN.username, password: ADMIN.password }),
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('marginalia_session='));
    expect(cookie).toBeDefined();
    const cookieValue = cookie!.split(';')[0]!.split('=')[1]!;

    // The cookie, the bearer token, a body with a password, a WebSocket with the token in its URL.
    expect(
      (await fetch(`${server.url}/api/auth/me`, { headers: { cookie: `marginalia_session=${cookieValue}` } })).status,
    ).toBe(200);
    expect((await api(server.url, token).get('/documents')).status).toBe(200);
    const created = await api(server.url, token).post('/users', {
      username: 'log-reader',
      password: newPassword,
      name: 'Log Reader',
    });
    expect(created.status).toBe(201);
    const userToken = await login(server.url, 'log-reader', newPassword);
    const bad = await api(server.url, `${token}x`).get('/documents');
    expect(bad.status).toBe(401);
    const docId = await createDocument(server.url, token, 'A document opened over a socket.');
    const client = rawClient(server.wsUrl, docId, token);
    await client.synced;
    await client.close();
    const outsider = rawClient(server.wsUrl, docId, userToken);
    expect((await outsider.closed).code).toBe(4403);
    await api(server.url, token).post('/auth/logout');

    // The run logged (the test is not vacuous): request lines at info, the socket's at debug.
    await waitFor(() => /"route":"\/api\/auth\/logout"/.test(server.output()), { message: 'the logout logged' });
    const out = server.output();
    expect(out).toMatch(/"msg":"request"/);
    for (const secret of [ADMIN.password, wrongPassword, newPassword, token, cookieValue, userToken]) {
      expect(out.includes(secret)).toBe(false);
      // Nor its signature part alone (a JWT's third segment).
      const tail = secret.split('.').at(-1)!;
      if (tail.length >= 16) expect(out.includes(tail)).toBe(false);
    }
  });
});

describe('the logger', () => {
  test('redacts fields named like secrets, at the top and one level down, whatever the caller passes', () => {
    const logModule = pathToFileURL(join(ROOT, 'server', 'dist', 'log.js')).href;
    const script = `const { log } = await import(${JSON.stringify(logModule)});
      log.child({ conn: 7 }).info('handled', {
        token: 'T-top', password: 'P-top', secret: 'S-top', cookie: 'C-top', authorization: 'A-top',
        user: { name: 'kept', password: 'P-nested', token: 'T-nested' },
        headers: { authorization: 'Bearer A-nested', cookie: 'marginalia_session=C-nested', accept: 'kept' },
      });`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, LOG_LEVEL: 'info' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    const line = JSON.parse(run.stderr.trim()) as Record<string, any>;
    expect(line).toMatchObject({ level: 'info', msg: 'handled', conn: 7, token: '[redacted]', password: '[redacted]' });
    expect(line.user).toEqual({ name: 'kept', password: '[redacted]', token: '[redacted]' });
    expect(line.headers).toEqual({ authorization: '[redacted]', cookie: '[redacted]', accept: 'kept' });
    expect(run.stderr).not.toMatch(/T-top|P-top|S-top|C-top|A-top|P-nested|T-nested|A-nested|C-nested/);
  });
});

describe('readiness while draining', () => {
  test('SIGTERM turns readiness to 503 at once while liveness stays 200; a second signal stops at once', async () => {
    const server = await startServer({ env: { MARGINALIA_DRAIN_MS: '600000' } });
    try {
      expect(await ready(server.url)).toEqual({
        status: 200,
        body: { ready: true, draining: false, storage: 'ok', redis: 'off' },
      });
      server.child.kill('SIGTERM');
      const draining = await waitFor(async () => {
        const r = await ready(server.url);
        return r.status === 503 ? r : null;
      });
      expect(draining.body).toMatchObject({ ready: false, draining: true });
      expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^marginalia_draining 1$/m);
      // Still draining (the drain lasts ten minutes): the second signal ends it.
      expect(server.child.exitCode).toBeNull();
      server.child.kill('SIGTERM');
      await exited(server.child);
      expect(server.child.exitCode).toBe(0);
      expect(server.output()).toMatch(/draining/);
    } finally {
      await server.dispose();
    }
  });
});

describe('the end of a drain', () => {
  test('the server stops by itself once MARGINALIA_DRAIN_MS has passed, storing what it was sent', async () => {
    const server = await startServer({ env: { MARGINALIA_DRAIN_MS: '300' } });
    try {
      const docId = await createDocument(server.url, server.adminToken, 'Written just before the drain.');
      const client = rawClient(server.wsUrl, docId, server.adminToken);
      await client.synced;
      article(client.doc).insert(0, 'Last words. ');
      await client.flushed();
      server.child.kill('SIGTERM');
      expect((await client.closed).code).toBe(1001);
      await exited(server.child);
      expect(server.child.exitCode).toBe(0);
      expect(server.output()).toMatch(/SIGTERM: draining for 300 ms/);
      await server.restart();
      const again = rawClient(server.wsUrl, docId, server.adminToken);
      await again.synced;
      expect(article(again.doc).toString()).toMatch(/^Last words\. /);
      await again.close();
    } finally {
      await server.dispose();
    }
  });
});

const servicesUp = (await postgresReachable()) && (await redisReachable());

describeIfService('postgresql and redis', servicesUp)('readiness and replication with PostgreSQL and Redis', () => {
  const schema = uniqueSchema('ops');
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    pgProxy = await startTcpProxy('127.0.0.1', Number(new URL(POSTGRES_URL).port || 5432));
    const redis = new URL(REDIS_URL);
    redisProxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
    const proxiedPg = new URL(POSTGRES_URL);
    proxiedPg.host = `127.0.0.1:${pgProxy.port}`;
    const common = { MARGINALIA_PG_SCHEMA: schema, REDIS_PREFIX: `${schema}:`, MARGINALIA_CATCHUP_INTERVAL_MS: '100' };
    a = await startServer({
      env: { ...common, DATABASE_URL: proxiedPg.toString(), REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` },
    });
    b = await startServer({ env: { ...common, DATABASE_URL: POSTGRES_URL, REDIS_URL } });
  }, 60_000);
  afterAll(async () => {
    await a?.dispose();
    await b?.dispose();
    await pgProxy?.close();
    await redisProxy?.close();
    await dropSchema(schema);
  });

  test('updates stored on one instance are published, received by the other, and the lag is measured', async () => {
    const docId = await createDocument(a.url, a.adminToken, 'Shared between two instances.');
    const onA = rawClient(a.wsUrl, docId, a.adminToken);
    const onB = rawClient(b.wsUrl, docId, b.adminToken);
    await Promise.all([onA.synced, onB.synced]);
    const beforeA = await scrape(`${a.url}/metrics`);
    const beforeB = await scrape(`${b.url}/metrics`);
    article(onA.doc).insert(0, 'Written on A. ');
    await onB.until(() => article(onB.doc).toString().startsWith('Written on A.'), 10_000, 'the update on B');
    const afterA = await scrape(`${a.url}/metrics`);
    expect(value(afterA, 'marginalia_redis_published_total', { kind: 'update' })).toBeGreaterThan(
      value(beforeA, 'marginalia_redis_published_total', { kind: 'update' }),
    );
    expect(
      value(afterA, 'marginalia_store_seconds_count', { engine: 'postgres', operation: 'append' }),
    ).toBeGreaterThan(value(beforeA, 'marginalia_store_seconds_count', { engine: 'postgres', operation: 'append' }));
    await waitFor(async () => {
      const afterB = await scrape(`${b.url}/metrics`);
      return (
        value(afterB, 'marginalia_redis_received_total', { kind: 'update' }) >
        value(beforeB, 'marginalia_redis_received_total', { kind: 'update' })
      );
    });
    // B checks its loaded documents against the shared log every 100 ms: once caught up it lacks nothing.
    await waitFor(async () => value(await scrape(`${b.url}/metrics`), 'marginalia_replication_lag_entries') === 0);
    await Promise.all([onA.close(), onB.close()]);
  });

  test('readiness turns 503 while PostgreSQL is cut off, and 200 again once it is back', async () => {
    expect(await ready(a.url)).toEqual({
      status: 200,
      body: { ready: true, draining: false, storage: 'ok', redis: 'ok' },
    });
    pgProxy.cut();
    const down = await waitFor(async () => {
      const r = await ready(a.url);
      return r.status === 503 ? r : null;
    });
    expect(down.body).toMatchObject({ ready: false, draining: false, storage: 'down' });
    // Liveness is not readiness: the process answers.
    expect((await fetch(`${a.url}/api/config`)).status).toBe(200);
    pgProxy.restore();
    await waitFor(async () => (await ready(a.url)).status === 200, { timeout: 20_000, message: 'ready again' });
  }, 40_000);

  test('readiness turns 503 while Redis is cut off; the other instance catches up from the log meanwhile', async () => {
    const docId = await createDocument(a.url, a.adminToken, 'Written while Redis is away.');
    const onA = rawClient(a.wsUrl, docId, a.adminToken);
    const onB = rawClient(b.wsUrl, docId, b.adminToken);
    await Promise.all([onA.synced, onB.synced]);
    const beforeB = await scrape(`${b.url}/metrics`);
    redisProxy.cut();
    const down = await waitFor(async () => {
      const r = await ready(a.url);
      return r.status === 503 ? r : null;
    });
    expect(down.body).toMatchObject({ ready: false, storage: 'ok', redis: 'down' });
    // A cannot publish: B reads the update from the shared log, and counts the catch-up.
    article(onA.doc).insert(0, 'Unpublished. ');
    await onA.flushed();
    await onB.until(() => article(onB.doc).toString().startsWith('Unpublished.'), 10_000, 'the update on B');
    const afterB = await scrape(`${b.url}/metrics`);
    expect(value(afterB, 'marginalia_replication_catchups_total')).toBeGreaterThan(
      value(beforeB, 'marginalia_replication_catchups_total'),
    );
    expect(value(await scrape(`${a.url}/metrics`), 'marginalia_redis_publish_failures_total')).toBeGreaterThan(0);
    redisProxy.restore();
    await waitFor(async () => (await ready(a.url)).status === 200, { timeout: 20_000, message: 'ready again' });
    await Promise.all([onA.close(), onB.close()]);
  }, 40_000);
});
