/**
 * `marginalia users add` writes where the server reads. Run without the server's DATA_DIR (from another directory,
 * as a README reader might), it refuses with a message naming the database it looked for and how to point at the
 * right one, and creates no database; with the server's DATA_DIR the account it creates signs in on the running
 * server, and the command says which database it wrote to.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, login, startServer, tempDir, type TestServer } from '../support/server.js';

const run = promisify(execFile);

let server: TestServer;
const elsewhere = tempDir('marginalia-cwd-');
beforeAll(async () => {
  server = await startServer({ env: { MARGINALIA_SAMPLE: '0' } });
});
afterAll(async () => {
  await server?.dispose();
  elsewhere.remove();
});

/** The environment of a shell that has none of the server's settings. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
  return env;
}

describe('marginalia users add', () => {
  test('without the server DATA_DIR: refused with the path it looked at, and no database is created', async () => {
    const failure = await run(process.execPath, [CLI, 'users', 'add', 'ann', '--password', 'ann-password'], {
      cwd: elsewhere.path,
      env: bareEnv(),
    }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failure).not.toBeNull();
    expect(failure!.code).toBe(1);
    const expected = join(elsewhere.path, 'data', 'marginalia.db');
    expect(failure!.stderr).toContain(`no database at ${expected}`);
    expect(failure!.stderr).toContain('DATA_DIR');
    expect(existsSync(join(elsewhere.path, 'data'))).toBe(false);
    await expect(login(server.url, 'ann', 'ann-password')).rejects.toThrow();
  });

  test("with the server's DATA_DIR: created where the server reads, and it says where", async () => {
    const { stdout } = await run(
      process.execPath,
      [CLI, 'users', 'add', 'ann', '--password', 'ann-password', '--name', 'Ann Analyst'],
      { cwd: elsewhere.path, env: bareEnv({ DATA_DIR: server.dataDir }) },
    );
    expect(stdout).toMatch(/^created ann \([0-9a-f-]{36}\) in /);
    expect(stdout.trim().endsWith(join(server.dataDir, 'marginalia.db'))).toBe(true);
    expect(typeof (await login(server.url, 'ann', 'ann-password'))).toBe('string');
  });
});
