/**
 * Notifications exactly once across SIGKILL: the server is killed right after a comment is acknowledged (with more
 * comments in flight); after a restart, every acknowledged comment's notifications exist exactly once, and no
 * comment — acknowledged or not — has more than one.
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals';
import { startServer, createDocument, addMember, api, type TestServer, type Member } from '../support/server.js';
import { seededRandom, testSeed } from '../support/random.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';

describe('notifications across SIGKILL', () => {
  const seed = testSeed();
  const rounds = Number(process.env.ROUNDS ?? 20);
  const random = seededRandom(seed);
  let server: TestServer;
  let docId: string;
  let threadId: string;
  let ann: Member;
  let vera: Member;

  beforeAll(async () => {
    // A short projection delay (chosen by the seed) so kills fall before, during and after projections.
    server = await startServer({ env: { MARGINALIA_PROJECTION_DELAY_MS: String(Math.floor(random() * 30)) } });
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    ann = await addMember(server, docId, 'ann', 'Ann Archer', 'commenter');
    vera = await addMember(server, docId, 'vera', 'Vera Viewer', 'viewer');
    const t = await api(server.url, ann.token).post(`/documents/${docId}/threads`, {
      exact: 'minister',
      body: 'Start',
    });
    expect(t.status).toBe(201);
    threadId = t.body.id;
  });
  afterAll(async () => {
    await server.dispose();
  });

  /** vera's notifications, counted per comment. */
  const perComment = async (): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { commentId: string }[]; nextCursor: string | null } } = await api(
        server.url,
        vera.token,
      ).get(`/notifications?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      if (page.status !== 200) throw new Error(`inbox: ${page.status}`);
      for (const i of page.body.items) out.set(i.commentId, (out.get(i.commentId) ?? 0) + 1);
      cursor = page.body.nextCursor;
    } while (cursor);
    return out;
  };

  test(`each acknowledged comment notifies exactly once after a kill (${rounds} rounds, seed ${seed})`, async () => {
    const acknowledged: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const context = `seed ${seed}, round ${round}`;
      const a = api(server.url, ann.token);
      const inFlight = 1 + Math.floor(random() * 4);
      const posts = Array.from({ length: inFlight }, (_, i) =>
        a
          .post(`/documents/${docId}/threads/${threadId}/comments`, { body: `@vera round ${round}.${i}` })
          .catch(() => null),
      );
      // Killed as soon as the first of them is acknowledged; the others may or may not have been stored.
      const first = await Promise.race(
        posts.map((p) =>
          p.then((r) => {
            if (r && r.status !== 201) throw new Error(`comment refused: ${r.status} ${r.text} (${context})`);
            return r ?? new Promise<never>(() => {});
          }),
        ),
      );
      await server.kill();
      acknowledged.push((first as { body: { id: string } }).body.id);
      for (const r of await Promise.all(posts)) if (r?.status === 201) acknowledged.push(r.body.id);
      await server.restart();

      // A marker after the restart: projection is in log order, so once it is told, everything before it was.
      const marker = await a.post(`/documents/${docId}/threads/${threadId}/comments`, {
        body: `@vera marker ${round}`,
      });
      expect(marker.status).toBe(201);
      acknowledged.push(marker.body.id);
      const counts = await waitFor(
        async () => {
          const c = await perComment();
          return c.has(marker.body.id) ? c : null;
        },
        { timeout: 20_000, message: `the marker notification (${context})` },
      );
      const missing = acknowledged.filter((id) => counts.get(id) !== 1);
      expect({ context, missing: missing.map((id) => [id, counts.get(id) ?? 0]) }).toEqual({ context, missing: [] });
      const duplicated = [...counts].filter(([, n]) => n > 1);
      expect({ context, duplicated }).toEqual({ context, duplicated: [] });
    }
  }, 400_000);
});
