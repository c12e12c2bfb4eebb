/**
 * The http backend against the functions as deployed: each handler bundled by esbuild and run in
 * its own Node process like the Lambda runtime runs it (one event at a time per instance), behind
 * a loopback gateway that verifies SigV4 as IAM authorization does and turns each request into an
 * API Gateway proxy event. Every request and answer is also checked against docs/openapi.yaml.
 */
import { RateLimitError, RateLimitInputError } from '../../../lambda/rate-limit/core/errors';
import { createHttpRateLimiter } from '../../../lambda/rate-limit/http';
import { ROUTE_NAMES, type RouteName } from '../../../lambda/shared/routes';
import { startRedis, type RedisProcess } from '../../harness/redis-process';
import { uniqueCreator } from '../../support/http-scenarios';
import { BundledFunction, bundleHandlers, type Bundles } from '../../support/lambda-bundle';
import { apiGatewayEvent, routeNameFor, type ApiCall } from '../../support/lambda-events';
import { TEST_TIERS_JSON } from '../../support/lambda-runtime';
import { assertConformsToContract } from '../../support/openapi-contract';
import { startLoopbackGateway, type Forward, type LoopbackGateway } from '../../support/sigv4-gateway';

const CREDENTIALS = { accessKeyId: 'AKIDBUNDLETEST0001', secretAccessKey: 'bundle-test-secret' };
const REGION = 'us-east-1';

let redis: RedisProcess;
let bundles: Bundles;
let gateway: LoopbackGateway;
const functions = new Map<RouteName, BundledFunction>();

/** Each function instance handles one event at a time, as a Lambda execution environment does. */
function invokeInTurn(): Forward {
  const queues = new Map<RouteName, Promise<unknown>>();
  return async (request) => {
    const call: ApiCall = {
      method: request.method,
      path: request.url,
      headers: request.headers,
      body: request.body.length > 0 ? request.body : undefined,
    };
    const route = routeNameFor(call);
    const previous = queues.get(route) ?? Promise.resolve();
    const invocation = previous.catch(() => undefined).then(() => functions.get(route)!.invoke(apiGatewayEvent(call)));
    queues.set(route, invocation);
    const { result } = await invocation;
    const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
    const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]));
    assertConformsToContract(
      { method: call.method, path: call.path, body: request.body },
      { status: result.statusCode, headers, text: body },
    );
    return { status: result.statusCode, headers, body };
  };
}

beforeAll(async () => {
  [redis, bundles] = await Promise.all([startRedis(), bundleHandlers()]);
  const env = {
    RATE_LIMIT_BACKEND: 'elasticache',
    ELASTICACHE_REDIS_HOST: redis.host,
    ELASTICACHE_REDIS_PORT: String(redis.port),
    RATE_LIMIT_FAIL_MODE: 'closed',
    RATE_LIMIT_TIMEOUT_MS: '2000',
    RATE_LIMIT_TIERS: TEST_TIERS_JSON,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  for (const route of ROUTE_NAMES) functions.set(route, BundledFunction.start(bundles, route, env));
  await Promise.all([...functions.values()].map((fn) => fn.ready()));
  gateway = await startLoopbackGateway({ forward: invokeInTurn(), iam: { credentials: CREDENTIALS, region: REGION } });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([...functions.values()].map((fn) => fn.stop()));
  await redis?.stop();
  await bundles?.remove();
});

const limiter = () =>
  createHttpRateLimiter({ url: gateway.url, signing: 'sigv4', region: REGION, credentials: CREDENTIALS, timeoutMs: 10_000 });

it('admits exactly the limit of concurrent signed checks: 20 on a 3-per-minute tier admit 3', async () => {
  const client = limiter();
  const creatorId = uniqueCreator('bundled');
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => client.check(creatorId, 'tiny')));
  expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(3);
  const denials = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
  expect(denials).toHaveLength(17);
  for (const denial of denials) {
    expect(denial).toBeInstanceOf(RateLimitError);
    expect(denial).toMatchObject({ limit: 3, remaining: 0, policy: 'requests-per-minute' });
  }
  expect((await client.status(creatorId, 'tiny')).policies[0]).toMatchObject({ used: 3, remaining: 0 });
});

it('reserves, settles and resets through the deployed functions; a bad tier is RateLimitInputError', async () => {
  const client = limiter();
  const creatorId = uniqueCreator('bundled-settle');
  const decision = await client.check(creatorId, 'tiny', { tokens: 400 });
  expect(decision).toMatchObject({ reservedTokens: 400, degraded: false });
  const settled = await client.settle(creatorId, 'tiny', decision.requestId, 100);
  expect(settled).toMatchObject({ outcome: 'settled', reservedTokens: 400, chargedTokens: 100 });
  await client.reset(creatorId);
  expect((await client.status(creatorId, 'tiny')).remaining).toBe(3);
  await expect(client.check(creatorId, 'gold')).rejects.toBeInstanceOf(RateLimitInputError);
});
