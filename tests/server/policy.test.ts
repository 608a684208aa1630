/**
 * Field-level write policy over real WebSocket clients: what each role may change inside a document.
 * Refused updates are crafted with plain yjs (not through `shared`), as a hostile client would.
 */
import { describe, expect, test, beforeAll, afterAll, afterEach } from '@jest/globals';
import * as Y from 'yjs';
import {
  addComment,
  createThread,
  deleteComment,
  editComment,
  readThread,
  reattachThread,
  setThreadStatus,
  setThreadTags,
  threadsMap,
} from '@marginalia/shared';
import { startServer, createDocument, addMember, api, type TestServer } from '../support/server.js';
import { connectClient, canonical, type TestClient } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';

interface Actor {
  token: string;
  id: string;
  name: string;
}

describe('field-level write policy', () => {
  let server: TestServer;
  let docId: string;
  let carl: Actor; // commenter
  let cleo: Actor; // another commenter
  let vera: Actor; // viewer
  let eddy: Actor; // editor
  let watcher: TestClient;
  let annThread: string; // a thread by cleo, with her comment
  let annComment: string;
  const clients: TestClient[] = [];

  const connect = async (a: { token: string }) => {
    const c = connectClient(server.wsUrl, docId, a.token);
    clients.push(c);
    await c.synced();
    return c;
  };
  const threadsOf = (doc: Y.Doc) => canonical(threadsMap(doc).toJSON());
  const rootOf = (doc: Y.Doc) => doc.get('root', Y.XmlText).toString();

  /** Runs a change as `actor` and expects it refused whole: closed with 4403, unseen by others, not stored. */
  async function expectRefused(actor: Actor, change: (doc: Y.Doc) => void, rule: RegExp) {
    const before = {
      threads: threadsOf(watcher.doc),
      root: rootOf(watcher.doc),
      meta: canonical(watcher.doc.getMap('meta').toJSON()),
    };
    const c = await connect(actor);
    change(c.doc);
    await waitFor(() => c.closes.some((x) => x.code === 4403), { message: 'close 4403' });
    expect(c.closes.find((x) => x.code === 4403)!.reason).toMatch(rule);
    // a write made after the refused one comes back to a fresh client; the refused one never does
    const marker = `m${Math.random()}`;
    watcher.doc.getMap('meta').set('marker', marker);
    const fresh = await connect({ token: server.adminToken });
    await waitFor(() => fresh.doc.getMap('meta').get('marker') === marker);
    expect(threadsOf(fresh.doc)).toBe(before.threads);
    expect(rootOf(fresh.doc)).toBe(before.root);
    expect(threadsOf(watcher.doc)).toBe(before.threads);
    expect(rootOf(watcher.doc)).toBe(before.root);
  }

  /** Runs a change as `actor` and expects it accepted: the watcher sees `seen`. */
  async function expectAllowed(actor: Actor, change: (doc: Y.Doc) => void, seen: (doc: Y.Doc) => boolean) {
    const c = await connect(actor);
    change(c.doc);
    await waitFor(() => seen(watcher.doc), { message: 'change seen by the watcher' });
    expect(c.closes.filter((x) => x.code === 4403)).toEqual([]);
  }

  beforeAll(async () => {
    server = await startServer();
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    const mk = (username: string, name: string, role: string): Promise<Actor> =>
      addMember(server, docId, username, name, role);
    carl = await mk('carl', 'Carl', 'commenter');
    cleo = await mk('cleo', 'Cleo', 'commenter');
    vera = await mk('vera', 'Vera', 'viewer');
    eddy = await mk('eddy', 'Eddy', 'editor');
    await api(server.url, server.adminToken).put(`/documents/${docId}/vocabulary/question`, { color: '#3366cc' });
    const t = await api(server.url, cleo.token).post(`/documents/${docId}/threads`, {
      exact: 'new policy',
      body: 'Cleo asks',
    });
    annThread = t.body.id;
    annComment = t.body.commentId;
    watcher = connectClient(server.wsUrl, docId, server.adminToken);
    await watcher.synced();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(async () => {
    watcher.destroy();
    await server.dispose();
  });

  describe('a commenter may', () => {
    test('create a thread of their own and reply to any thread', async () => {
      let id = '';
      await expectAllowed(
        carl,
        (doc) => {
          id = createThread(doc, {
            start: 0,
            end: 12,
            createdBy: carl.id,
            authorName: carl.name,
            body: 'Mine',
          }).threadId;
        },
        (doc) => readThread(doc, id)?.comments[0]?.body === 'Mine',
      );
      await expectAllowed(
        carl,
        (doc) => addComment(doc, annThread, { authorId: carl.id, authorName: carl.name, body: 'Carl replies' }),
        (doc) => readThread(doc, annThread)!.comments.some((c) => c.body === 'Carl replies'),
      );
    });
    test('re-attach a thread they created to another passage, but not with a malformed quote', async () => {
      let id = '';
      await expectAllowed(
        carl,
        (doc) => {
          id = createThread(doc, {
            exact: 'announced',
            createdBy: carl.id,
            authorName: carl.name,
            body: 'Re-attach me',
          }).threadId;
        },
        (doc) => readThread(doc, id) !== null,
      );
      await expectAllowed(
        carl,
        (doc) => reattachThread(doc, id, { exact: 'lacked detail' }),
        (doc) => readThread(doc, id)?.quote.exact === 'lacked detail',
      );
      await expectRefused(
        carl,
        (doc) => (threadsMap(doc).get(id) as Y.Map<unknown>).set('quote', { exact: '', prefix: '', suffix: '' }),
        /a quote is \{ exact, prefix, suffix \}/,
      );
    });
    test('edit and soft-delete their own comment', async () => {
      let cid = '';
      await expectAllowed(
        carl,
        (doc) => {
          cid = addComment(doc, annThread, { authorId: carl.id, authorName: carl.name, body: 'typo' });
        },
        (doc) => readThread(doc, annThread)!.comments.some((c) => c.id === cid),
      );
      await expectAllowed(
        carl,
        (doc) => editComment(doc, annThread, cid, 'fixed'),
        (doc) => readThread(doc, annThread)!.comments.find((c) => c.id === cid)?.body === 'fixed',
      );
      await expectAllowed(
        carl,
        (doc) => deleteComment(doc, annThread, cid),
        (doc) => readThread(doc, annThread)!.comments.find((c) => c.id === cid)?.deleted === true,
      );
    });
    test("resolve and reopen someone else's thread, and tag it from the vocabulary", async () => {
      await expectAllowed(
        carl,
        (doc) => setThreadStatus(doc, annThread, 'resolved', carl.id),
        (doc) => readThread(doc, annThread)?.status === 'resolved',
      );
      await expectAllowed(
        carl,
        (doc) => setThreadStatus(doc, annThread, 'open', carl.id),
        (doc) => readThread(doc, annThread)?.status === 'open',
      );
      await expectAllowed(
        carl,
        (doc) => setThreadTags(doc, annThread, ['question']),
        (doc) => readThread(doc, annThread)?.tags.includes('question') === true,
      );
    });
  });

  describe('a commenter may not', () => {
    test('insert text into the article', async () => {
      await expectRefused(
        carl,
        (doc) => {
          const paragraph = doc.get('root', Y.XmlText).toDelta()[0].insert as Y.XmlText;
          paragraph.insert(1, 'INJECTED');
        },
        /commenters may change only threads \(touched root\)/,
      );
    });
    test("add a comment under another user's id", async () => {
      await expectRefused(
        carl,
        (doc) => {
          const comments = (threadsMap(doc).get(annThread) as Y.Map<unknown>).get('comments') as Y.Array<
            Y.Map<unknown>
          >;
          comments.push([
            new Y.Map<unknown>([
              ['id', crypto.randomUUID()],
              ['authorId', cleo.id],
              ['authorName', 'Cleo'],
              ['body', 'forged'],
              ['createdAt', 1],
              ['editedAt', null],
              ['deleted', false],
            ]),
          ]);
        },
        /own user id/,
      );
    });
    test("edit another user's comment body", async () => {
      await expectRefused(
        carl,
        (doc) => {
          const comments = (threadsMap(doc).get(annThread) as Y.Map<unknown>).get('comments') as Y.Array<
            Y.Map<unknown>
          >;
          comments
            .toArray()
            .find((c) => c.get('id') === annComment)!
            .set('body', 'hijacked');
        },
        /only its author may change a comment/,
      );
    });
    test('remove a comment outright, or delete a thread', async () => {
      await expectRefused(
        carl,
        (doc) => {
          ((threadsMap(doc).get(annThread) as Y.Map<unknown>).get('comments') as Y.Array<unknown>).delete(0, 1);
        },
        /only owners may remove comments/,
      );
      await expectRefused(carl, (doc) => threadsMap(doc).delete(annThread), /only owners may delete threads/);
    });
    test("re-attach someone else's thread: move its anchor or rewrite its quote", async () => {
      await expectRefused(
        carl,
        (doc) =>
          (threadsMap(doc).get(annThread) as Y.Map<unknown>).set('quote', { exact: 'x', prefix: '', suffix: '' }),
        /only editors and its creator may change a thread's quote/,
      );
      await expectRefused(
        carl,
        (doc) => reattachThread(doc, annThread, { exact: 'lacked detail' }),
        /only editors and its creator may change a thread's (anchor|quote)/,
      );
    });
    test("create a thread in someone else's name, or with a tag outside the vocabulary", async () => {
      await expectRefused(
        carl,
        (doc) => {
          createThread(doc, { start: 0, end: 3, createdBy: cleo.id, authorName: cleo.name, body: 'as Cleo' });
        },
        /creator's own user id/,
      );
      await expectRefused(
        carl,
        (doc) => {
          createThread(doc, {
            start: 0,
            end: 3,
            createdBy: carl.id,
            authorName: carl.name,
            body: 'tagged',
            tags: ['invented'],
          });
        },
        /not in the vocabulary/,
      );
    });
    test('change threads and the article in one update: refused whole', async () => {
      await expectRefused(
        carl,
        (doc) => {
          doc.transact(() => {
            createThread(doc, { start: 0, end: 3, createdBy: carl.id, authorName: carl.name, body: 'legit part' });
            doc.getMap('meta').set('title', 'hijacked');
          });
        },
        /touched meta/,
      );
    });
  });

  test('a viewer may not reply', async () => {
    await expectRefused(
      vera,
      (doc) => addComment(doc, annThread, { authorId: vera.id, authorName: vera.name, body: 'viewer reply' }),
      /viewers may not change/,
    );
  });

  test("an editor edits the article and meta, re-attaches anyone's thread, but not another user's comment", async () => {
    await expectAllowed(
      eddy,
      (doc) => reattachThread(doc, annThread, { exact: 'on Monday' }),
      (doc) => readThread(doc, annThread)?.quote.exact === 'on Monday',
    );
    await expectAllowed(
      eddy,
      (doc) => doc.getMap('meta').set('source', 'edited by Eddy'),
      (doc) => doc.getMap('meta').get('source') === 'edited by Eddy',
    );
    await expectRefused(
      eddy,
      (doc) => {
        const comments = (threadsMap(doc).get(annThread) as Y.Map<unknown>).get('comments') as Y.Array<Y.Map<unknown>>;
        comments
          .toArray()
          .find((c) => c.get('id') === annComment)!
          .set('body', 'editor rewrite');
      },
      /only its author/,
    );
  });

  test('refused updates are audited and none of them is in storage after a restart', async () => {
    const audit = await api(server.url, server.adminToken).get(`/documents/${docId}/audit`);
    expect(audit.status).toBe(200);
    expect(audit.body.filter((e: { action: string }) => e.action === 'update.rejected').length).toBeGreaterThanOrEqual(
      8,
    );
    const beforeThreads = threadsOf(watcher.doc);
    const beforeRoot = rootOf(watcher.doc);
    await server.restart();
    const fresh = connectClient(server.wsUrl, docId, server.adminToken);
    clients.push(fresh);
    await fresh.synced();
    expect(threadsOf(fresh.doc)).toBe(beforeThreads);
    expect(rootOf(fresh.doc)).toBe(beforeRoot);
    expect(JSON.stringify(threadsMap(fresh.doc).toJSON())).not.toMatch(
      /forged|hijacked|INJECTED|as Cleo|viewer reply|editor rewrite/,
    );
  });
});
