/**
 * Fuzzing (fast-check, seeded): random and mutated y-protocols frames on raw WebSocket connections of every
 * role, random upgrade requests, and random or mutated REST bodies to every route. After every case a writer
 * and a reader (two other connections on the same document) exchange a marker; a frame or request that was
 * refused must have left the document as it was; the server never answers 5xx or closes with 1011; and the
 * stored documents load back equal to what the clients saw.
 *
 * FUZZ_RUNS (default 3000) sets the number of cases, split 60/35/5 between frames, REST and upgrades;
 * `npm run drill:fuzz` runs 100,000. TEST_SEED replays a run (the seed is printed on failure).
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals';
import fc from 'fast-check';
import * as Y from 'yjs';
import { readThreadMap, threadsMap } from '@marginalia/shared';
import { startServer, createUser, api, type TestServer } from '../support/server.js';
import { rawClient, type RawClient } from '../support/raw-client.js';
import { canonical } from '../support/clients.js';
import { testSeed } from '../support/random.js';
import { buildFrame, frameRecipe } from '../support/fuzz-frames.js';
import { REST_ROUTES, restCase, resolveRestCase } from '../support/fuzz-rest.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const SEED = testSeed();
const WS_RUNS = Math.round(RUNS * 0.6);
const REST_RUNS = Math.round(RUNS * 0.35);
const UPGRADE_RUNS = Math.max(1, RUNS - WS_RUNS - REST_RUNS);
/** Cases per document: then it is left to unload and is checked as stored, and a new one is made. */
const ROTATE_EVERY = 1000;
const ARTICLE =
  'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail, and asked for more.';
const ROLES = ['owner', 'editor', 'commenter', 'viewer'] as const;
type Role = (typeof ROLES)[number];
/** Close codes a refused frame may get (never 1011: that is a server fault). */
const REFUSED = [1002, 1003, 1007, 1008, 1009, 1013, 4400, 4403, 4413];

/** The document's shared types in canonical form, without the writer's marker. */
/** Keys of `threads` that hold no readable thread under its own id, sorted. */
function junkOf(doc: Y.Doc): string[] {
  const junk: string[] = [];
  threadsMap(doc).forEach((value, key) => {
    if (!(value instanceof Y.Map) || readThreadMap(value)?.id !== key) junk.push(key);
  });
  return junk.sort();
}

function stateOf(doc: Y.Doc, withMarker = false): string {
  const meta = doc.getMap('meta').toJSON();
  if (!withMarker) delete meta.marker;
  return canonical({
    root: doc.get('root', Y.XmlText).toString(),
    meta,
    vocabulary: doc.getMap('vocabulary').toJSON(),
    threads: doc.getMap('threads').toJSON(),
  });
}

const fuzzOptions = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

describe(`fuzzing (seed ${SEED}, ${RUNS} cases; replay with TEST_SEED=${SEED})`, () => {
  let server: TestServer;
  const users = {} as Record<Role, { token: string; id: string; name: string }>;
  let markers = 0;
  /** The last frame or request sent, for the failure report (server state is not reproducible byte for byte). */
  let lastInput = '';
  /** Outcome counts (printed with FUZZ_STATS=1): close codes of refused frames, statuses of REST answers. */
  const stats = new Map<string, number>();
  const count = (k: string) => stats.set(k, (stats.get(k) ?? 0) + 1);

  /** One document with a writer and a reader (admin connections) and fuzzed connections per role. */
  class Arena {
    docId = '';
    writer!: RawClient;
    reader!: RawClient;
    fuzz = new Map<Role, RawClient>();

    async open(): Promise<void> {
      const owner = api(server.url, users.owner.token);
      const r = await owner.post('/documents', {
        title: 'Fuzz',
        format: 'text',
        content: ARTICLE,
        guestRole: 'viewer',
      });
      this.docId = r.body.id;
      for (const role of ['editor', 'commenter', 'viewer'] as const)
        await owner.put(`/documents/${this.docId}/members/${role}`, { role });
      await api(server.url, server.adminToken).put(`/documents/${this.docId}/vocabulary/question`, {
        color: '#3366cc',
      });
      this.writer = rawClient(server.wsUrl, this.docId, server.adminToken);
      this.reader = rawClient(server.wsUrl, this.docId, server.adminToken);
      await Promise.all([this.writer.synced, this.reader.synced]);
    }

    /** The writer sets a marker and the reader receives it: the document still syncs. */
    async exchange(): Promise<void> {
      const marker = ++markers;
      this.writer.doc.getMap('meta').set('marker', marker);
      await this.reader.until(
        () => this.reader.doc.getMap('meta').get('marker') === marker,
        10_000,
        `marker ${marker} at the reader`,
      );
    }

    async connection(role: Role): Promise<RawClient> {
      let c = this.fuzz.get(role);
      if (!c || !c.isOpen()) {
        c = rawClient(server.wsUrl, this.docId, users[role].token, { manual: true });
        await c.synced;
        this.fuzz.set(role, c);
      }
      return c;
    }

    /** Closes every connection, waits for the document to unload, and checks that it loads back as it was. */
    async closeAndVerify(): Promise<void> {
      const seen = stateOf(this.reader.doc, true);
      for (const c of [this.writer, this.reader, ...this.fuzz.values()]) await c.close();
      await waitUnloaded();
      const fresh = rawClient(server.wsUrl, this.docId, server.adminToken);
      await fresh.synced;
      expect(stateOf(fresh.doc, true)).toBe(seen);
      await fresh.close();
    }
  }

  /** Runs fast-check; a failure also shows the end of the server's log. */
  async function check<T>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
    try {
      await fc.assert(property, fuzzOptions(numRuns));
    } catch (e) {
      (e as Error).message += `\nlast input: ${lastInput}\n--- server log (end) ---\n${server.output().slice(-4000)}`;
      throw e;
    }
  }

  async function health(): Promise<void> {
    const h = await api(server.url).get('/health');
    expect(h.status).toBe(200);
  }
  async function waitUnloaded(): Promise<void> {
    for (let i = 0; i < 500; i++) {
      if ((await api(server.url).get('/health')).body.documentsLoaded === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('documents did not unload');
  }

  beforeAll(async () => {
    server = await startServer({
      env: {
        LOG_LEVEL: 'error',
        MARGINALIA_SAMPLE: '0',
        MARGINALIA_UNLOAD_GRACE_MS: '20',
        MARGINALIA_MAX_MESSAGES_PER_SECOND: '100000',
        MARGINALIA_MAX_BYTES_PER_SECOND: '1000000000',
        MARGINALIA_MAX_CONNECTIONS_PER_IP: '100000',
        MARGINALIA_MAX_LOGIN_FAILURES_PER_IP: '1000000',
      },
    });
    for (const [role, username] of [
      ['owner', 'owner'],
      ['editor', 'editor'],
      ['commenter', 'commenter'],
      ['viewer', 'viewer'],
    ] as const) {
      users[role] = { ...(await createUser(server, username, `${role} name`)), name: `${role} name` };
    }
  });
  afterAll(async () => {
    if (process.env.FUZZ_STATS)
      console.log(
        [...stats]
          .sort()
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n'),
      );
    await server?.dispose();
  });

  test(
    `${WS_RUNS} random and mutated y-protocols frames from every role`,
    async () => {
      let arena = new Arena();
      await arena.open();
      let n = 0;
      const other = (role: Role) => users[role === 'commenter' ? 'editor' : 'commenter'];
      await check(
        fc.asyncProperty(fc.constantFrom(...ROLES), frameRecipe, async (role, recipe) => {
          if (++n % ROTATE_EVERY === 0) {
            await arena.closeAndVerify();
            arena = new Arena();
            await arena.open();
          }
          const c = await arena.connection(role);
          const before = stateOf(arena.reader.doc);
          const junkBefore = junkOf(arena.reader.doc);
          const entriesBefore = new Map(threadsMap(arena.reader.doc).entries());
          const frame = buildFrame(arena.reader.doc, recipe, users[role], other(role));
          lastInput = `${role} frame ${Buffer.from(frame).toString('hex')}`;
          c.send(frame);
          await arena.exchange();
          // a frame the server refused closed the connection before the answer to this step 1
          const open = await c.probe();
          count(
            `ws ${role} ${recipe.base}${recipe.mutations.length ? ' mutated' : ''}: ${open ? 'open' : (await c.closed).code}`,
          );
          if (!open) {
            const closed = await c.closed;
            if (!REFUSED.includes(closed.code)) throw new Error(`unexpected close ${closed.code} ${closed.reason}`);
            expect(stateOf(arena.reader.doc)).toBe(before);
          }
          if (role === 'viewer') expect(stateOf(arena.reader.doc)).toBe(before);
          // nobody may store a thread that is not whole (a readable thread under its own id): junk after the frame
          // is an entry that was there before, junk already, or changed by an owner (who may change any field of
          // a thread, even into one no reader can read)
          const newJunk = junkOf(arena.reader.doc).filter(
            (key) =>
              threadsMap(arena.reader.doc).get(key) !== entriesBefore.get(key) ||
              !(junkBefore.includes(key) || role === 'owner'),
          );
          expect(newJunk).toEqual([]);
          if (role !== 'owner') expect(junkOf(arena.reader.doc)).toEqual(junkBefore);
          if (n % 100 === 0) await health();
        }),
        WS_RUNS,
      );
      await health();
      await arena.closeAndVerify();
    },
    60_000 + WS_RUNS * 60,
  );

  test(`${UPGRADE_RUNS} random upgrade requests are refused cleanly`, async () => {
    const arena = new Arena();
    await arena.open();
    const tokens = [null, 'garbage', users.viewer.token, server.adminToken, `${users.owner.token}x`];
    await check(
      fc.asyncProperty(
        fc.oneof(fc.constant(arena.docId), fc.string({ maxLength: 80 })),
        fc.nat(tokens.length - 1),
        fc.string({ maxLength: 20 }),
        async (docId, t, extra) => {
          const c = rawClient(server.wsUrl, `${docId}${extra ? `/${extra}` : ''}`, tokens[t]!);
          const ok = await c.synced.then(
            () => true,
            () => false,
          );
          const closed = ok ? await c.close() : await c.closed;
          if (!ok) expect([400, 401, 403, 404, 4401, 4403, 4404]).toContain(closed.code);
          await arena.exchange();
        },
      ),
      UPGRADE_RUNS,
    );
    await health();
    await arena.closeAndVerify();
  });

  test(
    `${REST_RUNS} random and mutated REST requests to every route (${REST_ROUTES.length} routes)`,
    async () => {
      let arena = new Arena();
      await arena.open();
      let n = 0;
      const tokens = { owner: users.owner.token, commenter: users.commenter.token, viewer: users.viewer.token };
      await check(
        fc.asyncProperty(restCase, async (rc) => {
          if (++n % ROTATE_EVERY === 0) {
            await arena.closeAndVerify();
            arena = new Arena();
            await arena.open();
          }
          const before = stateOf(arena.reader.doc);
          const req = resolveRestCase(rc, { docId: arena.docId, doc: arena.reader.doc, tokens });
          lastInput = JSON.stringify(req);
          const res = await fetch(`${server.url}/api${req.path}`, {
            method: req.method,
            headers: req.headers,
            body: req.body,
          });
          const text = await res.text();
          count(`rest ${req.method} ${res.status}`);
          if (res.status >= 500) throw new Error(`${req.method} ${req.path} -> ${res.status} ${text}`);
          if (res.status >= 400) {
            expect(res.headers.get('content-type')).toMatch(/^application\/json/);
            expect(typeof JSON.parse(text).error).toBe('string');
            await arena.exchange();
            expect(stateOf(arena.reader.doc)).toBe(before);
          }
          if (n % 100 === 0) await health();
        }),
        REST_RUNS,
      );
      await health();
      await arena.closeAndVerify();
    },
    60_000 + REST_RUNS * 60,
  );

  test('after a restart every fuzzed document loads as the clients last saw it', async () => {
    const docs = (await api(server.url, server.adminToken).get('/documents')).body as { id: string }[];
    const seen = new Map<string, string>();
    for (const { id } of docs) {
      const c = rawClient(server.wsUrl, id, server.adminToken);
      await c.synced;
      seen.set(id, stateOf(c.doc, true));
      await c.close();
    }
    await server.restart();
    for (const [id, state] of seen) {
      const c = rawClient(server.wsUrl, id, server.adminToken);
      await c.synced;
      expect(stateOf(c.doc, true)).toBe(state);
      await c.close();
    }
  });
});
