/**
 * Each handler bundled by esbuild as deployed, loaded in a fresh Node process with the deployed
 * environment variables, against a real redis-server (ElastiCache backend) and the
 * Upstash-compatible REST server: it starts without loading the AWS SDK, answers, and its second
 * invocation reuses the connection the first one (or init) opened.
 */
import { Redis } from 'ioredis';
import { ROUTE_NAMES, type RouteName } from '../../lambda/shared/routes';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import { uniqueCreator } from '../support/http-scenarios';
import { BundledFunction, bundleHandlers, type Bundles } from '../support/lambda-bundle';
import { apiGatewayEvent, type ApiCall } from '../support/lambda-events';

let redis: RedisProcess;
let upstash: UpstashCompatibleServer;
let inspector: Redis;
let bundles: Bundles;

beforeAll(async () => {
  [redis, bundles] = await Promise.all([startRedis(), bundleHandlers()]);
  upstash = await startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token: 'bundle-test-token' });
  inspector = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  await inspector.connect();
}, 120_000);

afterAll(async () => {
  inspector?.disconnect();
  await upstash?.stop();
  await redis?.stop();
  await bundles?.remove();
});

/** Environment as the CDK stacks set it (lib/constructs/rate-limit-functions.ts), per backend. */
function deployedEnv(backend: 'elasticache' | 'upstash'): Record<string, string> {
  const common = {
    RATE_LIMIT_FAIL_MODE: 'closed',
    RATE_LIMIT_TIMEOUT_MS: '1000',
    POWERTOOLS_SERVICE_NAME: 'creator-rate-limit',
    POWERTOOLS_METRICS_NAMESPACE: 'CreatorRateLimit',
    AWS_LAMBDA_LOG_LEVEL: 'INFO',
  };
  return backend === 'elasticache'
    ? { ...common, RATE_LIMIT_BACKEND: 'elasticache', ELASTICACHE_REDIS_HOST: redis.host, ELASTICACHE_REDIS_PORT: String(redis.port) }
    : { ...common, RATE_LIMIT_BACKEND: 'upstash', UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token };
}

/** Two requests for the route's function. */
function callsFor(route: RouteName, creatorId: string): [ApiCall, ApiCall] {
  switch (route) {
    case 'check':
      return [
        { method: 'POST', path: '/v1/check', body: { creatorId, tier: 'pro' } },
        { method: 'POST', path: '/v1/check', body: { creatorId, tier: 'pro', tokens: 100, requestId: 'bundle-1' }, base64: true },
      ];
    case 'settle':
      return [
        { method: 'POST', path: '/v1/settle', body: { creatorId, tier: 'pro', requestId: 'never-made', tokens: 5 } },
        { method: 'POST', path: '/v1/settle', body: { creatorId, tier: 'starter', requestId: 'never-made-2', tokens: 0 } },
      ];
    case 'status':
      return [
        { method: 'GET', path: `/v1/status/${creatorId}` },
        { method: 'GET', path: `/v1/status/${creatorId}?tier=business` },
      ];
    case 'reset':
      return [
        { method: 'POST', path: '/v1/reset', body: { creatorId } },
        { method: 'POST', path: '/v1/reset', body: { creatorId, tier: 'starter' } },
      ];
    case 'setOverride':
      return [
        {
          method: 'PUT',
          path: `/v1/overrides/${creatorId}`,
          body: { policies: { 'requests-per-hour': { limit: 7 } }, reason: 'bundle test' },
        },
        {
          method: 'PUT',
          path: `/v1/overrides/${creatorId}?tier=starter`,
          body: { policies: { 'in-flight': { limit: 3 } }, reason: 'again' },
          base64: true,
        },
      ];
    case 'getOverride':
      return [
        { method: 'GET', path: `/v1/overrides/${creatorId}` },
        { method: 'GET', path: `/v1/overrides/${creatorId}?tier=business` },
      ];
    case 'removeOverride':
      return [
        { method: 'DELETE', path: `/v1/overrides/${creatorId}` },
        { method: 'DELETE', path: `/v1/overrides/${creatorId}?tier=starter` },
      ];
  }
}

/** Ids of the clients connected to Redis now. */
async function clientIds(): Promise<Set<string>> {
  const list = String(await inspector.client('LIST'));
  return new Set([...list.matchAll(/^id=(\d+) /gm)].map((match) => match[1]));
}

const newIds = (now: Set<string>, before: Set<string>) => [...now].filter((id) => !before.has(id));

it('bundles every handler, with the AWS SDK left out', () => {
  for (const route of ROUTE_NAMES) {
    // Powertools, zod, ioredis and @upstash/redis are inside; a bundle that pulled in the SDK would be several MB.
    expect(bundles.bytes[route]).toBeGreaterThan(50_000);
    expect(bundles.bytes[route]).toBeLessThan(2_000_000);
  }
});

describe.each(['elasticache', 'upstash'] as const)('bundled handlers on %s', (backend) => {
  it.each(ROUTE_NAMES)('%s starts, answers two invocations, and reuses its connection', async (route) => {
    const before = await clientIds();
    upstash.resetStats();
    const fn = BundledFunction.start(bundles, route, deployedEnv(backend));
    try {
      const ready = await fn.ready();
      expect(ready.sdkLoaded).toBe(false);

      const [firstCall, secondCall] = callsFor(route, uniqueCreator(`bundle-${route}`));
      const first = await fn.invoke(apiGatewayEvent(firstCall));
      const afterFirst = await clientIds();
      const second = await fn.invoke(apiGatewayEvent(secondCall));
      const afterSecond = await clientIds();

      for (const { result } of [first, second]) {
        expect(result.statusCode).toBe(200);
        expect(result.headers?.['Content-Type']).toMatch(/^application\/json/);
        expect(result.headers?.RateLimit).toMatch(/^"requests-per-hour";r=\d+;t=\d+/);
        expect(() => JSON.parse(result.body)).not.toThrow();
      }
      expect(second.newSockets).toBe(0);
      expect(second.sdkLoaded).toBe(false);
      if (backend === 'elasticache') {
        // One TCP connection for init and both invocations, the same Redis client throughout.
        expect(second.totalSockets).toBe(1);
        const opened = newIds(afterFirst, before);
        expect(opened).toHaveLength(1);
        expect(newIds(afterSecond, before)).toEqual(opened);
      } else {
        // REST over fetch's keep-alive pool: init makes no backend call (it only loads fetch).
        // The first invocation opens the pool's connections (fetch may open a second one for a
        // call that follows another at once); later invocations reuse them.
        expect(ready.sockets).toBe(0);
        expect(ready.fetchLoaded).toBe(true);
        expect(first.totalSockets).toBe(first.newSockets);
        expect(first.newSockets).toBeGreaterThanOrEqual(1);
        expect(first.newSockets).toBeLessThanOrEqual(2);
        expect(upstash.stats.httpRequests).toBeGreaterThanOrEqual(2);
      }
      // The function's own output: structured logs and EMF only, nothing at ERROR.
      const records = fn.output.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records.filter((record) => record.level === 'ERROR')).toEqual([]);
      expect(records).toContainEqual(expect.objectContaining({ _aws: expect.any(Object), service: 'creator-rate-limit' }));
    } finally {
      await fn.stop();
    }
  });
});

it('logs ioredis debug output when DEBUG asks for it, with supports-color absent as in Lambda', async () => {
  // supports-color is external (lib/constructs/function-bundling.ts) and nothing here provides it:
  // no NODE_PATH, and the bundle's directory has no node_modules. debug must load without it.
  const fn = BundledFunction.start(bundles, 'check', { ...deployedEnv('elasticache'), NODE_PATH: '', DEBUG: 'ioredis:*' });
  try {
    await fn.ready();
    const [call] = callsFor('check', uniqueCreator('bundle-debug'));
    const { result } = await fn.invoke(apiGatewayEvent(call));
    expect(result.statusCode).toBe(200);
    expect(fn.output).toContainEqual(expect.stringMatching(/ioredis:redis status\[[^\]]+\]: \w+ -> ready/));
  } finally {
    await fn.stop();
  }
});
