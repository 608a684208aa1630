/**
 * GET /api/search on both engines, one suite: every field a comment is found by, article text and titles;
 * phrases, prefixes, case, diacritics and stemming; filters and paging; only what the caller may read, checked at
 * query time (member, non-member, guest, removed member); deleted comments and documents leave the index.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POSTGRES_URL, describeIfService, dropSchema, postgresReachable, uniqueSchema } from '../support/services.js';
import {
  ROOT,
  addMember,
  api,
  createDocument,
  createUser,
  startServer,
  type Member,
  type TestServer,
} from '../support/server.js';
import { waitFor } from '../support/wait.js';

const pgAvailable = await postgresReachable();
const SEED_ARTICLE = readFileSync(join(ROOT, '..', 'shared', 'fixtures', 'oped-kandahar-islamabad.txt'), 'utf8');

interface Item {
  kind: 'comment' | 'article' | 'title';
  documentId: string;
  documentTitle: string;
  threadId?: string;
  commentId?: string;
  snippet: string;
  highlights: [number, number][];
  score: number;
  createdAt?: number;
  author?: { id: string; name: string };
}
interface Page {
  items: Item[];
  nextCursor: string | null;
}

/** The highlighted parts of a result's snippet. */
const marked = (item: Item): string[] => item.highlights.map(([s, e]) => item.snippet.slice(s, e));

for (const [engine, describeFor, envOf] of [
  ['SQLite', describe, () => ({})],
  [
    'PostgreSQL',
    describeIfService('postgresql', pgAvailable),
    (schema: string) => ({ DATABASE_URL: POSTGRES_URL, MARGINALIA_PG_SCHEMA: schema }),
  ],
] as const) {
  describeFor(`search (${engine})`, () => {
    const schema = uniqueSchema('search');
    let server: TestServer;
    let ann: Member; // owner of the article
    let bob: Member; // commenter on it
    let carol: { token: string; id: string }; // member of nothing
    let guest: string;
    let article: string;
    let open: string; // open to guests
    let thread: string;
    let bobComment: string;

    const search = async (token: string, query: Record<string, string>): Promise<Page> => {
      const r = await api(server.url, token).get(`/search?${new URLSearchParams(query)}`);
      if (r.status !== 200) throw new Error(`search ${JSON.stringify(query)}: ${r.status} ${r.text}`);
      return r.body as Page;
    };
    /** Waits until the search finds what `ok` wants (the projector indexes shortly after a change is stored). */
    const until = (token: string, query: Record<string, string>, ok: (p: Page) => boolean): Promise<Page> => {
      let last: Page | null = null;
      return waitFor(
        async () => {
          last = await search(token, query);
          return ok(last) ? last : null;
        },
        { message: () => `search ${JSON.stringify(query)} (last: ${JSON.stringify(last)})` },
      );
    };

    beforeAll(async () => {
      server = await startServer({
        env: { MARGINALIA_PROJECTION_DELAY_MS: '20', MARGINALIA_SAMPLE: '0', ...envOf(schema) },
      });
      const admin = api(server.url, server.adminToken);
      const owner = await createUser(server, 'ann', 'Ann Ferreira');
      ann = { ...owner, name: 'Ann Ferreira' };
      article = await createDocument(server.url, ann.token, SEED_ARTICLE, { title: 'Kandahar and Islamabad' });
      open = await createDocument(server.url, ann.token, 'Tungsten output rose in the second quarter.', {
        title: 'Mining notes',
        guestRole: 'viewer',
      });
      bob = await addMember(server, article, 'bob', 'Bob Okonkwo', 'commenter');
      carol = await createUser(server, 'carol', 'Carol Lind');
      const a = api(server.url, ann.token);
      expect((await a.put(`/documents/${article}/vocabulary/economy`, { color: '#aa8800' })).status).toBe(200);
      const t = await a.post(`/documents/${article}/threads`, {
        exact: 'secured the Durand Line',
        body: 'The tungsten figures were discussed with Médecins Sans Frontières.',
        tags: ['economy'],
      });
      expect(t.status).toBe(201);
      thread = t.body.id;
      const reply = await api(server.url, bob.token).post(`/documents/${article}/threads/${thread}/comments`, {
        body: 'Estimates of mining revenue differ; see the annex.',
      });
      expect(reply.status).toBe(201);
      bobComment = reply.body.id;
      const g = await api(server.url).post('/auth/guest', { name: 'Visitor' });
      expect(g.status).toBe(200);
      guest = g.body.token;
      expect(guest).toBeTruthy();
      void admin;
      await until(ann.token, { q: 'annex' }, (p) => p.items.length === 1);
    });

    afterAll(async () => {
      await server?.dispose();
      if (engine === 'PostgreSQL') await dropSchema(schema);
    });

    test('finds comment bodies, quotes, tags, author names, article text and titles, with the contract fields', async () => {
      const body = await search(ann.token, { q: 'annex' });
      expect(body.items).toEqual([
        {
          kind: 'comment',
          documentId: article,
          documentTitle: 'Kandahar and Islamabad',
          threadId: thread,
          commentId: bobComment,
          snippet: 'Estimates of mining revenue differ; see the annex.',
          highlights: [[44, 49]],
          score: expect.any(Number),
          createdAt: expect.any(Number),
          author: { id: bob.id, name: 'Bob Okonkwo' },
        },
      ]);
      expect(body.nextCursor).toBeNull();
      // The quote of the thread finds its comments; "Durand" is also in the article's text.
      const quote = await search(ann.token, { q: 'Durand', kind: 'comment' });
      expect(quote.items.map((i) => i.commentId).sort()).toHaveLength(2);
      expect(quote.items.every((i) => marked(i).includes('Durand'))).toBe(true);
      const tag = await search(ann.token, { q: 'economy' });
      expect(tag.items.filter((i) => i.kind === 'comment')).toHaveLength(2);
      expect(marked(tag.items[0]!)).toEqual(['economy']);
      const author = await search(ann.token, { q: 'Okonkwo' });
      expect(author.items.map((i) => [i.kind, i.commentId])).toEqual([['comment', bobComment]]);
      const text = await search(ann.token, { q: 'Durand', kind: 'article' });
      expect(text.items.length).toBeGreaterThanOrEqual(1);
      for (const i of text.items) {
        expect(i).toMatchObject({ kind: 'article', documentId: article, documentTitle: 'Kandahar and Islamabad' });
        expect(i.threadId).toBeUndefined();
        expect(marked(i)).toContain('Durand');
        expect(i.snippet.length).toBeLessThanOrEqual(210);
      }
      const title = await search(ann.token, { q: 'mining', kind: 'title' });
      expect(title.items).toEqual([
        expect.objectContaining({ kind: 'title', documentId: open, snippet: 'Mining notes', highlights: [[0, 6]] }),
      ]);
    });

    test('phrases in quotes, trailing * for prefixes, case- and diacritic-insensitive, English stemming', async () => {
      const phrase = await search(ann.token, { q: '"tungsten figures"' });
      expect(phrase.items.map((i) => i.kind)).toEqual(['comment']);
      expect(marked(phrase.items[0]!)).toEqual(['tungsten figures']);
      expect((await search(ann.token, { q: '"figures tungsten"' })).items).toEqual([]);
      // Stop words count in phrases and as words, alike on both engines ("were" is one of PostgreSQL's English
      // stop words; a phrase with another word in its place does not match).
      const stop = await search(ann.token, { q: '"figures were discussed"' });
      expect(stop.items.map((i) => [i.kind, i.threadId])).toEqual([['comment', thread]]);
      expect(marked(stop.items[0]!)).toEqual(['figures were discussed']);
      expect((await search(ann.token, { q: '"figures are discussed"' })).items).toEqual([]);
      expect((await search(ann.token, { q: '"the tungsten"' })).items.map((i) => i.kind)).toEqual(['comment']);
      expect((await search(ann.token, { q: 'were', kind: 'comment' })).items.map((i) => i.threadId)).toEqual([thread]);
      const prefix = await search(ann.token, { q: 'Kandah*', kind: 'title' });
      expect(prefix.items.map((i) => i.documentId)).toEqual([article]);
      expect(marked(prefix.items[0]!)).toEqual(['Kandahar']);
      expect((await search(ann.token, { q: 'Kandah', kind: 'title' })).items).toEqual([]);
      // case and diacritics, both ways
      expect((await search(ann.token, { q: 'MEDECINS frontieres' })).items).toHaveLength(1);
      const accented = await search(ann.token, { q: 'Dúrand', kind: 'article' });
      expect(accented.items.length).toBeGreaterThanOrEqual(1);
      // stemming: "discussing" finds "discussed", "estimate" finds "Estimates"
      const stemmed = await search(ann.token, { q: 'discussing', kind: 'comment' });
      expect(stemmed.items).toHaveLength(1);
      expect(marked(stemmed.items[0]!)).toEqual(['discussed']);
      expect((await search(ann.token, { q: 'estimate', kind: 'comment' })).items.map((i) => i.commentId)).toEqual([
        bobComment,
      ]);
      // every term must match
      expect((await search(ann.token, { q: 'tungsten annex' })).items).toEqual([]);
    });

    test('text that looks like engine syntax is searched for literally; bad parameters are a 400 that says why', async () => {
      for (const q of [
        'tungsten OR annex',
        'NEAR(tungsten annex)',
        "tungsten' | annex",
        'body:annex',
        '(annex',
        'annex)))',
        '"annex',
        '-annex',
        'annex:*',
      ]) {
        const r = await api(server.url, ann.token).get(`/search?${new URLSearchParams({ q })}`);
        expect({ q, status: r.status }).toEqual({ q, status: 200 });
      }
      expect((await search(ann.token, { q: '(annex' })).items.map((i) => i.commentId)).toEqual([bobComment]);
      expect((await search(ann.token, { q: 'tungsten OR annex' })).items).toEqual([]);
      const bad: [Record<string, string>, RegExp][] = [
        [{ q: 'x', status: 'closed' }, /status/],
        [{ q: 'x', kind: 'everything' }, /kind/],
        [{ q: 'x', limit: '0' }, /limit/],
        [{ q: 'x', limit: '1000' }, /limit/],
        [{ q: 'x', cursor: 'not-a-cursor' }, /cursor/],
        [{ q: 'x'.repeat(501) }, /at most 500/],
        [{ q: '!!! ***' }, /no words/],
        [{ kind: 'article' }, /q is required/],
        [{ q: 'x', document: '../etc' }, /document/],
      ];
      for (const [query, message] of bad) {
        const r = await api(server.url, ann.token).get(`/search?${new URLSearchParams(query)}`);
        expect({ query, status: r.status }).toEqual({ query, status: 400 });
        expect(r.body.error).toMatch(message);
      }
      expect((await api(server.url).get('/search?q=annex')).status).toBe(401);
    });

    test('q empty with filters lists matching comments newest first; filters by tag, author, status, document, kind', async () => {
      const all = await search(ann.token, { document: article });
      expect(all.items.map((i) => i.commentId)).toHaveLength(2);
      expect(all.items[0]!.commentId).toBe(bobComment);
      expect(all.items[0]!.createdAt!).toBeGreaterThanOrEqual(all.items[1]!.createdAt!);
      expect(all.items.every((i) => i.kind === 'comment' && i.highlights.length === 0)).toBe(true);
      expect((await search(ann.token, { authors: bob.id })).items.map((i) => i.commentId)).toEqual([bobComment]);
      expect((await search(ann.token, { authors: `${ann.id},${bob.id}` })).items).toHaveLength(2);
      expect((await search(ann.token, { tags: 'economy' })).items).toHaveLength(2);
      expect((await search(ann.token, { tags: 'econ' })).items).toEqual([]);
      expect((await search(ann.token, { q: 'tungsten', tags: 'economy' })).items).toHaveLength(1);
      expect((await search(ann.token, { status: 'resolved' })).items).toEqual([]);
      expect((await search(ann.token, { q: 'tungsten', document: open })).items.map((i) => i.kind)).toEqual([
        'article',
      ]);
      expect((await search(ann.token, { q: 'tungsten', kind: 'article' })).items.map((i) => i.documentId)).toEqual([
        open,
      ]);
      // resolving the thread reaches the index
      const patch = await api(server.url, ann.token).patch(`/documents/${article}/threads/${thread}`, {
        status: 'resolved',
      });
      expect(patch.status).toBe(200);
      await until(ann.token, { status: 'resolved' }, (p) => p.items.length === 2);
      expect((await search(ann.token, { status: 'open' })).items).toEqual([]);
      await api(server.url, ann.token).patch(`/documents/${article}/threads/${thread}`, { status: 'open' });
      await until(ann.token, { status: 'open' }, (p) => p.items.length === 2);
    });

    test('pages follow nextCursor without repeating or skipping', async () => {
      const first = await search(ann.token, { q: 'Taliban', limit: '2' });
      expect(first.items).toHaveLength(2);
      expect(first.nextCursor).toEqual(expect.any(String));
      const seen = [...first.items];
      let cursor = first.nextCursor;
      while (cursor) {
        const page = await search(ann.token, { q: 'Taliban', limit: '2', cursor });
        seen.push(...page.items);
        cursor = page.nextCursor;
      }
      const whole = await search(ann.token, { q: 'Taliban', limit: '100' });
      expect(seen.map((i) => i.snippet)).toEqual(whole.items.map((i) => i.snippet));
      expect(whole.items.length).toBeGreaterThan(2);
      const scores = whole.items.map((i) => i.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    });

    test('only documents the caller may read: members, not others; guests only documents open to guests', async () => {
      expect((await search(bob.token, { q: 'tungsten' })).items.map((i) => i.documentId).sort()).toEqual(
        [article, open].sort(),
      );
      // carol is signed in but a member of nothing: the guest-open document only
      expect((await search(carol.token, { q: 'tungsten' })).items.map((i) => i.documentId)).toEqual([open]);
      expect((await search(carol.token, { q: 'Durand' })).items).toEqual([]);
      expect((await search(carol.token, { document: article })).items).toEqual([]);
      expect((await search(guest, { q: 'tungsten' })).items.map((i) => i.documentId)).toEqual([open]);
      expect((await search(guest, {})).items).toEqual([]);
      expect((await search(server.adminToken, { q: 'annex' })).items).toHaveLength(1);
    });

    test('a removed member finds nothing of the document at once', async () => {
      const dave = await addMember(server, article, 'dave', 'Dave Ito', 'viewer');
      expect((await search(dave.token, { q: 'annex' })).items).toHaveLength(1);
      expect((await api(server.url, ann.token).delete(`/documents/${article}/members/dave`)).status).toBe(204);
      expect((await search(dave.token, { q: 'annex' })).items).toEqual([]);
      expect((await search(dave.token, { q: 'Durand' })).items).toEqual([]);
    });

    test('a deleted comment leaves the index; a deleted document takes all its rows', async () => {
      const a = api(server.url, ann.token);
      const t = await a.post(`/documents/${article}/threads`, {
        exact: 'birthplace capital',
        body: 'Zanzibar cloves, briefly.',
      });
      expect(t.status).toBe(201);
      const found = await until(ann.token, { q: 'zanzibar' }, (p) => p.items.length === 1);
      expect(found.items[0]!.commentId).toBe(t.body.commentId);
      expect((await a.delete(`/documents/${article}/threads/${t.body.id}/comments/${t.body.commentId}`)).status).toBe(
        204,
      );
      await until(ann.token, { q: 'zanzibar' }, (p) => p.items.length === 0);
      const doomed = await createDocument(server.url, ann.token, 'Quokka sightings on the island.', {
        title: 'Quokka census',
      });
      expect((await search(ann.token, { q: 'quokka' })).items.map((i) => i.kind).sort()).toEqual(['article', 'title']);
      expect((await a.delete(`/documents/${doomed}`)).status).toBe(204);
      expect((await search(server.adminToken, { q: 'quokka' })).items).toEqual([]);
    });

    test('unread: comments by others since each reader last viewed the document, for two readers', async () => {
      const a = api(server.url, ann.token);
      const b = api(server.url, bob.token);
      const doc = await createDocument(server.url, ann.token, 'The harbour dues were raised twice this year.');
      expect((await a.put(`/documents/${doc}/members/bob`, { role: 'commenter' })).status).toBe(200);
      const unread = async (who: typeof a) =>
        ((await who.get('/documents')).body as { id: string; unreadComments: number }[]).find((d) => d.id === doc)!
          .unreadComments;
      const settled = (who: typeof a, n: number) =>
        waitFor(async () => (await unread(who)) === n, { message: `${n} unread` });
      expect(await unread(a)).toBe(0);
      expect(await unread(b)).toBe(0);
      const t = await a.post(`/documents/${doc}/threads`, { exact: 'harbour dues', body: 'Twice?' });
      expect(t.status).toBe(201);
      await a.post(`/documents/${doc}/threads/${t.body.id}/comments`, { body: 'Once in March, once in June.' });
      await settled(b, 2);
      expect(await unread(a)).toBe(0); // one's own comments are not new to one
      const seen = await b.post(`/documents/${doc}/seen`);
      expect(seen.status).toBe(200);
      expect(seen.body.lastSeenAt).toEqual(expect.any(Number));
      expect(await unread(b)).toBe(0);
      expect((await b.get(`/documents/${doc}`)).body).toMatchObject({
        unreadComments: 0,
        lastSeenAt: seen.body.lastSeenAt,
      });
      await b.post(`/documents/${doc}/threads/${t.body.id}/comments`, { body: 'June is wrong.' });
      await settled(a, 1);
      expect(await unread(b)).toBe(0);
      expect((await a.post(`/documents/${doc}/seen`)).status).toBe(200);
      expect(await unread(a)).toBe(0);
      await a.post(`/documents/${doc}/threads/${t.body.id}/comments`, { body: 'It is right.' });
      await settled(b, 1);
      expect((await api(server.url, carol.token).post(`/documents/${doc}/seen`)).status).toBe(403);
      expect((await api(server.url, guest).post(`/documents/${open}/seen`)).body).toEqual({ lastSeenAt: null });
    });

    test("the W3C export's annotation ids send a browser to the thread's permalink; other clients get JSON", async () => {
      const w3c = await api(server.url, ann.token).get(`/documents/${article}/export?format=w3c`);
      const ids: string[] = JSON.parse(w3c.text).first.items.map((a: { id: string }) => a.id);
      const threadId = ids.find((i) => i.endsWith(`/threads/${thread}`))!;
      expect(threadId).toBeTruthy();
      const path = new URL(threadId).pathname;
      const asBrowser = await fetch(`${server.url}${path}`, {
        headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
        redirect: 'manual',
      });
      expect(asBrowser.status).toBe(303);
      expect(asBrowser.headers.get('location')).toBe(`/d/${article}/t/${thread}`);
      const reply = await fetch(`${server.url}${path}/comments/${bobComment}`, {
        headers: { accept: 'text/html' },
        redirect: 'manual',
      });
      expect(reply.headers.get('location')).toBe(`/d/${article}/t/${thread}/c/${bobComment}`);
      const asScript = await api(server.url, ann.token).get(path.replace(/^\/api/, ''));
      expect(asScript.status).toBe(200);
      expect(asScript.body.id).toBe(thread);
    });
  });
}
