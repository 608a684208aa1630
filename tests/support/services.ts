/**
 * External services for tests: PostgreSQL, Redis and Chromium. A suite that needs one is skipped (its name
 * says `[needs …]`, and the run's summary lists it) when the service is not reachable — unless
 * MARGINALIA_REQUIRE_SERVICES=1 (CI), in which case the suite runs and fails.
 */
import { describe } from '@jest/globals';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const REQUIRE_SERVICES = process.env.MARGINALIA_REQUIRE_SERVICES === '1';
export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function portOpen(host: string, port: number, timeout = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeout, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function postgresReachable(): Promise<boolean> {
  if (!(await portOpen('127.0.0.1', Number(new URL(POSTGRES_URL).port || 5432)))) return false;
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function redisReachable(): Promise<boolean> {
  const url = new URL(REDIS_URL);
  return portOpen(url.hostname, Number(url.port || 6379));
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/** `describe`, or a skipped one named `[needs <service>]` when the service is missing and not required. */
export function describeIfService(service: string, available: boolean): typeof describe {
  if (available || REQUIRE_SERVICES) return describe;
  return ((name: string, fn: () => void) =>
    describe.skip(`[needs ${service}] ${name}`, fn)) as unknown as typeof describe;
}

/** A fresh PostgreSQL schema name for one test file; drop it with `dropSchema`. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
