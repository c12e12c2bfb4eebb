/**
 * Real servers for library tests: one redis-server on a free loopback port and an
 * Upstash-compatible REST server in front of it, started once per test file. Each limiter gets
 * its own key prefix, so tests never see each other's state.
 */
import { Redis as IoRedis } from 'ioredis';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from '../../lambda/rate-limit';

export type BackendUnderTest = 'memory' | 'elasticache' | 'upstash';
export const ALL_BACKENDS: readonly BackendUnderTest[] = ['memory', 'elasticache', 'upstash'];
export const REDIS_BACKENDS: readonly BackendUnderTest[] = ['elasticache', 'upstash'];

/** Limiter options a test may set; the backend and its connection come from the test servers. */
export type LimiterOptions = Omit<RateLimiterOptions, 'backend' | 'store' | 'elasticache' | 'upstash' | 'clock'>;

/** Builds a limiter on the backend under test; shared scenarios take one of these. */
export type LimiterFactory = (options?: LimiterOptions) => RateLimiter;

export interface TestServers {
  readonly redis: RedisProcess;
  readonly upstash: UpstashCompatibleServer;
  /** A plain client for inspecting Redis from tests. */
  readonly inspector: IoRedis;
  /** A limiter on the given backend with a fresh key prefix; closed after the file. */
  limiter(backend: BackendUnderTest, options?: LimiterOptions): RateLimiter;
}

let prefixCounter = 0;

const silentLogger = { warn: () => undefined, error: () => undefined };

/** A key prefix no other limiter in this test process uses. */
export function uniqueKeyPrefix(): string {
  return `t${process.pid}x${(prefixCounter += 1)}`;
}

/** Registers beforeAll/afterAll hooks and returns a handle filled in once they ran. */
export function useTestServers(): TestServers {
  const limiters: RateLimiter[] = [];
  const handle = {} as { -readonly [K in keyof TestServers]: TestServers[K] };

  beforeAll(async () => {
    handle.redis = await startRedis();
    handle.upstash = await startUpstashCompatibleServer({
      redis: { host: handle.redis.host, port: handle.redis.port },
      token: 'test-token-not-a-secret',
    });
    handle.inspector = new IoRedis({ host: handle.redis.host, port: handle.redis.port, lazyConnect: true });
    await handle.inspector.connect();
  });

  afterAll(async () => {
    await Promise.all(limiters.map((limiter) => limiter.close()));
    handle.inspector?.disconnect();
    await handle.upstash?.stop();
    await handle.redis?.stop();
  });

  handle.limiter = (backend, options = {}) => {
    const keyPrefix = options.keyPrefix ?? uniqueKeyPrefix();
    // Generous deadlines: 2,000 concurrent checks on 2 shared cores must not trip them.
    // Anomaly warnings are expected in these tests (2,000 checks for one creator): keep them out of
    // the test output unless a test passes its own logger or onAnomaly.
    const common = { timeoutMs: 10_000, logger: silentLogger, ...options, keyPrefix };
    let limiter: RateLimiter;
    switch (backend) {
      case 'memory':
        limiter = createRateLimiter({ ...common, backend });
        break;
      case 'elasticache':
        limiter = createRateLimiter({ ...common, backend, elasticache: { host: handle.redis.host, port: handle.redis.port } });
        break;
      case 'upstash':
        limiter = createRateLimiter({ ...common, backend, upstash: { url: handle.upstash.url, token: handle.upstash.token } });
        break;
    }
    limiters.push(limiter);
    return limiter;
  };
  return handle;
}

/** A redis-server and a plain ioredis client of it, for tests that drive scripts directly; hooks as useTestServers. */
export interface RedisUnderTest {
  readonly redis: RedisProcess;
  readonly client: IoRedis;
}

export function useRedisClient(): RedisUnderTest {
  const handle = {} as { -readonly [K in keyof RedisUnderTest]: RedisUnderTest[K] };
  beforeAll(async () => {
    handle.redis = await startRedis();
    handle.client = new IoRedis({ host: handle.redis.host, port: handle.redis.port });
  });
  afterAll(async () => {
    handle.client?.disconnect();
    await handle.redis?.stop();
  });
  return handle;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `task` for each index with all calls in flight at once; returns the settled results. */
export function concurrently<T>(count: number, task: (index: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(Array.from({ length: count }, (_, index) => task(index)));
}
