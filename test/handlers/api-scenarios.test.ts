/**
 * The HTTP API scenarios delivered to the handlers as API Gateway events, against a real
 * redis-server (ElastiCache backend) and the Upstash-compatible REST server in front of it.
 */
import { findFreePort } from '../harness/free-port';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import { defineApiScenarios } from '../support/http-scenarios';
import { elastiCacheEnv, handlerTransport, testRuntime, unansweredEnv, upstashEnv, useHandlerTestServers } from '../support/lambda-runtime';

let upstash: UpstashCompatibleServer;
// Hooks run in the order they are declared: the REST server stops before, and starts after, the
// redis-server behind it.
afterAll(async () => {
  await upstash?.stop();
});
const servers = useHandlerTestServers();
beforeAll(async () => {
  const { host, port } = servers.redis;
  upstash = await startUpstashCompatibleServer({ redis: { host, port }, token: 'handler-test-token' });
});

describe('handlers on ElastiCache (redis-server)', () => {
  defineApiScenarios(() => ({
    healthy: () => handlerTransport(testRuntime(elastiCacheEnv(servers.redis))),
    unreachable: async (failMode) => handlerTransport(testRuntime(unansweredEnv(servers.blackHole, { RATE_LIMIT_FAIL_MODE: failMode }))),
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
