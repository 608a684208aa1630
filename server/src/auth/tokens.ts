/**
 * Signed, expiring session tokens (JWT, HS256, jose). The signing key comes from MARGINALIA_SECRET or is
 * generated once into DATA_DIR/secret.key, so tokens survive restarts.
 */
import { SignJWT, jwtVerify, errors } from 'jose';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { log } from '../log.js';
import { syncDirectory } from '../sync-dir.js';

/** Who is calling: a stored user, or a guest who only gave a name. */
export interface Principal {
  id: string;
  username: string;
  name: string;
  guest: boolean;
  admin: boolean;
}

export function loadSecret(secret: string | null, dataDir: string): Uint8Array {
  if (secret) return new TextEncoder().encode(secret);
  const file = join(dataDir, 'secret.key');
  let key = readKey(file);
  if (key === '') {
    // Left empty by a power cut while it was created (or by an older version, which did not sync it): with
    // nothing to check tokens against, a new key costs no one more than signing in again.
    log.warn('secret.key is empty (lost in a crash?); a new one is generated and everyone signs in again', { file });
    unlinkSync(file);
    key = null;
  }
  if (key === null) {
    mkdirSync(dataDir, { recursive: true });
    createDurably(file, randomBytes(32).toString('base64'));
    key = readKey(file)!;
  }
  return new TextEncoder().encode(key);
}

function readKey(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Creates `file` with `content`, on the disk before any token is signed with it: written, synced, and its
 * directory synced. If the power goes before that, the file may be left empty (no token was signed with it yet:
 * `loadSecret` makes a new one). If another process created it first, theirs is kept.
 */
function createDurably(file: string, content: string): void {
  let fd;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as { code?: string }).code === 'EEXIST') return;
    throw e;
  }
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  syncDirectory(dirname(file));
}

export class Tokens {
  constructor(
    private readonly key: Uint8Array,
    private readonly ttlSeconds: number,
  ) {}

  async issue(p: Principal): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = Math.floor(Date.now() / 1000) + this.ttlSeconds;
    const token = await new SignJWT({ username: p.username, name: p.name, guest: p.guest, admin: p.admin })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(p.id)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(this.key);
    return { token, expiresAt: expiresAt * 1000 };
  }

  /** The principal of a valid token; a TokenError says why not ('expired' or 'invalid'). */
  async verify(token: string): Promise<Principal & { jti: string; exp: number }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.username !== 'string' || typeof payload.name !== 'string') {
        throw new TokenError('invalid');
      }
      return {
        id: payload.sub,
        username: payload.username,
        name: payload.name,
        guest: payload.guest === true,
        admin: payload.admin === true,
        jti: String(payload.jti ?? ''),
        exp: (payload.exp ?? 0) * 1000,
      };
    } catch (e) {
      if (e instanceof TokenError) throw e;
      if (e instanceof errors.JWTExpired) throw new TokenError('expired');
      throw new TokenError('invalid');
    }
  }
}

export class TokenError extends Error {
  constructor(readonly reason: 'expired' | 'invalid') {
    super(reason === 'expired' ? 'token expired' : 'invalid token');
  }
}
