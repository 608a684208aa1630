/** The token signing key in DATA_DIR/secret.key: created once, whole, and kept. */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSecret } from '@marginalia/server/auth/tokens.js';
import { tempDir } from '../support/server.js';

const text = (key: Uint8Array) => new TextDecoder().decode(key);

describe('secret.key', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  test('is created once (32 random bytes, owner-only), with no temporary file left, and then kept', () => {
    const first = text(loadSecret(null, dir.path));
    expect(Buffer.from(first, 'base64')).toHaveLength(32);
    expect(readdirSync(dir.path)).toEqual(['secret.key']);
    expect(statSync(join(dir.path, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(text(loadSecret(null, dir.path))).toBe(first);
  });

  test('an empty one (created, then the power went before it reached the disk) is replaced by a new key', () => {
    writeFileSync(join(dir.path, 'secret.key'), '');
    const key = text(loadSecret(null, dir.path));
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(readFileSync(join(dir.path, 'secret.key'), 'utf8')).toBe(key);
  });

  test('a key someone put there is used as it is; MARGINALIA_SECRET takes precedence over the file', () => {
    writeFileSync(join(dir.path, 'secret.key'), 'a-short-key-of-their-own\n');
    expect(text(loadSecret(null, dir.path))).toBe('a-short-key-of-their-own');
    expect(text(loadSecret('from-the-environment', dir.path))).toBe('from-the-environment');
  });
});
