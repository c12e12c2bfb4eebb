/**
 * The HTTP API scenarios delivered to the handlers as API Gateway events, against a real
 * redis-server (ElastiCache backend) and the Upstash-compatible REST server in front of it.
 */
import { findFreePort } from '../../scripts/redis/free-port';
import { startRedis, type RedisProcess } from '../../scripts/redis/redis-process';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../../scripts/redis/upstash-compatible-server';
import { defineApiScenarios } from '../support/http-scenarios';
import {
  closeRuntimes,
  elastiCacheEnv,
  handlerTransport,
  startBlackHole,
  testRuntime,
  upstashEnv,
  TEST_TIERS_JSON,
} from '../support/lambda-runtime';

let redis: RedisProcess;
let upstash: UpstashCompatibleServer;
let blackHole: Awaited<ReturnType<typeof startBlackHole>>;

beforeAll(async () => {
  redis = await startRedis();
  upstash = await startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token: 'handler-test-token' });
  blackHole = await startBlackHole();
});

afterAll(async () => {
  await closeRuntimes();
  await blackHole?.stop();
  await upstash?.stop();
  await redis?.stop();
});

/** A Redis endpoint that accepts connections and never answers. */
function unreachableEnv(failMode: 'closed' | 'open') {
  return {
    RATE_LIMIT_BACKEND: 'elasticache',
    ELASTICACHE_REDIS_HOST: '127.0.0.1',
    ELASTICACHE_REDIS_PORT: String(blackHole.port),
    RATE_LIMIT_FAIL_MODE: failMode,
    RATE_LIMIT_TIMEOUT_MS: '200',
    RATE_LIMIT_TIERS: TEST_TIERS_JSON,
  };
}

describe('handlers on ElastiCache (redis-server)', () => {
  defineApiScenarios(() => ({
    healthy: () => handlerTransport(testRuntime(elastiCacheEnv(redis))),
    unreachable: async (failMode) => handlerTransport(testRuntime(unreachableEnv(failMode))),
  }));
});

describe('handlers on Upstash (REST emulator)', () => {
  defineApiScenarios(() => ({
    healthy: () => handlerTransport(testRuntime(upstashEnv(upstash))),
    unreachable: async (failMode) =>
      // Nothing listens on this port: every request is refused.
      handlerTransport(
        testRuntime({
          ...upstashEnv(upstash),
          UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${await findFreePort()}`,
          RATE_LIMIT_FAIL_MODE: failMode,
          RATE_LIMIT_TIMEOUT_MS: '300',
        }),
      ),
  }));
});
