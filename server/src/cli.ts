#!/usr/bin/env node
/** The `marginalia` command: serve, import an article, export a document, import annotations, manage users. */
import { Command, Option } from 'commander';
import * as Y from 'yjs';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, basename, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openStorage, startServer } from './server.js';
import { createDocument } from './documents.js';
import { hashPassword } from './auth/passwords.js';
import { AccessState } from './auth/access-state.js';
import { USERNAME } from './http/auth-routes.js';
import type { ArticleFormat } from './article/import.js';
import { StorageError, type Storage } from './storage/types.js';
import { storedPieces } from './storage/stored-state.js';
import { insertVersion } from './versions/store.js';
import { readCopyOf } from './versions/read-copy.js';
import { reviseArticle, revisionBlocks } from './versions/revise.js';
import { reindexDocument } from './search/store.js';
import {
  DUMP_FORMAT,
  EXPORT_FORMATS,
  IMPORT_FORMATS,
  ROLES,
  applyImport,
  exportDocument,
  planJsonImport,
  planW3cImport,
  purgeInvalid,
  type ExportFormat,
  type ImportFormat,
  type Role,
} from '@marginalia/shared';

/**
 * The database a command works on: the server's. A command never creates an SQLite database of its own: run from
 * another directory, or without the DATA_DIR the server was started with, it would write where the server never
 * looks, and the user would wonder where the account went.
 */
async function commandStorage(config: Config = loadConfig()): Promise<Storage> {
  if (!config.databaseUrl && !config.memoryOnly) {
    const file = join(config.dataDir, 'marginalia.db');
    if (!existsSync(file))
      throw new Error(
        `no database at ${file}. Run this where the server runs, with its DATA_DIR (the server prints its data ` +
          `directory when it starts), or start the server once first.`,
      );
  }
  return openStorage(config);
}

/**
 * The access state of a command that takes access away: it tells running instances at once over Redis (they read it
 * on their catch-up timer otherwise). Close it when done.
 */
function announcer(storage: Storage, config: Config): Promise<AccessState> {
  return AccessState.open({
    storage,
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    catchUpIntervalMs: config.catchUpIntervalMs,
    tokenTtlMs: config.tokenTtlSeconds * 1000,
    enforce: () => {},
  });
}

/** Where a command wrote, for its confirmation: the SQLite file, or the PostgreSQL server without credentials. */
function storageLabel(config: Config): string {
  if (!config.databaseUrl) return join(config.dataDir, 'marginalia.db');
  try {
    const url = new URL(config.databaseUrl);
    return `postgresql://${url.host}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

const program = new Command();
program.name('marginalia').description('Collaborative annotation server').version('0.1.0');

program
  .command('serve')
  .description('start the server (PORT, HOST, DATA_DIR … from the environment)')
  .action(async () => {
    const config = loadConfig();
    const server = await startServer(config);
    if (config.metricsPort !== null) console.log(`Metrics at ${server.metricsUrl}`);
    console.log(
      `Marginalia is running at ${server.url}  (data: ${config.dataDir}, storage: ${server.context.storage.kind}, signing key ${server.context.signingKeyFingerprint})`,
    );
    console.log(`Open ${server.url}/ in a browser; the sample document is at ${server.url}/d/sample`);
    let stopping = false;
    // SIGTERM (an orchestrator) drains first: readiness answers 503 for MARGINALIA_DRAIN_MS so that load balancers
    // stop sending. SIGINT (Ctrl-C), or a second signal, stops at once.
    const stop = (signal: string) => {
      const now = stopping || signal !== 'SIGTERM' || config.drainMs === 0;
      if (stopping) console.log(`${signal}: stopping now`);
      else if (now) console.log(`\n${signal}: storing pending changes and closing connections…`);
      else console.log(`\n${signal}: draining for ${config.drainMs} ms, then storing pending changes…`);
      stopping = true;
      (now ? server.close() : server.drain(config.drainMs)).then(
        () => process.exit(0),
        (e: Error) => {
          console.error(`shutdown failed: ${e.message}`);
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

const FORMATS: Record<string, ArticleFormat> = {
  '.txt': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.html': 'html',
  '.htm': 'html',
};

program
  .command('import')
  .description('import an article file (.txt, .md, .html) as a new document')
  .argument('<file>', 'the article')
  .option('--title <title>', 'document title (default: the file name)')
  .addOption(
    new Option('--format <format>', 'text, markdown or html (default: from the extension)').choices([
      'text',
      'markdown',
      'html',
    ]),
  )
  .option('--owner <username>', 'make this user the owner')
  .addOption(new Option('--guest-role <role>', 'let guests in with this role').choices([...ROLES]))
  .action(async (file: string, opts: { title?: string; format?: ArticleFormat; owner?: string; guestRole?: Role }) => {
    const config = loadConfig();
    const storage = await commandStorage(config);
    try {
      const format = opts.format ?? FORMATS[extname(file).toLowerCase()] ?? 'text';
      let ownerId: string | null = null;
      if (opts.owner) {
        const owner = await storage.getUserByUsername(opts.owner.toLowerCase());
        if (!owner) throw new Error(`no user "${opts.owner}" (create one with: marginalia users add ${opts.owner})`);
        ownerId = owner.id;
      }
      const id = await createDocument(storage, {
        title: opts.title ?? basename(file, extname(file)),
        format,
        content: readFileSync(file, 'utf8'),
        guestRole: opts.guestRole ?? null,
        createdBy: ownerId ?? 'cli',
        ownerId,
      });
      console.log(id);
    } finally {
      await storage.close();
    }
  });

/** A document's Y.Doc as stored: the latest snapshot, then the log after it, in order. */
async function loadDoc(storage: Storage, docId: string): Promise<Y.Doc> {
  if (!(await storage.getDocument(docId))) throw new Error(`no document "${docId}"`);
  const state = await storage.log.loadState(docId);
  const doc = new Y.Doc();
  for (const piece of storedPieces(state)) Y.applyUpdate(doc, piece);
  return doc;
}

/**
 * Changes a stored document as the server would: `change` runs on a copy loaded from storage, what it changed is
 * appended to the log as one update, and the change is audited (no actor: the CLI runs on the server's machine).
 */
async function changeStoredDocument<T>(
  docId: string,
  change: (doc: Y.Doc) => T,
  audited: (result: T) => { action: string; detail: Record<string, unknown> },
): Promise<T> {
  const storage = await commandStorage();
  try {
    const doc = await loadDoc(storage, docId);
    try {
      const updates: Uint8Array[] = [];
      doc.on('update', (u: Uint8Array) => updates.push(u));
      const result = change(doc);
      if (updates.length > 0) await storage.log.appendUpdates(docId, [Y.mergeUpdates(updates)]);
      await storage.audit({ docId, actorId: null, ...audited(result) });
      return result;
    } finally {
      doc.destroy();
    }
  } finally {
    await storage.close();
  }
}

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

program
  .command('export')
  .description('export a document with its threads (to a file, or to standard output)')
  .argument('<docId>')
  .addOption(
    new Option('--format <format>', 'export format').choices(Object.keys(EXPORT_FORMATS)).makeOptionMandatory(),
  )
  .option('-o, --output <file>', 'write here instead of standard output')
  .addOption(
    new Option('--status <status>', 'only threads in this state').choices(['open', 'resolved', 'all']).default('all'),
  )
  .option('--tags <tags>', 'only threads with one of these tags (comma list)')
  .option('--authors <authors>', 'only threads with a comment by one of these authors (ids or names, comma list)')
  .option('--base-url <url>', 'public URL of the server, for W3C annotation ids (default: http://HOST:PORT)')
  .action(
    async (
      docId: string,
      opts: {
        format: ExportFormat;
        output?: string;
        status: 'open' | 'resolved' | 'all';
        tags?: string;
        authors?: string;
        baseUrl?: string;
      },
    ) => {
      const config = loadConfig();
      const storage = await commandStorage(config);
      try {
        const doc = await loadDoc(storage, docId);
        try {
          const body = await exportDocument(doc, opts.format, {
            docId,
            baseUrl: opts.baseUrl ?? `http://${config.host}:${config.port}`,
            status: opts.status,
            tags: list(opts.tags),
            authors: list(opts.authors),
          });
          if (opts.output) writeFileSync(opts.output, body);
          else process.stdout.write(body);
        } finally {
          doc.destroy();
        }
      } finally {
        await storage.close();
      }
    },
  );

program
  .command('import-annotations')
  .description(
    'import annotations (a W3C collection or a Marginalia JSON dump) into a document; a running server shows them once it reloads the document (use the REST import for documents open in browsers)',
  )
  .argument('<docId>')
  .argument('<file>', 'the annotations (JSON)')
  .addOption(
    new Option('--format <format>', 'w3c or json (default: json for a Marginalia dump, else w3c)').choices([
      ...IMPORT_FORMATS,
    ]),
  )
  .action(async (docId: string, file: string, opts: { format?: ImportFormat }) => {
    let input: unknown;
    try {
      input = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file} is not JSON: ${(e as Error).message}`, { cause: e });
    }
    const isDump =
      typeof input === 'object' && input !== null && (input as { format?: unknown }).format === DUMP_FORMAT;
    const format = opts.format ?? (isDump ? 'json' : 'w3c');
    const now = Date.now();
    const plan = format === 'json' ? planJsonImport(input, now) : planW3cImport(input, now);
    const result = await changeStoredDocument(
      docId,
      (doc) => {
        let imported!: ReturnType<typeof applyImport>;
        doc.transact(() => {
          imported = applyImport(doc, plan, { importerId: 'cli', mayDefineTags: true, now });
        }, 'import:cli');
        return imported;
      },
      (r) => ({
        action: 'annotations.imported',
        detail: { format, file: basename(file), imported: r.imported, skipped: r.skipped },
      }),
    );
    console.log(JSON.stringify(result, null, 2));
  });

program
  .command('update-article')
  .description(
    'apply a new revision of the article: only the changed passages are edited, so threads on the rest stay exact',
  )
  .argument('<docId>', 'the document')
  .argument('<file>', 'the new revision (.txt, .md, .html)')
  .addOption(
    new Option('--format <format>', 'text, markdown or html (default: from the extension)').choices([
      'text',
      'markdown',
      'html',
    ]),
  )
  .action(async (docId: string, file: string, opts: { format?: ArticleFormat }) => {
    const format = opts.format ?? FORMATS[extname(file).toLowerCase()] ?? 'text';
    const target = await revisionBlocks(format, readFileSync(file, 'utf8'));
    const storage = await openStorage(loadConfig());
    try {
      const doc = await loadDoc(storage, docId);
      try {
        const base = Y.encodeStateAsUpdate(doc);
        const readCopy = readCopyOf(doc);
        let clientId = 0;
        for (let i = 0; i < 8 && clientId === 0; i++) {
          const id = Math.floor(Math.random() * 2 ** 31);
          if ((await storage.log.claimClientIds(docId, 'cli', [id])).get(id) === 'cli') clientId = id;
        }
        if (clientId === 0) throw new Error('no free client id found');
        const revision = await reviseArticle(doc, target, clientId);
        // As the server does: the article as it was is kept as a version first.
        const version = await insertVersion(storage.db, {
          docId,
          name: null,
          createdBy: null,
          automatic: true,
          uptoSeq: await storage.log.lastSeq(docId),
          state: base,
          readCopy,
        });
        if (revision.changed) await storage.log.appendUpdates(docId, [revision.update]);
        await storage.audit({
          docId,
          actorId: null,
          action: 'article.revised',
          detail: { format, before: version, anchors: revision.anchors },
        });
        console.log(JSON.stringify({ version, anchors: revision.anchors }));
      } finally {
        doc.destroy();
      }
    } finally {
      await storage.close();
    }
  });

program
  .command('purge-invalid')
  .description(
    'remove from a document the threads and comments no reader can read (junk older server versions let clients store; compaction removes it too); run it while the server is stopped, or it keeps serving the junk until it reloads the document',
  )
  .argument('<docId>')
  .action(async (docId: string) => {
    const purged = await changeStoredDocument(docId, purgeInvalid, (p) => ({
      action: 'document.purged',
      detail: { threads: p.threads.length, comments: p.comments, by: 'cli' },
    }));
    console.log(JSON.stringify(purged, null, 2));
  });

program
  .command('reindex')
  .description(
    'rebuild the search index of one document, or of every document, from what is stored (safe while servers run: it waits for the projector and writes only the rows that differ)',
  )
  .argument('[docId]')
  .action(async (docId: string | undefined) => {
    const storage = await openStorage(loadConfig());
    try {
      const ids = docId ? [docId] : (await storage.listDocuments()).map((d) => d.id);
      let indexed = 0;
      for (const id of ids) {
        if (await reindexDocument(storage, id)) indexed++;
        else if (docId) throw new Error(`no document "${docId}"`);
      }
      console.log(`reindexed ${indexed} document${indexed === 1 ? '' : 's'}`);
    } finally {
      await storage.close();
    }
  });

const users = program.command('users').description('manage user accounts');
users
  .command('add')
  .description('create a user account')
  .argument('<username>')
  .requiredOption('--password <password>', 'at least 8 characters')
  .option('--name <name>', 'display name (default: the username)')
  .option('--admin', 'make the user an administrator', false)
  .action(async (username: string, opts: { password: string; name?: string; admin: boolean }) => {
    const name = username.trim().toLowerCase();
    if (!USERNAME.test(name)) throw new Error(`invalid username "${username}"`);
    if (opts.password.length < 8) throw new Error('the password needs at least 8 characters');
    const config = loadConfig();
    const storage = await commandStorage(config);
    try {
      const id = randomUUID();
      await storage.createUser({
        id,
        username: name,
        name: opts.name ?? username,
        passwordHash: await hashPassword(opts.password),
        isAdmin: opts.admin,
        createdAt: Date.now(),
      });
      console.log(`created ${name} (${id}) in ${storageLabel(config)}`);
    } catch (e) {
      if (e instanceof StorageError && e.code === 'conflict')
        throw new Error(`username "${name}" is taken`, { cause: e });
      throw e;
    } finally {
      await storage.close();
    }
  });

for (const [verb, disabled] of [
  ['disable', true],
  ['enable', false],
] as const) {
  users
    .command(verb)
    .description(
      disabled
        ? 'disable an account: it cannot sign in, and its tokens and sockets stop on every instance'
        : 'enable a disabled account again: it can sign in',
    )
    .argument('<username>')
    .action(async (username: string) => {
      const config = loadConfig();
      const storage = await openStorage(config);
      try {
        const user = await storage.getUserByUsername(username.trim().toLowerCase());
        if (!user) throw new Error(`no user "${username}"`);
        await storage.setUserDisabled(user.id, disabled);
        await storage.audit({
          docId: null,
          actorId: null,
          action: disabled ? 'user.disabled' : 'user.enabled',
          detail: { username: user.username, by: 'cli' },
        });
        // Running instances hear it at once over Redis, or read it on their catch-up timer.
        const access = await announcer(storage, config);
        await access.userChanged(user.id, disabled);
        await access.close();
        console.log(`${disabled ? 'disabled' : 'enabled'} ${user.username}`);
      } finally {
        await storage.close();
      }
    });
}

users
  .command('password')
  .description("set an account's password: its earlier tokens and sockets stop on every instance")
  .argument('<username>')
  .requiredOption('--password <password>', 'the new password, at least 8 characters')
  .action(async (username: string, opts: { password: string }) => {
    if (opts.password.length < 8) throw new Error('the password needs at least 8 characters');
    const config = loadConfig();
    const storage = await commandStorage(config);
    try {
      const user = await storage.getUserByUsername(username.trim().toLowerCase());
      if (!user) throw new Error(`no user "${username}"`);
      await storage.setPassword(user.id, await hashPassword(opts.password));
      await storage.audit({
        docId: null,
        actorId: null,
        action: 'user.password',
        detail: { username: user.username, by: 'cli' },
      });
      const access = await announcer(storage, config);
      await access.revokeUser(user.id);
      await access.close();
      console.log(`password set for ${user.username}; their earlier sessions are signed out`);
    } finally {
      await storage.close();
    }
  });

program.parseAsync().catch((e: Error) => {
  console.error(`marginalia: ${e instanceof ConfigError ? 'configuration: ' : ''}${e.message}`);
  process.exit(1);
});
