/**
 * Limits that count across instances (rate-limiter-flexible): failed sign-ins per username and per IP address,
 * and open WebSocket connections per IP address. With REDIS_URL the counts live in Redis under REDIS_PREFIX, so
 * an attacker gains nothing by spreading attempts over the instances behind a load balancer; while Redis is
 * unreachable each instance counts on its own (the in-memory insurance limiter), and without Redis there is one.
 */
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from './config.js';
import { log } from './log.js';

/** A crashed instance's connections stop counting against their addresses after this (Redis only). */
const CONNECTION_COUNT_TTL_SECONDS = 3600;

function limiter(redis: Redis | null, keyPrefix: string, points: number, durationSeconds: number): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds });
  if (!redis) return memory;
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix,
    points,
    duration: durationSeconds,
    // Redis not ready: the instance counts on its own at once, instead of waiting for a reconnect.
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
}

/** Failures per key within a window: after `points` of them the key is refused until the window ends. */
export class FailureLimit {
  constructor(
    private readonly limiter: RateLimiterAbstract,
    private readonly points: number,
  ) {}

  /** Milliseconds until the key may try again, or 0 when it may now. */
  async blockedFor(key: string): Promise<number> {
    const r = await this.limiter.get(key);
    return r && r.consumedPoints >= this.points ? Math.max(r.msBeforeNext, 1) : 0;
  }

  async fail(key: string): Promise<void> {
    await this.limiter.penalty(key, 1);
  }

  async reset(key: string): Promise<void> {
    await this.limiter.delete(key);
  }
}

/** Open connections per key (IP address), across instances. */
export class ConnectionLimit {
  constructor(private readonly limiter: RateLimiterAbstract) {}

  /** Counts one more connection for the key, or false when it is at the limit (nothing counted). */
  async tryOpen(key: string): Promise<boolean> {
    try {
      await this.limiter.consume(key, 1);
      return true;
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      // A refused consume still counted: take it back, since this connection never opens.
      this.close(key);
      return false;
    }
  }

  close(key: string): void {
    this.limiter
      .reward(key, 1)
      .catch((e: Error) => log.debug('connection count not released', { error: e?.message ?? String(e) }));
  }
}

export class SharedLimits {
  readonly loginByUser: FailureLimit;
  readonly loginByIp: FailureLimit;
  readonly connections: ConnectionLimit;

  private constructor(
    config: Config,
    private readonly redis: Redis | null,
  ) {
    const { limits, redisPrefix } = config;
    const window = Math.ceil(limits.loginWindowMs / 1000);
    this.loginByUser = new FailureLimit(
      limiter(redis, `${redisPrefix}login-user`, limits.maxLoginFailuresPerUser, window),
      limits.maxLoginFailuresPerUser,
    );
    this.loginByIp = new FailureLimit(
      limiter(redis, `${redisPrefix}login-ip`, limits.maxLoginFailuresPerIp, window),
      limits.maxLoginFailuresPerIp,
    );
    // In memory a count never expires (connections are released as they close); in Redis it does, after an hour.
    this.connections = new ConnectionLimit(
      limiter(redis, `${redisPrefix}connections`, limits.maxConnectionsPerIp, redis ? CONNECTION_COUNT_TTL_SECONDS : 0),
    );
  }

  /** This instance's own counts (no Redis). */
  static inMemory(config: Config): SharedLimits {
    return new SharedLimits(config, null);
  }

  static async open(config: Config): Promise<SharedLimits> {
    if (!config.redisUrl) return new SharedLimits(config, null);
    const redis = new Redis(config.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (n: number) => Math.min(100 * 2 ** n, 2000),
    });
    redis.on('error', (e: Error) => log.debug('redis error (limits)', { error: e.message }));
    // Not awaited: limits count per instance until Redis answers.
    redis.connect().catch((e: Error) => log.debug('redis unavailable for limits', { error: e.message }));
    return new SharedLimits(config, redis);
  }

  close(): void {
    this.redis?.disconnect();
  }
}
