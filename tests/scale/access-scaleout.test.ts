/**
 * Taking access away holds on every instance: two server processes on one PostgreSQL schema and one Redis key
 * prefix. Each rule is acted on A and observed on B, over REST and over WebSocket (open sockets closed, new ones
 * refused, writes neither stored nor broadcast), within 1 s while Redis is up and within the catch-up interval
 * while it is cut.
 */
import { expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import pg from 'pg';
import fc from 'fast-check';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  ADMIN,
  CLI,
  addMember,
  createUser,
  api,
  createDocument,
  login,
  startServer,
  type TestServer,
} from '../support/server.js';
import { connectClient, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { testSeed } from '../support/random.js';
import {
  POSTGRES_URL,
  REDIS_URL,
  describeIfService,
  dropSchema,
  postgresReachable,
  redisReachable,
  uniqueSchema,
} from '../support/services.js';

const available = (await postgresReachable()) && (await redisReachable());
const ARTICLE = 'Access is taken away on every instance.';
/** The promise: an access change made on one instance holds on the others within this (Redis up). */
const BOUND_MS = 1000;
/** The catch-up interval the instances run with: the bound while Redis is cut. */
const CATCHUP_MS = 300;

let counter = 0;
const unique = (base: string) => `${base}${++counter}${randomBytes(2).toString('hex')}`;

/** What a WebSocket upgrade with `token` gets: an HTTP refusal status, a close code, or 'open' (synced). */
function upgradeOutcome(server: TestServer, docId: string, token: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.wsUrl}/collab/${docId}?token=${encodeURIComponent(token)}`);
    ws.on('unexpected-response', (_req, res) => {
      resolve(`http ${res.statusCode}`);
      ws.terminate();
    });
    ws.on('message', () => {
      resolve('open');
      ws.close();
    });
    ws.on('close', (code) => resolve(`close ${code}`));
    ws.on('error', () => resolve('error'));
  });
}

describeIfService('postgresql and redis', available)('access across two instances on PostgreSQL + Redis', () => {
  const schema = uniqueSchema('access');
  const prefix = `test:${schema}:`;
  let redisProxy: TcpProxy;
  // No MARGINALIA_SECRET: the instances must share the key generated into the database.
  const env = () => ({
    DATABASE_URL: POSTGRES_URL,
    MARGINALIA_PG_SCHEMA: schema,
    REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
    REDIS_PREFIX: prefix,
    MARGINALIA_CATCHUP_INTERVAL_MS: String(CATCHUP_MS),
  });
  let a: TestServer;
  let b: TestServer;
  const clients: TestClient[] = [];
  const client = (server: TestServer, docId: string, token: string) => {
    const c = connectClient(server.wsUrl, docId, token);
    clients.push(c);
    return c;
  };
  /** A watcher on `server` that sees what is stored and broadcast there. */
  const watcher = async (server: TestServer, docId: string) => {
    const w = client(server, docId, server.adminToken);
    await w.synced();
    return w;
  };
  /**
   * Writes `key` through `writer` (a meta key: editors may, commenters and viewers may not), then a control key
   * through the admin on the same instance; once the control key is seen by `seenBy`, anything of the writer's
   * that was going to be broadcast has been.
   */
  const writeThenControl = async (writer: TestClient, admin: TestClient, seenBy: TestClient, key: string) => {
    writer.doc.getMap('meta').set(key, 1);
    const control = `control-${key}`;
    admin.doc.getMap('meta').set(control, 1);
    await waitFor(() => seenBy.doc.getMap('meta').has(control), { message: `control write ${control}` });
  };

  beforeAll(async () => {
    const redis = new URL(REDIS_URL);
    redisProxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
    // Started together: whichever creates the key first, both use it.
    [a, b] = await Promise.all([startServer({ env: env() }), startServer({ env: env() })]);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
    redisProxy.restore();
  });
  afterAll(async () => {
    if (process.env.DEBUG_SCALE) console.log(a.output(), '\n-----\n', b.output());
    await a?.dispose();
    await b?.dispose();
    await redisProxy?.close();
    await dropSchema(schema);
  });

  test('without MARGINALIA_SECRET both instances sign with one key from the database: a token from A works on B, and health shows the same fingerprint', async () => {
    const [ha, hb] = await Promise.all([api(a.url).get('/health'), api(b.url).get('/health')]);
    expect(ha.body.signingKey).toMatch(/^[0-9a-f]{8}$/);
    expect(hb.body.signingKey).toBe(ha.body.signingKey);
    expect(a.output() + b.output()).not.toMatch(/error/i);
    const tokenFromA = await login(a.url, ADMIN.username, ADMIN.password);
    expect((await api(b.url, tokenFromA).get('/auth/me')).status).toBe(200);
    const tokenFromB = await login(b.url, ADMIN.username, ADMIN.password);
    expect((await api(a.url, tokenFromB).get('/auth/me')).status).toBe(200);
  });

  test("an instance started with another MARGINALIA_SECRET is visible: another fingerprint in health, a warning at start, and the others' tokens refused there", async () => {
    const odd = await startServer({ env: { ...env(), MARGINALIA_SECRET: 'a-key-of-its-own' } });
    try {
      const [ha, hodd] = await Promise.all([api(a.url).get('/health'), api(odd.url).get('/health')]);
      expect(hodd.body.signingKey).toMatch(/^[0-9a-f]{8}$/);
      expect(hodd.body.signingKey).not.toBe(ha.body.signingKey);
      expect(odd.output()).toMatch(/another key/);
      expect(odd.output()).toContain(hodd.body.signingKey);
      expect((await api(odd.url, a.adminToken).get('/auth/me')).status).toBe(401);
    } finally {
      await odd.dispose();
    }
  });

  test('sign-out on A: within 1 s B answers 401 over REST, closes the open socket 4401 and refuses new ones; its writes are neither stored nor broadcast; a restarted B still refuses it', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const username = unique('signout');
    const member = { ...(await addMember(a, docId, username, 'Sam', 'editor')), username };
    const onB = client(b, docId, member.token);
    const adminOnB = await watcher(b, docId);
    const watchA = await watcher(a, docId);
    await onB.synced();
    expect((await api(b.url, member.token).get(`/documents/${docId}`)).status).toBe(200);
    onB.doc.getMap('meta').set('before-signout', 1);
    await waitFor(() => watchA.doc.getMap('meta').has('before-signout'), { message: 'write before sign-out' });

    expect((await api(a.url, member.token).post('/auth/logout')).status).toBe(204);
    await waitFor(() => onB.closes.some((c) => c.code === 4401), { timeout: BOUND_MS, message: 'close 4401 on B' });
    expect((await api(b.url, member.token).get(`/documents/${docId}`)).status).toBe(401);
    expect(['http 401', 'close 4401']).toContain(await upgradeOutcome(b, docId, member.token));

    await writeThenControl(onB, adminOnB, watchA, 'after-signout');
    expect(watchA.doc.getMap('meta').has('after-signout')).toBe(false);
    expect(adminOnB.doc.getMap('meta').has('after-signout')).toBe(false);

    await b.restart();
    expect((await api(b.url, member.token).get(`/documents/${docId}`)).status).toBe(401);
    expect(['http 401', 'close 4401']).toContain(await upgradeOutcome(b, docId, member.token));
    // signing in again gives a new token that works on both
    const again = await login(b.url, member.username, `${member.username}-password`);
    expect((await api(a.url, again).get(`/documents/${docId}`)).status).toBe(200);
    expect(await upgradeOutcome(b, docId, again)).toBe('open');
  });

  test('a member removed on A: their socket on B closes 4403 within 1 s, REST on B answers 403, and what they send is not stored', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const username = unique('removed');
    const member = await addMember(a, docId, username, 'Rita', 'editor');
    const onB = client(b, docId, member.token);
    const adminOnB = await watcher(b, docId);
    const watchA = await watcher(a, docId);
    await onB.synced();

    expect((await api(a.url, a.adminToken).delete(`/documents/${docId}/members/${username}`)).status).toBe(204);
    await waitFor(() => onB.closes.some((c) => c.code === 4403), { timeout: BOUND_MS, message: 'close 4403 on B' });
    expect((await api(b.url, member.token).get(`/documents/${docId}`)).status).toBe(403);
    expect(await upgradeOutcome(b, docId, member.token)).toBe('close 4403');
    await writeThenControl(onB, adminOnB, watchA, 'after-removal');
    expect(watchA.doc.getMap('meta').has('after-removal')).toBe(false);
  });

  test('guest access closed on A (PATCH /api/documents/:id {guestRole: null}): a guest socket on B closes 4403 within 1 s and REST on B answers 403; reopened as viewer, the guest reconnects and may not write', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE, { guestRole: 'editor' });
    const guest = (await api(a.url).post('/auth/guest', { name: unique('Guest ') })).body.token as string;
    const onB = client(b, docId, guest);
    const watchA = await watcher(a, docId);
    const adminOnB = await watcher(b, docId);
    await onB.synced();
    onB.doc.getMap('meta').set('guest-as-editor', 1);
    await waitFor(() => watchA.doc.getMap('meta').has('guest-as-editor'), { message: 'guest write as editor' });

    expect((await api(a.url, a.adminToken).patch(`/documents/${docId}`, { guestRole: 'nobody' })).status).toBe(400);
    const closed = await api(a.url, a.adminToken).patch(`/documents/${docId}`, { guestRole: null });
    expect(closed.status).toBe(200);
    expect(closed.body.guestRole).toBeNull();
    await waitFor(() => onB.closes.some((c) => c.code === 4403), { timeout: BOUND_MS, message: 'close 4403 on B' });
    expect((await api(b.url, guest).get(`/documents/${docId}`)).status).toBe(403);
    await writeThenControl(onB, adminOnB, watchA, 'guest-while-closed');
    expect(watchA.doc.getMap('meta').has('guest-while-closed')).toBe(false);

    expect((await api(a.url, a.adminToken).patch(`/documents/${docId}`, { guestRole: 'viewer' })).status).toBe(200);
    const again = client(b, docId, guest);
    await again.synced();
    again.doc.getMap('meta').set('guest-as-viewer', 1);
    await waitFor(() => again.closes.some((c) => c.code === 4403), { message: 'viewer write refused' });
    expect(watchA.doc.getMap('meta').has('guest-as-viewer')).toBe(false);
  });

  test('a user disabled on A (PATCH /api/users/:username): within 1 s their token is refused on B over REST and WebSocket and sign-in fails; enabled again, they sign in on B', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const username = unique('disabled');
    const member = await addMember(a, docId, username, 'Dora', 'editor');
    const onB = client(b, docId, member.token);
    const adminOnB = await watcher(b, docId);
    const watchA = await watcher(a, docId);
    await onB.synced();

    const off = await api(a.url, a.adminToken).patch(`/users/${username}`, { disabled: true });
    expect(off.status).toBe(200);
    await waitFor(() => onB.closes.some((c) => c.code === 4401), { timeout: BOUND_MS, message: 'close 4401 on B' });
    expect((await api(b.url, member.token).get('/auth/me')).status).toBe(401);
    expect(['http 401', 'close 4401']).toContain(await upgradeOutcome(b, docId, member.token));
    const refused = await api(b.url).post('/auth/login', { username, password: `${username}-password` });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/disabled/);
    await writeThenControl(onB, adminOnB, watchA, 'while-disabled');
    expect(watchA.doc.getMap('meta').has('while-disabled')).toBe(false);

    // bad input changes nothing
    expect((await api(a.url, a.adminToken).patch(`/users/${username}`, { disabled: 'no' })).status).toBe(400);
    expect((await api(a.url, member.token).patch(`/users/${username}`, { disabled: false })).status).toBe(401);

    expect((await api(a.url, a.adminToken).patch(`/users/${username}`, { disabled: false })).status).toBe(200);
    const token = await login(b.url, username, `${username}-password`);
    expect((await api(b.url, token).get(`/documents/${docId}`)).status).toBe(200);
    // disabling signed the old token out for good: enabled again, it stays refused (on both)
    expect((await api(b.url, member.token).get(`/documents/${docId}`)).status).toBe(401);
    expect((await api(a.url, member.token).get(`/documents/${docId}`)).status).toBe(401);
    expect(['http 401', 'close 4401']).toContain(await upgradeOutcome(b, docId, member.token));
  });

  test('a password changed on A (POST /api/auth/password) signs out every earlier token of the user: within 1 s B answers 401 and closes their socket 4401, after a restart too; the fresh session works on B', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const username = unique('passwd');
    const member = await addMember(a, docId, username, 'Pat', 'editor');
    const otherSession = await login(b.url, username, `${username}-password`);
    const onB = client(b, docId, otherSession);
    await onB.synced();

    const wrong = await api(a.url, member.token).post('/auth/password', {
      currentPassword: 'not-the-password',
      newPassword: 'a-new-password',
    });
    expect(wrong.status).toBe(403);
    expect((await api(b.url, otherSession).get(`/documents/${docId}`)).status).toBe(200);
    const short = await api(a.url, member.token).post('/auth/password', {
      currentPassword: `${username}-password`,
      newPassword: 'short',
    });
    expect(short.status).toBe(400);

    const changed = await api(a.url, member.token).post('/auth/password', {
      currentPassword: `${username}-password`,
      newPassword: 'a-new-password',
    });
    expect(changed.status).toBe(200);
    const fresh = changed.body.token as string;
    expect(fresh).toEqual(expect.any(String));
    await waitFor(() => onB.closes.some((c) => c.code === 4401), { timeout: BOUND_MS, message: 'close 4401 on B' });
    for (const old of [member.token, otherSession]) {
      expect((await api(b.url, old).get(`/documents/${docId}`)).status).toBe(401);
      expect(['http 401', 'close 4401']).toContain(await upgradeOutcome(b, docId, old));
    }
    expect((await api(b.url, fresh).get(`/documents/${docId}`)).status).toBe(200);
    expect(await upgradeOutcome(b, docId, fresh)).toBe('open');
    expect((await api(b.url).post('/auth/login', { username, password: `${username}-password` })).status).toBe(401);

    await b.restart();
    expect((await api(b.url, otherSession).get(`/documents/${docId}`)).status).toBe(401);
    expect((await api(b.url, fresh).get(`/documents/${docId}`)).status).toBe(200);
    const again = await login(b.url, username, 'a-new-password');
    expect((await api(a.url, again).get(`/documents/${docId}`)).status).toBe(200);
  });

  test('`marginalia users disable` (CLI, against the shared database and Redis) stops the user on both instances within 1 s; `users enable` restores sign-in', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const username = unique('clioff');
    const member = await addMember(a, docId, username, 'Cleo', 'editor');
    const onA = client(a, docId, member.token);
    const onB = client(b, docId, member.token);
    await Promise.all([onA.synced(), onB.synced()]);
    // Run asynchronously: the Redis proxy lives in this process and must keep forwarding meanwhile.
    const cli = async (verb: string, name = username) =>
      (await promisify(execFile)(process.execPath, [CLI, 'users', verb, name], { env: { ...process.env, ...env() } }))
        .stdout;
    expect(await cli('disable')).toMatch(/disabled/);
    await waitFor(() => onA.closes.some((c) => c.code === 4401) && onB.closes.some((c) => c.code === 4401), {
      timeout: BOUND_MS,
      message: 'close 4401 on both',
    });
    expect((await api(b.url, member.token).get('/auth/me')).status).toBe(401);
    expect((await api(a.url).post('/auth/login', { username, password: `${username}-password` })).status).toBe(403);
    expect(await cli('enable')).toMatch(/enabled/);
    const afterEnable = await login(a.url, username, `${username}-password`);
    expect((await api(b.url, member.token).get('/auth/me')).status).toBe(401);
    const again = client(b, docId, afterEnable);
    await again.synced();
    // `users password` signs out the tokens issued before it, on every instance
    const set = await promisify(execFile)(
      process.execPath,
      [CLI, 'users', 'password', username, '--password', 'set-by-cli'],
      {
        env: { ...process.env, ...env() },
      },
    );
    expect(set.stdout).toMatch(/signed out/);
    await waitFor(() => again.closes.some((c) => c.code === 4401), { timeout: BOUND_MS, message: 'close 4401 on B' });
    expect((await api(a.url, afterEnable).get('/auth/me')).status).toBe(401);
    await login(b.url, username, 'set-by-cli');
    await expect(cli('disable', 'nobody-here')).rejects.toThrow(/no user/);
    // three CLI processes, each opening the database: slow on a busy machine
  }, 120_000);

  test('an open socket enforces a membership or guest change from the moment it is stored, before any message arrives: on an instance that hears nothing (no Redis, catch-up once a minute) a downgraded, removed or guest write is neither stored nor broadcast, an upgraded member writes at once', async () => {
    const deaf = await startServer({ env: { ...env(), REDIS_URL: '', MARGINALIA_CATCHUP_INTERVAL_MS: '60000' } });
    try {
      const docId = await createDocument(a.url, a.adminToken, ARTICLE, { guestRole: 'editor' });
      const username = unique('deaf');
      const member = await addMember(a, docId, username, 'Dee', 'editor');
      const guest = (await api(a.url).post('/auth/guest', { name: unique('Guest ') })).body.token as string;
      const adminOnC = await watcher(deaf, docId);
      const onC = client(deaf, docId, member.token);
      const guestOnC = client(deaf, docId, guest);
      await Promise.all([onC.synced(), guestOnC.synced()]);
      const meta = (c: TestClient) => c.doc.getMap('meta');
      /** Writes `key` through `c`, which must still be open (nothing told the instance); the control write settles it. */
      const writeOpen = async (c: TestClient, key: string) => {
        expect({ key, closes: c.closes, connected: c.provider.wsconnected }).toEqual({
          key,
          closes: [],
          connected: true,
        });
        await writeThenControl(c, adminOnC, adminOnC, key);
      };
      const setRole = async (role: string) =>
        expect((await api(a.url, a.adminToken).put(`/documents/${docId}/members/${username}`, { role })).status).toBe(
          200,
        );

      await writeOpen(onC, 'as-editor');
      await waitFor(() => meta(adminOnC).has('as-editor'), { message: 'editor write stored' });
      // downgraded on A: the very next write on C's open socket is refused with the new role
      await setRole('commenter');
      await writeOpen(onC, 'as-commenter');
      await waitFor(() => onC.closes.some((c) => c.code === 4403), { message: 'commenter write refused (4403)' });
      expect(meta(adminOnC).has('as-commenter')).toBe(false);
      onC.destroy();

      // upgraded on A: an open commenter socket writes as editor at once
      const commenter = client(deaf, docId, member.token);
      await commenter.synced();
      await setRole('editor');
      await writeOpen(commenter, 'upgraded');
      await waitFor(() => meta(adminOnC).has('upgraded'), { message: 'upgraded write stored' });

      // guest access narrowed on A: the guest's open socket writes no more
      expect((await api(a.url, a.adminToken).patch(`/documents/${docId}`, { guestRole: 'viewer' })).status).toBe(200);
      await writeOpen(guestOnC, 'guest-as-viewer');
      await waitFor(() => guestOnC.closes.some((c) => c.code === 4403), { message: 'guest write refused (4403)' });
      expect(meta(adminOnC).has('guest-as-viewer')).toBe(false);
      guestOnC.destroy();

      // removed on A (the document now closed to guests, or they would be a guest): refused at the next write
      expect((await api(a.url, a.adminToken).patch(`/documents/${docId}`, { guestRole: null })).status).toBe(200);
      expect((await api(a.url, a.adminToken).delete(`/documents/${docId}/members/${username}`)).status).toBe(204);
      await writeOpen(commenter, 'removed');
      await waitFor(() => commenter.closes.some((c) => c.code === 4403), { message: 'removed write refused (4403)' });
      expect(meta(adminOnC).has('removed')).toBe(false);
      commenter.destroy();

      // nothing refused was stored: a fresh reader of the stored document (on A) sees only the allowed writes
      const reader = client(a, docId, a.adminToken);
      await reader.synced();
      await waitFor(() => meta(reader).has('upgraded'), { message: 'A reads the stored writes' });
      expect(
        ['as-editor', 'as-commenter', 'upgraded', 'removed', 'guest-as-viewer'].filter((k) => meta(reader).has(k)),
      ).toEqual(['as-editor', 'upgraded']);
      // and the audit log names each refusal with the role the database gave at that moment
      const rejectedRoles = async () =>
        (
          (await api(a.url, a.adminToken).get(`/documents/${docId}/audit?limit=1000`)).body as {
            action: string;
            detail: { role?: string };
          }[]
        )
          .filter((e) => e.action === 'update.rejected')
          .map((e) => e.detail.role)
          .sort();
      // (a refused client resends on reconnecting: the same refusal may be audited more than once)
      await waitFor(async () => new Set(await rejectedRoles()).size >= 2, { message: 'refusals audited' });
      expect([...new Set(await rejectedRoles())]).toEqual(['commenter', 'viewer']);
    } finally {
      await deaf.dispose();
    }
  });

  test('Redis cut: a sign-out and a removal on A still hold on B within the catch-up interval', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const signedOut = await addMember(a, docId, unique('cutout'), 'Cora', 'editor');
    const removedName = unique('cutremoved');
    const removed = await addMember(a, docId, removedName, 'Rhea', 'editor');
    const outOnB = client(b, docId, signedOut.token);
    const removedOnB = client(b, docId, removed.token);
    await Promise.all([outOnB.synced(), removedOnB.synced()]);

    redisProxy.cut();
    await waitFor(async () => (await api(b.url).get('/health')).body.redis === 'down', {
      message: 'B sees Redis down',
    });
    expect((await api(a.url, signedOut.token).post('/auth/logout')).status).toBe(204);
    expect((await api(a.url, a.adminToken).delete(`/documents/${docId}/members/${removedName}`)).status).toBe(204);
    const bound = 2 * CATCHUP_MS + BOUND_MS;
    await waitFor(() => outOnB.closes.some((c) => c.code === 4401), { timeout: bound, message: 'close 4401' });
    await waitFor(() => removedOnB.closes.some((c) => c.code === 4403), { timeout: bound, message: 'close 4403' });
    expect((await api(b.url, signedOut.token).get(`/documents/${docId}`)).status).toBe(401);
    expect((await api(b.url, removed.token).get(`/documents/${docId}`)).status).toBe(403);
  });

  test('a token expiring while its socket is open on B is closed 4401 at expiry', async () => {
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const username = unique('expiring');
    const member = await addMember(a, docId, username, 'Eve', 'editor');
    const me = (await api(a.url, member.token).get('/auth/me')).body.user;
    // A short-lived token signed with the instances' shared key (as a refresh near the end of a session leaves).
    const key = await sharedKey(schema);
    const exp = Math.floor(Date.now() / 1000) + 3;
    const short = await new SignJWT({ username: me.username, name: me.name, guest: false, admin: false })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(me.id)
      .setIssuedAt()
      .setExpirationTime(exp)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(new TextEncoder().encode(key));
    const onB = client(b, docId, short);
    await onB.synced();
    expect(onB.closes).toEqual([]);
    await waitFor(() => onB.closes.some((c) => c.code === 4401), { timeout: 10_000, message: 'close 4401 at expiry' });
    const closedAt = Date.now();
    expect(closedAt).toBeGreaterThanOrEqual(exp * 1000);
    // within 1 s of the expiry (one sweep a second; what waitFor's polling adds aside)
    expect(closedAt - exp * 1000).toBeLessThan(BOUND_MS + 200);
  });

  test('a seeded random schedule of role changes on either instance, interleaved with writes on B, never stores a write the role at that moment forbids (checked against the stored document and the audit log)', async () => {
    const seed = testSeed();
    const docId = await createDocument(a.url, a.adminToken, ARTICLE);
    const username = unique('roles');
    const member = await addMember(a, docId, username, 'Rolf', 'editor');
    const watchA = await watcher(a, docId);
    const roles = ['editor', 'commenter', 'viewer'] as const;
    const step = fc.oneof(
      fc.record({ kind: fc.constant('role' as const), role: fc.constantFrom(...roles), on: fc.constantFrom('a', 'b') }),
      fc.record({ kind: fc.constant('write' as const) }),
      // Redis cut (or back): B then learns of role changes only from the database.
      fc.record({ kind: fc.constant('redis' as const) }),
    );
    const [schedule] = fc.sample(fc.array(step, { minLength: 20, maxLength: 30 }), { seed, numRuns: 1 });
    let role: (typeof roles)[number] = 'editor';
    let session = client(b, docId, member.token);
    await session.synced();
    const expected: { key: string; role: string }[] = [];
    let n = 0;
    let cut = false;
    for (const s of schedule!) {
      if (s.kind === 'redis') {
        cut = !cut;
        if (cut) redisProxy.cut();
        else redisProxy.restore();
        continue;
      }
      if (s.kind === 'role') {
        const server = s.on === 'a' ? a : b;
        const r = await api(server.url, server.adminToken).put(`/documents/${docId}/members/${username}`, {
          role: s.role,
        });
        expect({ seed, status: r.status }).toEqual({ seed, status: 200 });
        role = s.role;
        continue;
      }
      const key = `w${n++}`;
      expected.push({ key, role });
      const closesBefore = session.closes.length;
      session.doc.getMap('meta').set(key, role);
      // settled: stored (seen on A), or refused (permission denied: close 4403)
      await waitFor(
        () => watchA.doc.getMap('meta').has(key) || session.closes.slice(closesBefore).some((c) => c.code === 4403),
        { timeout: 15_000, message: `write ${key} as ${role} settles (seed ${seed})` },
      );
      if (!watchA.doc.getMap('meta').has(key)) {
        // A refused client would resend its refused change on reconnecting: start a fresh one, as the app does.
        session.destroy();
        session = client(b, docId, member.token);
        await session.synced();
      }
    }
    const stored = await api(a.url, a.adminToken).get(`/documents/${docId}/audit?limit=1000`);
    const memberChanges = (stored.body as { action: string; detail: { username?: string; role?: string } }[])
      .filter((e) => e.action === 'member.set' && e.detail.username === username)
      .map((e) => e.detail.role)
      .reverse();
    const changes = schedule!.filter((s) => s.kind === 'role').map((s) => (s as { role: string }).role);
    expect({ seed, changes: memberChanges.slice(1) }).toEqual({ seed, changes });
    const forbiddenStored = expected.filter((w) => w.role !== 'editor' && watchA.doc.getMap('meta').has(w.key));
    const allowedMissing = expected.filter((w) => w.role === 'editor' && !watchA.doc.getMap('meta').has(w.key));
    expect({ seed, forbiddenStored, allowedMissing }).toEqual({ seed, forbiddenStored: [], allowedMissing: [] });
    // Every refusal in the audit log was of a role that may not write meta.
    const refusals = (stored.body as { action: string; actorId: string; detail: { role?: string } }[]).filter(
      (e) => e.action === 'update.rejected' && e.actorId === member.id,
    );
    expect({ seed, refusedAsEditor: refusals.filter((e) => e.detail.role === 'editor') }).toEqual({
      seed,
      refusedAsEditor: [],
    });
    expect(refusals.length).toBe(expected.filter((w) => w.role !== 'editor').length);
  });
});

/** The signing key the instances generated into the database (settings). */
async function sharedKey(schema: string): Promise<string> {
  const c = new pg.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  try {
    const r = await c.query(`SELECT value FROM ${schema}.settings WHERE key = 'token_signing_key'`);
    return r.rows[0].value as string;
  } finally {
    await c.end();
  }
}

describeIfService('postgresql and redis', available)('limits shared by two instances on PostgreSQL + Redis', () => {
  const schema = uniqueSchema('limits');
  let redisProxy: TcpProxy;
  let c: TestServer;
  let d: TestServer;
  const sockets: WebSocket[] = [];

  /** Opens a raw socket; resolves with it once open, or with the HTTP status that refused the upgrade. */
  const open = (server: TestServer, docId: string) =>
    new Promise<WebSocket | number>((resolve) => {
      const ws = new WebSocket(`${server.wsUrl}/collab/${docId}?token=${encodeURIComponent(server.adminToken)}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        sockets.push(ws);
        resolve(ws);
      });
      ws.on('error', () => {});
    });
  const failLogin = (server: TestServer, username: string) =>
    api(server.url).post('/auth/login', { username, password: 'wrong-password' });

  beforeAll(async () => {
    const redis = new URL(REDIS_URL);
    redisProxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
    const env = {
      DATABASE_URL: POSTGRES_URL,
      MARGINALIA_PG_SCHEMA: schema,
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
      REDIS_PREFIX: `test:${schema}:`,
      MARGINALIA_MAX_LOGIN_FAILURES_PER_USER: '3',
      MARGINALIA_MAX_CONNECTIONS_PER_IP: '3',
    };
    [c, d] = await Promise.all([startServer({ env }), startServer({ env })]);
  });
  afterEach(() => {
    for (const ws of sockets.splice(0)) ws.terminate();
    redisProxy.restore();
  });
  afterAll(async () => {
    await c?.dispose();
    await d?.dispose();
    await redisProxy?.close();
    await dropSchema(schema);
  });

  test('failed sign-ins count across instances: two on C and one on D block the username on D, even with the right password', async () => {
    const username = unique('guessed');
    await createUser(c, username);
    expect((await failLogin(c, username)).status).toBe(401);
    expect((await failLogin(c, username)).status).toBe(401);
    expect((await failLogin(d, username)).status).toBe(401);
    const blocked = await api(d.url).post('/auth/login', { username, password: `${username}-password` });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api(c.url).post('/auth/login', { username, password: `${username}-password` })).status).toBe(429);
  });

  test('connections per IP address count across instances, and a closed one frees its place', async () => {
    const docId = await createDocument(c.url, c.adminToken, ARTICLE);
    const first = await open(c, docId);
    expect(first).toBeInstanceOf(WebSocket);
    expect(await open(c, docId)).toBeInstanceOf(WebSocket);
    expect(await open(d, docId)).toBeInstanceOf(WebSocket);
    expect(await open(d, docId)).toBe(429);
    (first as WebSocket).terminate();
    await waitFor(
      async () => {
        const again = await open(d, docId);
        return again instanceof WebSocket;
      },
      { message: 'a place freed on C opens on D' },
    );
    // Sockets in flight are closed before the next test: they stop counting once closed.
    for (const ws of sockets.splice(0)) ws.terminate();
  });

  test('Redis cut: each instance still limits failed sign-ins on its own', async () => {
    const username = unique('cutguess');
    await createUser(c, username);
    redisProxy.cut();
    await waitFor(async () => (await api(d.url).get('/health')).body.redis === 'down', {
      message: 'D sees Redis down',
    });
    for (let i = 0; i < 3; i++) expect((await failLogin(d, username)).status).toBe(401);
    expect((await api(d.url).post('/auth/login', { username, password: `${username}-password` })).status).toBe(429);
  });

  test('Redis cut: each instance still limits connections per IP address on its own', async () => {
    const docId = await createDocument(c.url, c.adminToken, ARTICLE);
    redisProxy.cut();
    await waitFor(async () => (await api(d.url).get('/health')).body.redis === 'down', {
      message: 'D sees Redis down',
    });
    for (let i = 0; i < 3; i++) expect(await open(d, docId)).toBeInstanceOf(WebSocket);
    expect(await open(d, docId)).toBe(429);
    for (const ws of sockets.splice(0)) ws.terminate();
  });
});
