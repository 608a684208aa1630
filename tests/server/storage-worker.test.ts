/**
 * The compaction fold in a worker thread (server/dist: the worker runs compiled JavaScript, as in production).
 */
import { describe, expect, test } from '@jest/globals';
import * as Y from 'yjs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../support/server.js';

type FoldModule = {
  foldInWorker(state: {
    snapshot: Uint8Array | null;
    updates: { seq: number; data: Uint8Array }[];
  }): Promise<{ update: Uint8Array; stateVector: Uint8Array }>;
};
const load = async (): Promise<FoldModule> =>
  (await import(pathToFileURL(join(ROOT, 'server', 'dist', 'storage', 'storage-worker.js')).href)) as FoldModule;

function history(): { snapshot: Uint8Array; updates: { seq: number; data: Uint8Array }[]; doc: Y.Doc } {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'hello');
  const snapshot = Y.encodeStateAsUpdate(doc);
  const updates: { seq: number; data: Uint8Array }[] = [];
  doc.on('update', (u: Uint8Array) => updates.push({ seq: updates.length + 1, data: u }));
  doc.getText('t').insert(5, ' world');
  doc.getText('t').delete(0, 1);
  doc.getMap('m').set('k', 'v');
  return { snapshot, updates, doc };
}

describe('fold worker', () => {
  test('folds snapshot and log into one update equal in content to the document', async () => {
    const { foldInWorker } = await load();
    const { snapshot, updates, doc } = history();
    const folded = await foldInWorker({ snapshot, updates });
    const copy = new Y.Doc();
    Y.applyUpdate(copy, folded.update);
    expect(copy.getText('t').toString()).toBe('ello world');
    expect(copy.getMap('m').get('k')).toBe('v');
    expect(Y.encodeStateVector(copy)).toEqual(Y.encodeStateVector(doc));
    expect(folded.stateVector).toEqual(Y.encodeStateVector(doc));
  });

  test('a state that cannot be applied is refused with an error, and the worker keeps serving', async () => {
    const { foldInWorker } = await load();
    await expect(
      foldInWorker({ snapshot: new Uint8Array([1, 200, 200, 200, 200, 200, 7]), updates: [] }),
    ).rejects.toThrow();
    const { snapshot, updates } = history();
    const results = await Promise.all([1, 2, 3].map(() => foldInWorker({ snapshot, updates })));
    for (const r of results) {
      const copy = new Y.Doc();
      Y.applyUpdate(copy, r.update);
      expect(copy.getText('t').toString()).toBe('ello world');
    }
  });
});
