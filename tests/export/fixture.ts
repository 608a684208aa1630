/**
 * The project's own export fixture: a short article with every kind of block and inline format, and threads that
 * cover the hard cases — nested and crossing passages, a passage across two blocks, a link, a heading, a nested list
 * item, a resolved thread, deleted and edited comments, a moved passage, an orphan, hostile comments — all with fixed
 * ids and times, so every export of it is the same byte for byte.
 */
import * as Y from 'yjs';
import { importArticle } from '@marginalia/server/article/import.js';
import {
  addComment,
  anchorFromQuote,
  createThread,
  deleteComment,
  editComment,
  initMeta,
  setTag,
  setThreadStatus,
  type ThreadTarget,
} from '@marginalia/shared';

export const FIXTURE_MARKDOWN = `# Night Trains and the Return of the Sleeper

Europe's night trains were written off twice: once by **cheap flights**, once by *high-speed rail*. Both times the obituary was premature. A [2023 survey](https://example.org/survey) found that one traveller in three would take a sleeper for trips under 1,000 km.

## Why they vanished

Operators cut routes in the 2000s because sleeping cars cost more to run than seats. Rolling stock aged; timetables thinned.

> The problem was never demand. It was the rolling stock.

- Ageing carriages
- Track access fees charged per kilometre
- Border checks

1. Fund new carriages
2. Harmonise access charges

## What comes next

\`Nightjet\` and a handful of start-ups are betting on overnight routes again; their success depends on pricing that beats a hotel night plus a flight.
`;

export const FIXTURE_TITLE = 'Night Trains and the Return of the Sleeper';
export const T0 = Date.UTC(2024, 4, 1, 9, 30);
export const NOW = Date.UTC(2024, 5, 1, 12, 0);
export const DOC_ID = 'fixture';
export const BASE_URL = 'https://marginalia.example';

export const HOSTILE_HTML = '<img src=x onerror=alert(1)>';
export const HOSTILE_CSV = "=cmd|' /C calc'!A0";

/** Fixed UUIDs: thread n is …-4000-8000-0000000000n0, its comments …n1, …n2. */
export const tid = (n: number) => `00000000-0000-4000-8000-${String(n * 10).padStart(12, '0')}`;
export const cid = (n: number, k: number) => `00000000-0000-4000-8000-${String(n * 10 + k).padStart(12, '0')}`;

const mara = { id: 'user-mara', name: 'Mara Ivanova' };
const tom = { id: 'user-tom', name: 'Tom Okafor' };
const eve = { id: 'user-eve', name: 'Eve <script>' };

const minutes = (m: number) => T0 + m * 60_000;

export async function buildFixture(): Promise<Y.Doc> {
  const doc = new Y.Doc();
  // A fixed client id: the dump holds the anchors' RelativePositions, which name the client that wrote the text.
  doc.clientID = 1;
  await importArticle(doc, 'markdown', FIXTURE_MARKDOWN);
  initMeta(doc, {
    title: FIXTURE_TITLE,
    author: 'Marginalia fixtures',
    source: 'https://example.org/night-trains',
    createdAt: T0,
  });
  setTag(doc, 'claim', { color: '#d9822b', description: 'A claim that needs support' });
  setTag(doc, 'evidence', { color: '#3f9a6b', description: 'Supports or refutes a claim' });
  setTag(doc, 'question', { color: '#5a7bd8' });

  const thread = (n: number, target: ThreadTarget, who: typeof mara, body: string, tags: string[] = []) =>
    createThread(doc, {
      ...target,
      id: tid(n),
      commentId: cid(n, 1),
      createdBy: who.id,
      authorName: who.name,
      body,
      tags,
      now: minutes(n),
    });
  const reply = (n: number, k: number, who: typeof mara, body: string) =>
    addComment(doc, tid(n), { id: cid(n, k), authorId: who.id, authorName: who.name, body, now: minutes(n * 10 + k) });

  thread(1, { exact: 'cheap flights' }, mara, 'Low-cost airlines took the business traveller first.', ['claim']);
  reply(1, 2, tom, 'Source? The 2000s timetable cuts predate most low-cost routes here.');
  setThreadStatus(doc, tid(1), 'resolved', tom.id, minutes(200));
  thread(2, { exact: 'written off twice: once by cheap flights' }, tom, 'Nested around thread 1: both must show.', [
    'question',
  ]);
  thread(3, { exact: 'high-speed rail. Both times the obituary' }, mara, 'Crosses thread 4.', ['evidence']);
  thread(4, { exact: 'Both times the obituary was premature' }, tom, 'Crossed by thread 3.');
  thread(
    5,
    { exact: '2023 survey found that' },
    mara,
    'Multi-line comment:\nline two with *stars* and [brackets](javascript:alert(1))\n\nA second paragraph & an ampersand.',
    ['evidence'],
  );
  thread(6, { exact: 'Why they vanished' }, tom, 'A heading can be annotated too.', ['question']);
  thread(
    7,
    { exact: 'timetables thinned.\n\nThe problem was never demand' },
    mara,
    'This passage runs across two blocks.',
  );
  thread(8, { exact: 'access fees' }, eve, HOSTILE_HTML, ['claim']);
  reply(8, 2, eve, HOSTILE_CSV);
  reply(8, 3, tom, '-2+3 looks like a formula; so does @SUM(A1).');
  thread(9, { exact: 'Harmonise access charges' }, mara, 'The first comment stays.');
  reply(9, 2, tom, 'This reply is deleted.');
  deleteComment(doc, tid(9), cid(9, 2), minutes(300));
  reply(9, 3, mara, 'This reply was edited.');
  editComment(doc, tid(9), cid(9, 3), 'This reply was edited (twice).', minutes(301));
  const moved = anchorFromQuote(doc, { exact: 'a handful of start-ups' });
  thread(
    10,
    { anchor: moved.anchor, quote: { ...moved.quote, exact: 'a handful of startups' } },
    tom,
    'Annotated before the hyphen was added: a moved passage.',
  );
  const gone = anchorFromQuote(doc, { exact: 'Nightjet' });
  thread(
    11,
    {
      anchor: gone.anchor,
      quote: { exact: 'sleeper trains to Lisbon', prefix: 'the new ', suffix: ' were cancelled' },
    },
    mara,
    'Its passage was deleted: an orphan.',
    ['question'],
  );
  thread(12, { exact: 'overnight routes' }, tom, '🚆 Ça marche — “quotes” and ‘apostrophes’.', ['evidence', 'claim']);
  return doc;
}
