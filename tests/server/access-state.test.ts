/**
 * The shared access state on each engine, without Redis: what is stored is what every instance (and a restarted
 * one) enforces, read back on the catch-up timer; expired revocations are pruned; the generated signing key is
 * one value however many instances create it at once.
 */
import { afterEach, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { openPostgresStorage } from '@marginalia/server/storage/postgres.js';
import { AccessState, type AccessEvent } from '@marginalia/server/auth/access-state.js';
import { signingKey } from '@marginalia/server/auth/tokens.js';
import type { Storage } from '@marginalia/server/storage/types.js';
import { POSTGRES_URL, describeIfService, dropSchema, postgresReachable, uniqueSchema } from '../support/services.js';
import { tempDir } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const pgAvailable = await postgresReachable();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const principal = (id: string, jti: string) => ({ id, username: 'u', name: 'U', guest: false, admin: false, jti });

async function newUser(storage: Storage): Promise<string> {
  const id = randomUUID();
  await storage.createUser({
    id,
    username: `u${id.slice(0, 8)}`,
    name: 'U',
    passwordHash: 'x',
    isAdmin: false,
    createdAt: 1,
  });
  return id;
}

/** An instance's access state on `storage`, recording what it enforces. */
async function instance(storage: Storage, catchUpIntervalMs = 50) {
  const events: AccessEvent[] = [];
  const state = await AccessState.open({
    storage,
    redisUrl: null,
    redisPrefix: 'unused:',
    catchUpIntervalMs,
    tokenTtlMs: 3_600_000,
    enforce: (e) => events.push(e),
  });
  cleanups.push(() => state.close());
  return { state, events };
}

for (const [engine, available, open] of [
  [
    'SQLite',
    true,
    async () => {
      const dir = tempDir();
      const storage = await openSqliteStorage(join(dir.path, 'm.db'));
      return {
        storage,
        again: () => openSqliteStorage(join(dir.path, 'm.db')),
        cleanup: async () => {
          await storage.close();
          dir.remove();
        },
      };
    },
  ],
  [
    'PostgreSQL',
    pgAvailable,
    async () => {
      const schema = uniqueSchema('accstate');
      const storage = await openPostgresStorage({ connectionString: POSTGRES_URL, schema });
      return {
        storage,
        again: () => openPostgresStorage({ connectionString: POSTGRES_URL, schema }),
        cleanup: async () => {
          await storage.close();
          await dropSchema(schema);
        },
      };
    },
  ],
] as const) {
  describeIfService(engine === 'PostgreSQL' ? 'postgresql' : 'nothing', available)(`access state on ${engine}`, () => {
    test('a sign-out stored by one instance is refused by another on its catch-up timer and by a restarted one; other tokens pass', async () => {
      const { storage, again, cleanup } = await open();
      cleanups.push(cleanup);
      const userId = await newUser(storage);
      const a = await instance(storage);
      const b = await instance(storage);
      await a.state.revoke('jti-1', userId, Date.now() + 60_000);
      expect(a.state.refuses(principal(userId, 'jti-1'))).toMatch(/revoked/);
      await waitFor(() => b.state.refuses(principal(userId, 'jti-1')) !== null, { message: 'B reads the revocation' });
      expect(b.events).toContainEqual(expect.objectContaining({ kind: 'revoked', jti: 'jti-1' }));
      expect(b.state.refuses(principal(userId, 'jti-2'))).toBeNull();

      const reopened = await again();
      cleanups.push(() => reopened.close());
      const restarted = await instance(reopened, 60_000);
      expect(restarted.state.refuses(principal(userId, 'jti-1'))).toMatch(/revoked/);
    });

    test('a disabled account (stored by the CLI or another instance) is refused on the catch-up timer, and passes again once enabled', async () => {
      const { storage, cleanup } = await open();
      cleanups.push(cleanup);
      const userId = await newUser(storage);
      const b = await instance(storage);
      expect(await storage.setUserDisabled(userId, true)).toBe(true);
      await waitFor(() => b.state.refuses(principal(userId, 'any')) !== null, { message: 'disabled read' });
      expect(b.state.refuses(principal(userId, 'any'))).toMatch(/disabled/);
      expect((await storage.getUserById(userId))?.disabled).toBe(true);
      expect(await storage.setUserDisabled(userId, false)).toBe(true);
      await waitFor(() => b.state.refuses(principal(userId, 'any')) === null, { message: 'enabled read' });
      expect(await storage.setUserDisabled('no-such-user', true)).toBe(false);
    });

    test("all of a user's tokens signed out at once (password change, disabled account): the ones issued before are refused by another instance on its catch-up timer and after a restart, later ones and other users' pass", async () => {
      const { storage, again, cleanup } = await open();
      cleanups.push(cleanup);
      const userId = await newUser(storage);
      const otherId = await newUser(storage);
      const a = await instance(storage);
      const b = await instance(storage);
      const issued = Date.now() - 1;
      const earlier = { ...principal(userId, 'old'), iat: issued };
      await a.state.revokeUser(userId);
      const later = { ...principal(userId, 'new'), iat: Date.now() };
      expect(a.state.refuses(earlier)).toMatch(/signed out everywhere/);
      expect(a.state.refuses(later)).toBeNull();
      await waitFor(() => b.state.refuses(earlier) !== null, { message: 'B reads the sign-out of all tokens' });
      expect(b.events).toContainEqual(expect.objectContaining({ kind: 'revoked-user', userId }));
      expect(b.state.refuses(later)).toBeNull();
      expect(b.state.refuses({ ...principal(otherId, 'x'), iat: issued })).toBeNull();
      // a token without an issue time counts as issued before
      expect(b.state.refuses(principal(userId, 'no-iat'))).toMatch(/signed out everywhere/);

      const reopened = await again();
      cleanups.push(() => reopened.close());
      const restarted = await instance(reopened, 60_000);
      expect(restarted.state.refuses(earlier)).toMatch(/signed out everywhere/);
      expect(restarted.state.refuses(later)).toBeNull();
    });

    test('disabling an account signs out its tokens for good: enabled again, the old ones stay refused', async () => {
      const { storage, cleanup } = await open();
      cleanups.push(cleanup);
      const userId = await newUser(storage);
      const a = await instance(storage);
      const old = { ...principal(userId, 'old'), iat: Date.now() - 1 };
      await storage.setUserDisabled(userId, true);
      await a.state.userChanged(userId, true);
      expect(a.state.refuses(old)).not.toBeNull();
      await storage.setUserDisabled(userId, false);
      await a.state.userChanged(userId, false);
      expect(a.state.refuses(old)).toMatch(/signed out everywhere/);
      expect(a.state.refuses({ ...principal(userId, 'fresh'), iat: Date.now() })).toBeNull();
    });

    test('revocations are pruned once their token has expired, and only then', async () => {
      const { storage, cleanup } = await open();
      cleanups.push(cleanup);
      const userId = await newUser(storage);
      const a = await instance(storage, 60_000);
      await a.state.revoke('expired', userId, Date.now() - 1);
      await a.state.revoke('current', userId, Date.now() + 60_000);
      await a.state.prune();
      const rows = await storage.db.selectFrom('revocations').select('jti').execute();
      expect(rows.map((r) => r.jti)).toEqual(['current']);
      expect(a.state.refuses(principal(userId, 'current'))).toMatch(/revoked/);
    });

    test('the generated signing key is one value, however many instances create it at once', async () => {
      const { storage, again, cleanup } = await open();
      cleanups.push(cleanup);
      const others = await Promise.all([again(), again(), again()]);
      cleanups.push(async () => {
        for (const o of others) await o.close();
      });
      const dir = tempDir();
      cleanups.push(async () => dir.remove());
      const keys = await Promise.all(
        [storage, ...others].map((s) => signingKey({ secret: null, dataDir: dir.path }, s)),
      );
      expect(new Set(keys.map((k) => k.fingerprint)).size).toBe(1);
      expect(keys[0]!.source).toBe(engine === 'PostgreSQL' ? 'database' : 'secret.key');
      const fromSecret = await signingKey({ secret: 'given', dataDir: dir.path }, storage);
      expect(fromSecret.source).toBe('MARGINALIA_SECRET');
      expect(fromSecret.fingerprint).not.toBe(keys[0]!.fingerprint);
    });
  });
}
