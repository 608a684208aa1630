/**
 * Signed, expiring session tokens (JWT, HS256, jose). The signing key comes from MARGINALIA_SECRET or is
 * generated once into DATA_DIR/secret.key, so tokens survive restarts.
 */
import { SignJWT, jwtVerify, errors } from 'jose';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
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
