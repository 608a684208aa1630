/**
 * A correctness check the load runs depend on: a commenter's two dependent updates (open a thread, then reply in
 * it) arriving in one server turn — as they do from any fast client, or from any client while the server is
 * busy. The second must be checked against the document including the first, which is still in the write queue.
 * Returns what happened to the socket.
 */
import * as Y from 'yjs';
import { addComment, anchorFromOffsets, createThread } from '@marginalia/shared';
import { RawClient } from './lib/clients.js';
import { sleep } from './lib/proc.js';
import * as wire from './lib/wire.js';
import { provision, startTarget } from './servers.js';
import { ARTICLE } from './scenarios.js';

export async function policyRaceCheck(): Promise<{ refused: boolean; detail: string }> {
  const server = await startTarget('marginalia');
  try {
    const { target, docIds } = await provision(server, [{ title: 'race', content: ARTICLE }]);
    const doc = docIds[0]!;
    const c = new RawClient(target, doc, null);
    const scratch = new Y.Doc();
    Y.applyUpdate(scratch, await c.synced);
    const a = anchorFromOffsets(scratch, 20, 60);
    const local = new Y.Doc();
    const updates: Uint8Array[] = [];
    local.on('update', (u: Uint8Array) => updates.push(u));
    const { threadId } = createThread(local, {
      anchor: a.anchor,
      quote: a.quote,
      createdBy: target.userId,
      authorName: target.userName,
      body: 'first',
    });
    addComment(local, threadId, { authorId: target.userId, authorName: target.userName, body: 'reply' });
    let closed = '';
    c.ws.on('close', (code, reason) => (closed = `${code} ${reason.toString()}`));
    // Both frames in one TCP write, so that the server reads them in one turn.
    const socket = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.cork();
    for (const u of updates) c.ws.send(wire.updateFrame('y', doc, u));
    socket.uncork();
    await sleep(1000);
    c.close();
    return closed ? { refused: true, detail: closed } : { refused: false, detail: 'both updates accepted' };
  } finally {
    await server.stop();
  }
}
