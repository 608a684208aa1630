// Search benchmark: N documents (the seed article each) with M comments in all, indexed as the projector indexes
// them; then 10 query shapes, 50 queries each, through the same function GET /api/search runs, as a member of
// every document. Prints p50/p95/p99 per shape and overall, and the index size per comment.
//
//   node bench/search/search-bench.mjs [--docs 1000] [--comments 100000] [--pg postgres://postgres@127.0.0.1/test]
//                                      [--keep] [--schema bench_search_… (reuse a kept PostgreSQL schema)]
//
// Build first (node scripts/build.mjs). Uses server/dist and the fixture ../shared/fixtures/oped-kandahar-islamabad.txt.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as Y from 'yjs';
import { createThread, addComment, setThreadStatus } from '@marginalia/shared';
import { openSqliteStorage } from '../../server/dist/storage/sqlite.js';
import { openPostgresStorage } from '../../server/dist/storage/postgres.js';
import { createDocument } from '../../server/dist/documents.js';
import { documentSearchRows } from '../../server/dist/search/rows.js';
import { writeSearchRows, storedDocument, search } from '../../server/dist/search/store.js';
import { parseQuery } from '../../server/dist/search/query.js';
import { sql } from 'kysely';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const DOCS = Number(arg('docs', 1000));
const COMMENTS = Number(arg('comments', 100_000));
const PG = arg('pg', null);
// --schema NAME (PostgreSQL, with --keep from an earlier run): search the index that run loaded instead of loading one.
const REUSE = arg('schema', null);
const ARTICLE = readFileSync(join(here, '..', '..', '..', 'shared', 'fixtures', 'oped-kandahar-islamabad.txt'), 'utf8');

let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(random() * a.length)];
const WORDS = [...new Set(ARTICLE.toLowerCase().match(/[a-z]{4,}/g))];
const RARE = ['copper', 'tungsten', 'médecins', 'zanzibar', 'quokka', 'figures', 'estimates', 'discussed'];
const sentence = (n) => Array.from({ length: n }, () => (random() < 0.02 ? pick(RARE) : pick(WORDS))).join(' ');

async function open() {
  if (PG) {
    const schema = REUSE ?? `bench_search_${Date.now()}`;
    const storage = await openPostgresStorage({ connectionString: PG, schema });
    return {
      storage,
      // search_rows (with its indexes and TOAST) and the vectors' table with its GIN index (0007_search_speed).
      size: async () =>
        Number(
          (
            await sql`SELECT pg_total_relation_size('search_rows') + coalesce(pg_total_relation_size(to_regclass('search_vectors')), 0) AS n`.execute(
              storage.db,
            )
          ).rows[0].n,
        ),
      done: async () => {
        if (process.argv.includes('--keep') || REUSE) console.log(`kept schema ${schema}`);
        else await sql.raw(`DROP SCHEMA ${schema} CASCADE`).execute(storage.db);
        await storage.close();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'marginalia-search-bench-'));
  const storage = await openSqliteStorage(join(dir, 'm.db'));
  return {
    storage,
    size: async () => {
      const rows = await sql`SELECT name, sum(pgsize) AS n FROM dbstat WHERE name LIKE 'search%' GROUP BY name`
        .execute(storage.db)
        .catch(() => null);
      return rows ? rows.rows.reduce((s, r) => s + Number(r.n), 0) : NaN;
    },
    done: async () => {
      await storage.close();
      if (process.argv.includes('--keep')) console.log(`kept ${join(dir, 'm.db')}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

const { storage, size, done } = await open();
const engine = storage.kind;
console.log(`engine ${engine}: ${DOCS} documents, ${COMMENTS} comments`);
if (REUSE) {
  console.log(`searching the index kept in schema ${REUSE}`);
} else {
  await storage.createUser({
    id: 'u1',
    username: 'reader',
    name: 'Reader',
    passwordHash: 'x',
    isAdmin: false,
    createdAt: 1,
  });
  await storage.createUser({
    id: 'u2',
    username: 'other',
    name: 'Other',
    passwordHash: 'x',
    isAdmin: false,
    createdAt: 1,
  });

  // One imported article, copied into every document with its own comments.
  const baseId = await createDocument(storage, {
    title: 'Seed',
    format: 'text',
    content: ARTICLE,
    guestRole: null,
    createdBy: 'u1',
    ownerId: 'u1',
  });
  const base = (await storedDocument(storage.log, baseId)).doc;
  const baseUpdate = Y.encodeStateAsUpdate(base);
  const textLength = ARTICLE.length - 200;
  const perDoc = Math.floor(COMMENTS / DOCS);
  let t0 = performance.now();
  const emptyRows = (
    await storage.db
      .selectFrom('search_rows')
      .select((e) => e.fn.countAll().as('n'))
      .executeTakeFirst()
  ).n;
  const sizeBefore = await size();
  for (let d = 0; d < DOCS; d++) {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, baseUpdate);
    let threadId = null;
    for (let c = 0; c < perDoc; c++) {
      const author = random() < 0.5 ? ['u1', 'Reader'] : ['u2', 'Other Person'];
      if (!threadId || random() < 0.4) {
        const start = Math.floor(random() * textLength);
        threadId = createThread(doc, {
          start,
          end: start + 20,
          createdBy: author[0],
          authorName: author[1],
          body: sentence(12),
          now: 1_700_000_000_000 + d * 1000 + c,
        }).threadId;
        if (random() < 0.3) setThreadStatus(doc, threadId, 'resolved', author[0]);
      } else {
        addComment(doc, threadId, {
          authorId: author[0],
          authorName: author[1],
          body: sentence(12),
          now: 1_700_000_000_000 + d * 1000 + c,
        });
      }
    }
    const id = `doc${d}`;
    const rows = documentSearchRows(doc);
    await storage.createDocument({
      record: {
        id,
        title: `${pick(WORDS)} ${pick(WORDS)} report ${d}`,
        guestRole: null,
        createdBy: 'u1',
        createdAt: 1,
        updatedAt: 1,
        threadCount: 0,
        commentCount: 0,
      },
      initialUpdate: Y.encodeStateAsUpdate(doc),
      members: [{ userId: 'u1', role: 'viewer' }],
      derived: (trx) => writeSearchRows(trx, id, rows),
    });
    doc.destroy();
    if (d % 100 === 99) process.stdout.write(`  ${d + 1} documents (${Math.round(performance.now() - t0)} ms)\n`);
  }
  console.log(`indexed in ${Math.round(performance.now() - t0)} ms`);
  // The planner's statistics after a bulk load (PostgreSQL's autovacuum would gather them shortly; SQLite keeps none
  // until asked).
  await sql`ANALYZE`.execute(storage.db);
  const counted = await storage.db
    .selectFrom('search_rows')
    .select((e) => e.fn.countAll().as('n'))
    .where('kind', '=', 'comment')
    .executeTakeFirst();
  const bytes = (await size()) - sizeBefore;
  console.log(
    `comment rows ${counted.n} (rows before ${emptyRows}); index ${(bytes / 1024 / 1024).toFixed(1)} MiB, ${(bytes / Number(counted.n)).toFixed(0)} bytes per comment (all rows counted against comments)`,
  );
  base.destroy();
}

// The queries draw from their own sequence, the same whether the index was loaded now or kept.
seed = 4242;
const who = { id: 'u1', admin: false, guest: false };
const req = (over) => ({
  terms: [],
  tags: [],
  authors: [],
  status: null,
  document: null,
  kind: null,
  limit: 20,
  offset: 0,
  ...over,
});
const SHAPES = {
  'common word': () => req({ terms: parseQuery(pick(WORDS)) }),
  'rare word': () => req({ terms: parseQuery(pick(RARE)) }),
  'two words': () => req({ terms: parseQuery(`${pick(WORDS)} ${pick(WORDS)}`) }),
  phrase: () => {
    const words = ARTICLE.match(/[A-Za-z]+/g);
    const i = Math.floor(random() * (words.length - 3));
    return req({ terms: parseQuery(`"${words.slice(i, i + 3).join(' ')}"`) });
  },
  prefix: () => req({ terms: parseQuery(`${pick(WORDS).slice(0, 4)}*`) }),
  diacritics: () => req({ terms: parseQuery('medecins') }),
  'word + status': () => req({ terms: parseQuery(pick(WORDS)), status: 'resolved' }),
  'empty q, author': () => req({ authors: ['u2'] }),
  'word in one document': () => req({ terms: parseQuery(pick(WORDS)), document: `doc${Math.floor(random() * DOCS)}` }),
  titles: () => req({ terms: parseQuery('report'), kind: 'title' }),
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const all = [];
for (const [name, make] of Object.entries(SHAPES)) {
  const times = [];
  for (let i = 0; i < 50; i++) {
    const r = make();
    const t0 = performance.now();
    await search(storage.db, engine, who, r);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  all.push(...times);
  console.log(`  ${name.padEnd(22)} p50 ${pct(times, 50).toFixed(1)} ms  p95 ${pct(times, 95).toFixed(1)} ms`);
}
all.sort((a, b) => a - b);
console.log(
  `all ${all.length} queries: p50 ${pct(all, 50).toFixed(1)} ms, p95 ${pct(all, 95).toFixed(1)} ms, p99 ${pct(all, 99).toFixed(1)} ms`,
);
await done();
