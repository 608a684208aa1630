/**
 * Version history (docs/API.md "Versions"): versions keep their own state through restarts and compaction on both
 * engines; reading at a version answers what the document was; the diff says who wrote what; a restore is a new
 * change that connected clients receive; a new revision of the article edits only what changed, so the threads on
 * untouched passages stay exact and no anchor points at text other than its quote.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { articleText } from '@marginalia/shared';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { openPostgresStorage } from '@marginalia/server/storage/postgres.js';
import type { Storage } from '@marginalia/server/storage/types.js';
import { CLI, addMember, api, createDocument, startServer, tempDir, type TestServer } from '../support/server.js';
import { connectClient, type TestClient } from '../support/clients.js';
import { deleteRange, openArticleEditor, insertTextAt, type ArticleEditor } from '../support/lexical.js';
import { POSTGRES_URL, describeIfService, dropSchema, postgresReachable, uniqueSchema } from '../support/services.js';
import { waitFor } from '../support/wait.js';

const here = dirname(fileURLToPath(import.meta.url));
const SEED_PATH = [
  join(here, '../fixtures/oped-kandahar-islamabad.txt'),
  join(here, '../../../shared/fixtures/oped-kandahar-islamabad.txt'),
].find((p) => existsSync(p));

const pgAvailable = await postgresReachable();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Versions recorded at every projected batch, projected at once, the log compacted every few entries. */
const FAST = {
  MARGINALIA_VERSION_INTERVAL_MS: '0',
  MARGINALIA_PROJECTION_DELAY_MS: '0',
  MARGINALIA_COMPACT_AFTER_UPDATES: '4',
  MARGINALIA_SAMPLE: '0',
};

async function server(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startServer({ env: { ...FAST, ...env } });
  cleanups.push(() => s.dispose());
  return s;
}

interface VersionItem {
  id: string;
  name: string | null;
  createdAt: number;
  createdBy: string | null;
  automatic: boolean;
}

const versionsOf = async (s: TestServer, docId: string, token = s.adminToken): Promise<VersionItem[]> => {
  const r = await api(s.url, token).get(`/documents/${docId}/versions`);
  expect(r.status).toBe(200);
  return r.body as VersionItem[];
};

/** What a reader sees of the document: text, threads, exports (optionally at a version). */
async function views(s: TestServer, docId: string, version?: string) {
  const a = api(s.url, s.adminToken);
  const q = version ? `version=${version}` : '';
  const text = await a.get(`/documents/${docId}/text${q ? `?${q}` : ''}`);
  const threads = await a.get(`/documents/${docId}/threads${q ? `?${q}` : ''}`);
  const md = await a.get(`/documents/${docId}/export?format=md${q ? `&${q}` : ''}`);
  const json = await a.get(`/documents/${docId}/export?format=json${q ? `&${q}` : ''}`);
  for (const r of [text, threads, md, json]) expect(r.status).toBe(200);
  const dump = json.body as Record<string, unknown>;
  delete dump.exportedAt;
  return { text: text.text, threads: threads.body as unknown[], md: md.text, json: dump };
}

const ARTICLE = [
  'The first paragraph talks about rivers and the sea.',
  'The second paragraph is about mountains and valleys.',
  'The third paragraph describes the weather in spring.',
].join('\n\n');

async function thread(s: TestServer, docId: string, exact: string, token = s.adminToken): Promise<string> {
  const r = await api(s.url, token).post(`/documents/${docId}/threads`, { exact, body: `on "${exact}"` });
  if (r.status !== 201) throw new Error(`thread on ${exact}: ${r.status} ${r.text}`);
  return r.body.id as string;
}

const engines: [string, boolean, () => Promise<{ env: Record<string, string>; open: () => Promise<Storage> }>][] = [
  [
    'sqlite',
    true,
    async () => {
      const dir = tempDir();
      cleanups.push(() => dir.remove());
      return {
        env: { DATA_DIR: dir.path },
        open: () => openSqliteStorage(join(dir.path, 'marginalia.db')),
      };
    },
  ],
  [
    'postgres',
    pgAvailable,
    async () => {
      const schema = uniqueSchema('versions');
      cleanups.push(() => dropSchema(schema));
      return {
        env: { DATABASE_URL: POSTGRES_URL, MARGINALIA_PG_SCHEMA: schema },
        open: () => openPostgresStorage({ connectionString: POSTGRES_URL, schema }),
      };
    },
  ],
];

for (const [engine, available, setup] of engines) {
  describeIfService('PostgreSQL', available)(`versions on ${engine}`, () => {
    test('automatic and named versions keep their state across compaction and restart', async () => {
      const { env, open } = await setup();
      // startServer makes its own DATA_DIR unless given one: pass it through so the sqlite file is where we look.
      const s = await startServer({ env: { ...FAST, ...env }, ...(env.DATA_DIR ? { dataDir: env.DATA_DIR } : {}) });
      cleanups.push(() => s.dispose());
      const docId = await createDocument(s.url, s.adminToken, ARTICLE);
      await thread(s, docId, 'rivers');
      // The projector records an automatic version of the changed document.
      const auto = await waitFor(async () => (await versionsOf(s, docId)).find((v) => v.automatic), {
        message: 'an automatic version',
      });
      expect(auto.name).toBeNull();

      const named = await api(s.url, s.adminToken).post(`/documents/${docId}/versions`, { name: 'First draft' });
      expect(named.status).toBe(201);
      const kept = await views(s, docId);
      expect(kept.threads).toHaveLength(1);

      // Many more changes: the log is compacted several times over; the article changes too.
      for (let i = 0; i < 12; i++) await thread(s, docId, i % 2 ? 'mountains' : 'weather');
      const revised = await api(s.url, s.adminToken).put(`/documents/${docId}/article`, {
        format: 'text',
        content: ARTICLE.replace('rivers and the sea', 'lakes and the ocean'),
      });
      expect(revised.status).toBe(200);
      expect((await views(s, docId)).text).toContain('lakes and the ocean');

      const listed = await versionsOf(s, docId);
      expect(listed.map((v) => v.createdAt)).toEqual([...listed.map((v) => v.createdAt)].sort((a, b) => b - a));
      expect(listed.find((v) => v.id === named.body.id)).toMatchObject({ name: 'First draft', automatic: false });

      await s.stop();
      const storage = await open();
      try {
        // Compaction ran: the log was folded into a snapshot past the named version.
        const snap = await storage.db.selectFrom('snapshots').select('upto_seq').where('doc_id', '=', docId).execute();
        expect(snap).toHaveLength(1);
        expect(Number(snap[0]!.upto_seq)).toBeGreaterThan(4);
      } finally {
        await storage.close();
      }
      await s.restart();

      // Every version listed before is still there (the projector may have recorded more since).
      expect((await versionsOf(s, docId)).map((v) => v.id)).toEqual(expect.arrayContaining(listed.map((v) => v.id)));
      expect(await views(s, docId, named.body.id)).toEqual(kept);
      // The first automatic version: the document before the named one, with its one thread.
      const first = await views(s, docId, auto.id);
      expect(first.text).toBe(ARTICLE);
    });
  });
}

describe('versions over REST', () => {
  test('unknown versions are 404; names and rights are checked; nothing changes', async () => {
    const s = await server();
    const docId = await createDocument(s.url, s.adminToken, ARTICLE);
    const a = api(s.url, s.adminToken);
    for (const path of [
      `/documents/${docId}/text?version=nope`,
      `/documents/${docId}/threads?version=nope`,
      `/documents/${docId}/export?format=md&version=nope`,
      `/documents/${docId}/diff?from=nope&to=current`,
    ]) {
      expect((await a.get(path)).status).toBe(404);
    }
    expect((await a.post(`/documents/${docId}/versions/nope/restore`)).status).toBe(404);
    expect((await a.post(`/documents/${docId}/versions`, { name: '  ' })).status).toBe(400);
    expect((await a.get(`/documents/${docId}/diff`)).status).toBe(400);
    expect((await a.put(`/documents/${docId}/article`, { format: 'text', content: '' })).status).toBe(400);
    expect((await a.put(`/documents/${docId}/article`, { format: 'pdf', content: 'x' })).status).toBe(400);
    expect((await a.put(`/documents/${docId}/article`, { format: 'text', content: '   \n\n ' })).status).toBe(422);

    const viewer = await addMember(s, docId, 'vera', 'Vera', 'viewer');
    const commenter = await addMember(s, docId, 'cole', 'Cole', 'commenter');
    expect((await versionsOf(s, docId, viewer.token)).length).toBeGreaterThanOrEqual(0);
    const named = await a.post(`/documents/${docId}/versions`, { name: 'v1' });
    expect(named.status).toBe(201);
    for (const token of [viewer.token, commenter.token]) {
      const as = api(s.url, token);
      expect((await as.post(`/documents/${docId}/versions`, { name: 'mine' })).status).toBe(403);
      expect((await as.post(`/documents/${docId}/versions/${named.body.id}/restore`)).status).toBe(403);
      expect((await as.put(`/documents/${docId}/article`, { format: 'text', content: 'Other text.' })).status).toBe(
        403,
      );
    }
    expect((await a.get(`/documents/${docId}/text`)).text).toBe(ARTICLE);
    expect((await versionsOf(s, docId)).filter((v) => !v.automatic).map((v) => v.name)).toEqual(['v1']);
  });

  test('the diff attributes each insertion and deletion to the editor who made it', async () => {
    const s = await server();
    const docId = await createDocument(s.url, s.adminToken, ARTICLE);
    const ann = await addMember(s, docId, 'ann', 'Ann Editor', 'editor');
    const bob = await addMember(s, docId, 'bob', 'Bob Editor', 'editor');
    const before = await api(s.url, s.adminToken).post(`/documents/${docId}/versions`, { name: 'before' });
    expect(before.status).toBe(201);

    const typists: { client: TestClient; editor: ArticleEditor }[] = [];
    cleanups.push(() => {
      for (const t of typists) {
        t.editor.destroy();
        t.client.destroy();
      }
    });
    for (const m of [ann, bob]) {
      const client = connectClient(s.wsUrl, docId, m.token);
      await client.synced();
      typists.push({ client, editor: openArticleEditor(client.doc) });
    }
    // Ann adds a word to the first paragraph, Bob to the third, at the same time.
    const first = ARTICLE.indexOf(' and the sea');
    const third = ARTICLE.indexOf(' in spring');
    await Promise.all([
      insertTextAt(typists[0]!.editor, first, ' swiftly'),
      insertTextAt(typists[1]!.editor, third, ' mostly'),
    ]);
    const expected = ARTICLE.replace(' and the sea', ' swiftly and the sea').replace(' in spring', ' mostly in spring');
    await waitFor(async () => (await api(s.url, s.adminToken).get(`/documents/${docId}/text`)).text === expected, {
      message: 'both edits on the server',
    });

    const diff = await api(s.url, ann.token).get(`/documents/${docId}/diff?from=${before.body.id}&to=current`);
    expect(diff.status).toBe(200);
    const inserts = (diff.body.article as { op: string; text: string; at: number; by: string }[]).filter(
      (c) => c.op === 'insert',
    );
    expect(inserts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ text: expect.stringContaining('swiftly'), by: ann.id }),
        expect.objectContaining({ text: expect.stringContaining('mostly'), by: bob.id }),
      ]),
    );
    for (const c of inserts) expect(expected.slice(c.at, c.at + c.text.length)).toBe(c.text);
    expect(diff.body.authors).toEqual(
      expect.arrayContaining([
        { id: ann.id, name: 'Ann Editor', inserted: 'swiftly'.length, deleted: 0 },
        { id: bob.id, name: 'Bob Editor', inserted: 'mostly'.length, deleted: 0 },
      ]),
    );

    // Deletions: Yjs records no deleter; the server notes who sent each deletion as it arrives.
    const remove = async (who: number, words: string) => {
      const { client, editor } = typists[who]!;
      const at = articleText(client.doc).indexOf(words);
      await deleteRange(editor, at, at + words.length);
      const want = articleText(client.doc);
      await waitFor(async () => (await api(s.url, s.adminToken).get(`/documents/${docId}/text`)).text === want, {
        message: `the deletion of "${words}" on the server`,
      });
    };
    await remove(0, 'mountains and ');
    await remove(1, 'the weather ');
    const withDeletions = await waitFor(
      async () => {
        const d = await api(s.url, ann.token).get(`/documents/${docId}/diff?from=${before.body.id}&to=current`);
        const authors = d.body.authors as { id: string; deleted: number }[];
        const deleted = (id: string) => authors.find((a) => a.id === id)?.deleted;
        return deleted(ann.id) === 'mountainsand'.length && deleted(bob.id) === 'theweather'.length ? d : null;
      },
      { message: 'the deletions attributed' },
    );
    const deletedBy = (id: string) =>
      (withDeletions.body.article as { op: string; text: string; by: string }[])
        .filter((c) => c.op === 'delete' && c.by === id)
        .map((c) => c.text)
        .join('|');
    expect(deletedBy(ann.id)).toContain('mountains');
    expect(deletedBy(bob.id)).toContain('weather');
    expect(withDeletions.body.authors).toEqual(
      expect.arrayContaining([
        { id: ann.id, name: 'Ann Editor', inserted: 'swiftly'.length, deleted: 'mountainsand'.length },
        { id: bob.id, name: 'Bob Editor', inserted: 'mostly'.length, deleted: 'theweather'.length },
      ]),
    );

    // Thread events between two versions.
    const t = await thread(s, docId, 'valleys', ann.token);
    await api(s.url, bob.token).post(`/documents/${docId}/threads/${t}/comments`, { body: 'agreed' });
    await api(s.url, bob.token).patch(`/documents/${docId}/threads/${t}`, { status: 'resolved' });
    const threadsDiff = await api(s.url, ann.token).get(`/documents/${docId}/diff?from=${before.body.id}`);
    expect(threadsDiff.body.threads).toEqual([
      { op: 'created', threadId: t, by: ann.id },
      { op: 'commented', threadId: t, commentId: expect.any(String), by: bob.id },
      { op: 'resolved', threadId: t, by: bob.id },
    ]);
  });

  test('a restore is a new change that a connected client receives; threads stay', async () => {
    const s = await server();
    const docId = await createDocument(s.url, s.adminToken, ARTICLE);
    await thread(s, docId, 'mountains');
    const v1 = await api(s.url, s.adminToken).post(`/documents/${docId}/versions`, { name: 'original' });
    const changed = ARTICLE.replace('The second paragraph', 'A rewritten second paragraph').concat(
      '\n\nA fourth paragraph, added later.',
    );
    expect(
      (await api(s.url, s.adminToken).put(`/documents/${docId}/article`, { format: 'text', content: changed })).status,
    ).toBe(200);

    const client = connectClient(s.wsUrl, docId, s.adminToken);
    cleanups.push(() => client.destroy());
    await client.synced();
    expect(articleText(client.doc)).toBe(changed);
    const countBefore = (await versionsOf(s, docId)).length;

    const restored = await api(s.url, s.adminToken).post(`/documents/${docId}/versions/${v1.body.id}/restore`);
    expect(restored.status).toBe(200);
    expect(restored.body.version).toEqual(expect.any(String));
    // The client, connected throughout, receives the restore as an update.
    await waitFor(() => articleText(client.doc) === ARTICLE, { message: 'the restored article at the client' });
    expect((await api(s.url, s.adminToken).get(`/documents/${docId}/text`)).text).toBe(ARTICLE);
    // History is kept: the state before the restore is a version, and reading it gives the changed text.
    const after = await versionsOf(s, docId);
    expect(after.length).toBeGreaterThan(countBefore);
    expect((await api(s.url, s.adminToken).get(`/documents/${docId}/text?version=${restored.body.version}`)).text).toBe(
      changed,
    );
    const threads = (await api(s.url, s.adminToken).get(`/documents/${docId}/threads`)).body as {
      quote: { exact: string };
      start: number;
      end: number;
    }[];
    expect(threads).toHaveLength(1);
    expect(ARTICLE.slice(threads[0]!.start, threads[0]!.end)).toBe('mountains');
  });
});

describe('a new revision of the seed article', () => {
  const seed = SEED_PATH ? readFileSync(SEED_PATH, 'utf8') : '';
  // Paragraphs as the importer reads them: split at blank lines, trailing whitespace cut (leading kept).
  const paragraphs = seed
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.trimEnd())
    .filter((p) => p.trim() !== '');
  const CHANGED_FROM = 'Pakistan hosted two conferences of the Organization of Islamic Cooperation (OIC)';
  const CHANGED_TO = 'Pakistan organised two summits of the Organization of Islamic Cooperation (OIC)';
  const DELETED = paragraphs.findIndex((p) => p.startsWith('Another concern is the potential'));
  const INSERT_AFTER = paragraphs.findIndex((p) => p.startsWith('The resettlement of TTP militants'));
  const INSERTED = 'A new paragraph, added in the second edition, about the border crossings at Torkham and Chaman.';
  const revisedParagraphs = () => {
    const out = paragraphs.map((p) => p.replace(CHANGED_FROM, CHANGED_TO));
    out.splice(INSERT_AFTER + 1, 0, INSERTED);
    out.splice(DELETED, 1);
    return out;
  };
  const untouched = [
    'marked a turning point in the country’s history',
    'hosted reconciliation meetings between the Pakistani military',
    'predominantly affecting Pashtuns and Baloch',
    'The international community can end Pakistan and Taliban seek and hide game',
  ];
  const onChanged = ['two conferences of the Organization', 'a conduit for international aid to Afghanistan'];

  const maybe = SEED_PATH ? test : test.skip;
  maybe('threads on untouched passages stay exact, the others move or are orphaned, none is misplaced', async () => {
    const s = await server();
    const docId = await createDocument(s.url, s.adminToken, seed);
    const a = api(s.url, s.adminToken);
    const oldText = (await a.get(`/documents/${docId}/text`)).text;
    const ids = new Map<string, string>();
    for (const q of [...untouched, ...onChanged]) ids.set(q, await thread(s, docId, q));

    const content = revisedParagraphs().join('\n\n');
    const preview = await a.put(`/documents/${docId}/article?dryRun=true`, { format: 'text', content });
    expect(preview.status).toBe(200);
    expect(preview.body.version).toBeNull();
    expect((await a.get(`/documents/${docId}/text`)).text).toBe(oldText);

    const r = await a.put(`/documents/${docId}/article`, { format: 'text', content });
    expect(r.status).toBe(200);
    expect(r.body.anchors).toEqual(preview.body.anchors);
    expect(r.body.anchors.exact).toBeGreaterThanOrEqual(untouched.length);
    expect(r.body.anchors.exact + r.body.anchors.moved + r.body.anchors.orphaned).toBe(ids.size);

    const newText = (await a.get(`/documents/${docId}/text`)).text;
    expect(newText).toBe(
      oldText
        .replace(CHANGED_FROM, CHANGED_TO)
        .replace(paragraphs[INSERT_AFTER]!, `${paragraphs[INSERT_AFTER]!}\n\n${INSERTED}`)
        .replace(`${paragraphs[DELETED]!}\n\n`, ''),
    );
    const threads = (await a.get(`/documents/${docId}/threads`)).body as {
      id: string;
      quote: { exact: string };
      start: number | null;
      end: number | null;
      anchorState: string;
    }[];
    // Nothing re-created: the same threads.
    expect(new Set(threads.map((t) => t.id))).toEqual(new Set(ids.values()));
    const byId = new Map(threads.map((t) => [t.id, t]));
    for (const q of untouched) {
      const t = byId.get(ids.get(q)!)!;
      expect(t.anchorState).toBe('exact');
      // Shifted by exactly what changed before it.
      expect(t.start).toBe(newText.indexOf(q));
    }
    for (const q of onChanged) expect(['moved', 'orphan']).toContain(byId.get(ids.get(q)!)!.anchorState);
    // No anchor points at text other than its quote.
    for (const t of threads) if (t.start !== null) expect(newText.slice(t.start, t.end!)).toBe(t.quote.exact);
    const counts = { exact: 0, moved: 0, orphaned: 0 };
    for (const t of threads) counts[t.anchorState === 'orphan' ? 'orphaned' : (t.anchorState as 'exact')]++;
    expect(r.body.anchors).toEqual(counts);
    // The article as it was is kept.
    expect((await a.get(`/documents/${docId}/text?version=${r.body.version}`)).text).toBe(oldText);
  });

  maybe('the CLI applies a revision to a stored document the same way', async () => {
    const s = await server();
    const docId = await createDocument(s.url, s.adminToken, seed);
    const id = await thread(s, docId, untouched[2]!);
    await s.stop();
    const file = join(s.dataDir, 'revision.txt');
    writeFileSync(file, revisedParagraphs().join('\n\n'));
    const out = spawnSync(process.execPath, [CLI, 'update-article', docId, file], {
      env: { ...process.env, DATA_DIR: s.dataDir, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    expect(out.status).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ anchors: { exact: 1, moved: 0, orphaned: 0 } });
    await s.restart();
    const a = api(s.url, s.adminToken);
    const text = (await a.get(`/documents/${docId}/text`)).text;
    expect(text).toContain(INSERTED);
    const [t] = (await a.get(`/documents/${docId}/threads`)).body as { id: string; start: number }[];
    expect(t).toMatchObject({ id, anchorState: 'exact', start: text.indexOf(untouched[2]!) });
  });
});
