/**
 * Noting who deletes what (server/src/collab/deleted-ranges.ts): an update's deletions of live items are noted,
 * and a delete set that repeats deletions already made (a reconnecting client's sync sends its whole delete set)
 * notes nothing, so a later sender is never taken for the one who deleted.
 */
import { afterEach, expect, test } from '@jest/globals';
import * as Y from 'yjs';
import { freshDeletions } from '@marginalia/server/collab/deleted-ranges.js';

const docs: Y.Doc[] = [];
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy();
});
const fresh = () => {
  const d = new Y.Doc();
  docs.push(d);
  return d;
};

test('deletions of live items are noted once; repeated ones and inserts-only updates note nothing', () => {
  const server = fresh();
  server.getText('t').insert(0, 'hello brave new world');
  const client = fresh();
  Y.applyUpdate(client, Y.encodeStateAsUpdate(server));

  const typed: Uint8Array[] = [];
  client.on('update', (u: Uint8Array) => typed.push(u));
  client.getText('t').insert(0, '> ');
  expect(freshDeletions(server, typed[0]!)).toEqual([]);
  Y.applyUpdate(server, typed[0]!);

  client.getText('t').delete(8, 6); // "brave "
  const deletion = typed[1]!;
  const noted = freshDeletions(server, deletion);
  expect(noted).toEqual([{ client: server.clientID, clock: 6, len: 6 }]);
  Y.applyUpdate(server, deletion);

  // The client reconnects: its sync carries the whole delete set again.
  const resync = Y.encodeStateAsUpdate(client, Y.encodeStateVector(server));
  expect(freshDeletions(server, resync)).toEqual([]);
});
