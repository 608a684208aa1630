/**
 * Both storage engines, for a suite that runs the same tests on each: the name, whether the engine can be used here
 * (PostgreSQL must be reachable), and how to open a fresh storage on it (a temporary SQLite file, or a PostgreSQL
 * schema of its own). Each storage opened registers its closing and removal in `cleanups`, run after each test.
 */
import { join } from 'node:path';
import { openSqliteStorage } from '@marginalia/server/storage/sqlite.js';
import { openPostgresStorage } from '@marginalia/server/storage/postgres.js';
import type { Storage } from '@marginalia/server/storage/types.js';
import { POSTGRES_URL, dropSchema, postgresReachable, uniqueSchema } from './services.js';
import { tempDir } from './server.js';

export type Engine = [name: string, available: boolean, open: () => Promise<Storage>];

export async function storageEngines(
  schemaPrefix: string,
  cleanups: (() => Promise<void> | void)[],
): Promise<Engine[]> {
  const pgAvailable = await postgresReachable();
  return [
    [
      'SQLite',
      true,
      async () => {
        const dir = tempDir();
        cleanups.push(() => dir.remove());
        const storage = await openSqliteStorage(join(dir.path, 'm.db'));
        cleanups.push(() => storage.close());
        return storage;
      },
    ],
    [
      'PostgreSQL',
      pgAvailable,
      async () => {
        const schema = uniqueSchema(schemaPrefix);
        cleanups.push(() => dropSchema(schema));
        const storage = await openPostgresStorage({ connectionString: POSTGRES_URL, schema });
        cleanups.push(() => storage.close());
        return storage;
      },
    ],
  ];
}
