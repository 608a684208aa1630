/**
 * The sample document created on first start, so that `npm start` shows something to annotate at once.
 * The article is the project's own (a short original piece); guests may comment on it.
 */
import type { Config } from './config.js';
import { StorageError, type Storage } from './storage/types.js';
import type * as Y from 'yjs';
import { addComment, createThread, setTag } from '@marginalia/shared';
import { createDocument } from './documents.js';
import { log } from './log.js';

export const SAMPLE_ID = 'sample';

export const SAMPLE_TITLE = 'The River Remembers: Why Flood Maps Age Faster Than Towns';

export const SAMPLE_MARKDOWN = `# The River Remembers: Why Flood Maps Age Faster Than Towns

Every town on a river keeps two maps. One hangs in the planning office, drawn to a standard, stamped and dated. The other lives in the memory of the people who have bailed out their cellars — and the two rarely agree.

## The hundred-year fiction

Official flood maps describe a “hundred-year flood”: water high enough that, in any given year, it has a one-in-a-hundred chance of arriving. The phrase invites a comforting misreading. A family that saw such a flood in 2011 may believe it has bought itself a century of dry floors. It has not; the odds reset every spring.

Worse, the maps are often older than the houses they cover. In many districts the survey behind the line was flown two or three decades ago, before upstream car parks, before the wetlands were drained for a bypass, before rainfall records showed the **heavier, shorter storms** that now arrive each autumn.

## What a better map would do

A useful map would be *revised on a schedule*, not after a disaster. It would show a range rather than a single line, so that a buyer can see that the house just outside the shaded area is outside it by twenty centimetres of water. And it would be written in plain language: not “Zone AE”, but “water reached this doorstep twice since 1990”.

None of this needs new science. It needs councils to treat the flood map as living infrastructure, budgeted like a bridge and inspected like one. Rivers do not read our maps; the least we can do is keep reading theirs.
`;

/** A small tag vocabulary and two example threads, so that a first visitor sees what annotation looks like. */
function decorateSample(doc: Y.Doc): void {
  setTag(doc, 'claim', { color: '#d9822b', description: 'A claim that needs support' });
  setTag(doc, 'evidence', { color: '#3f9a6b', description: 'Supports or refutes a claim' });
  setTag(doc, 'question', { color: '#5a7bd8', description: 'Something to find out' });
  const mara = { id: 'sample:mara', name: 'Mara (policy desk)' };
  const tom = { id: 'sample:tom', name: 'Tom (research)' };
  const t1 = createThread(doc, {
    exact: 'the odds reset every spring',
    createdBy: mara.id,
    authorName: mara.name,
    body: 'Worth a sidebar: a 1% annual chance is about a 26% chance over a 30-year mortgage.',
    tags: ['claim'],
  });
  addComment(doc, t1.threadId, {
    authorId: tom.id,
    authorName: tom.name,
    body: 'Agreed. 1 − 0.99^30 ≈ 0.26, so the figure holds.',
  });
  createThread(doc, {
    exact: 'flown two or three decades ago',
    createdBy: tom.id,
    authorName: tom.name,
    body: 'Do we have the survey dates for our own district? Select any passage to reply or start a thread.',
    tags: ['question'],
  });
}

export async function ensureSampleDocument(storage: Storage, _config: Config): Promise<void> {
  if ((await storage.getSetting('sample.created')) !== null) return;
  if (!(await storage.getDocument(SAMPLE_ID))) {
    await createDocument(storage, {
      id: SAMPLE_ID,
      title: SAMPLE_TITLE,
      format: 'markdown',
      content: SAMPLE_MARKDOWN,
      guestRole: 'commenter',
      author: 'The Marginalia team',
      createdBy: 'system',
      ownerId: null,
      decorate: decorateSample,
    }).then(
      () => log.info('sample document created', { id: SAMPLE_ID }),
      (e: unknown) => {
        // another instance starting at the same moment created it
        if (!(e instanceof StorageError && e.code === 'conflict')) throw e;
      },
    );
  }
  await storage.setSetting('sample.created', new Date().toISOString());
}
