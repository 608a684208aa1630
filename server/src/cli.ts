#!/usr/bin/env node
/** The `marginalia` command: serve, import an article, manage users. */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { extname, basename } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ConfigError, loadConfig } from './config.js';
import { openStorage, startServer } from './server.js';
import { createDocument } from './documents.js';
import { hashPassword } from './auth/passwords.js';
import { USERNAME } from './http/auth-routes.js';
import { ROLES, type Role } from '@marginalia/shared';
import type { ArticleFormat } from './article/import.js';
import { StorageError } from './storage/types.js';

const program = new Command();
program.name('marginalia').description('Collaborative annotation server').version('0.1.0');

program
  .command('serve')
  .description('start the server (PORT, HOST, DATA_DIR … from the environment)')
  .action(async () => {
    const config = loadConfig();
    const server = await startServer(config);
    console.log(`Marginalia is running at ${server.url}  (data: ${config.dataDir}, storage: ${server.context.storage.kind})`);
    console.log(`Open ${server.url}/ in a browser; the sample document is at ${server.url}/d/sample`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: storing pending changes and closing connections…`);
      server.close().then(
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

const FORMATS: Record<string, ArticleFormat> = { '.txt': 'text', '.md': 'markdown', '.markdown': 'markdown', '.html': 'html', '.htm': 'html' };

program
  .command('import')
  .description('import an article file (.txt, .md, .html) as a new document')
  .argument('<file>', 'the article')
  .option('--title <title>', 'document title (default: the file name)')
  .addOption(new Option('--format <format>', 'text, markdown or html (default: from the extension)').choices(['text', 'markdown', 'html']))
  .option('--owner <username>', 'make this user the owner')
  .addOption(new Option('--guest-role <role>', 'let guests in with this role').choices([...ROLES]))
  .action(async (file: string, opts: { title?: string; format?: ArticleFormat; owner?: string; guestRole?: Role }) => {
    const config = loadConfig();
    const storage = await openStorage(config);
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
    const storage = await openStorage(loadConfig());
    try {
      const id = randomUUID();
      await storage.createUser({ id, username: name, name: opts.name ?? username, passwordHash: await hashPassword(opts.password), isAdmin: opts.admin, createdAt: Date.now() });
      console.log(`created ${name} (${id})`);
    } catch (e) {
      if (e instanceof StorageError && e.code === 'conflict') throw new Error(`username "${name}" is taken`);
      throw e;
    } finally {
      await storage.close();
    }
  });

program.parseAsync().catch((e: Error) => {
  console.error(`marginalia: ${e instanceof ConfigError ? 'configuration: ' : ''}${e.message}`);
  process.exit(1);
});
