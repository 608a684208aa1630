/** Writing to a test server's stored log directly, past admission. */
import { join } from 'node:path';
import * as Y from 'yjs';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { storedDocument } from '@marginalia/server/search/store.js';
import type { TestServer } from './server.js';

/**
 * Writes `change` straight to the stored log of a stopped server's document (no admission: as junk was stored
 * before the server refused it), then starts the server again.
 */
export async function writeToStoredLog(server: TestServer, docId: string, change: (doc: Y.Doc) => void): Promise<void> {
  await server.stop();
  const storage = await openSqliteStorage(join(server.dataDir, 'marginalia.db'));
  try {
    const { doc } = (await storedDocument(storage.log, docId))!;
    try {
      await storage.log.claimClientIds(docId, 'before-the-fix', [doc.clientID]);
      const updates: Uint8Array[] = [];
      doc.on('update', (u: Uint8Array) => updates.push(u));
      change(doc);
      await storage.log.appendUpdates(docId, [Y.mergeUpdates(updates)]);
    } finally {
      doc.destroy();
    }
  } finally {
    await storage.close();
  }
  await server.restart();
}
