/**
 * The handlers against what API Gateway (or a confused caller) can hand them, on a real
 * redis-server: event shapes, base64 bodies, hand-made and malformed events, the deployed module
 * wiring, deadlines, and one backend connection per execution environment.
 */
import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas/api-gateway';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { Redis } from 'ioredis';
import { createApiHandlers } from '../../lambda/handlers/operations';
import type { ApiRuntime } from '../../lambda/shared/limiter';
import type { LimiterLibrary } from '../../lambda/shared/library';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import { uniqueCreator } from '../support/http-scenarios';
import { apiGatewayEvent, lambdaContext } from '../support/lambda-events';
import { closeRuntimes, elastiCacheEnv, replyOf, testRuntime } from '../support/lambda-runtime';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

let redis: RedisProcess;
let inspector: Redis;
let runtime: ApiRuntime;
let handlers: ReturnType<typeof createApiHandlers>;

beforeAll(async () => {
  redis = await startRedis();
  inspector = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  await inspector.connect();
  runtime = testRuntime(elastiCacheEnv(redis));
  handlers = createApiHandlers(runtime);
});

afterAll(async () => {
  await closeRuntimes();
  inspector?.disconnect();
  await redis?.stop();
});

/** Connections Redis has open right now (CLIENT LIST lines). */
async function clientCount(client: Redis): Promise<number> {
  return String(await client.client('LIST'))
    .trim()
    .split('\n').length;
}

const reply = (result: APIGatewayProxyResult) => replyOf(result.statusCode, result.headers ?? {}, result.body);
const checkEvent = (body: unknown, extra: { base64?: boolean } = {}) =>
  apiGatewayEvent({ method: 'POST', path: '/v1/check', body, ...extra });

describe('event shapes', () => {
  it('the test events satisfy the Powertools API Gateway proxy event schema', () => {
    for (const event of [
      checkEvent({ creatorId: 'a', tier: 'pro' }),
      checkEvent({ creatorId: 'a', tier: 'pro' }, { base64: true }),
      apiGatewayEvent({ method: 'GET', path: '/v1/status/a%2Fb?tier=pro&tier=starter', headers: { Accept: ['x', 'y'] } }),
    ]) {
      const parsed = APIGatewayProxyEventSchema.safeParse(event);
      expect(parsed.error?.issues ?? []).toEqual([]);
    }
  });

  it('decodes base64 bodies (isBase64Encoded)', async () => {
    const result = reply(
      await handlers.check(checkEvent({ creatorId: uniqueCreator('b64'), tier: 'pro' }, { base64: true }), lambdaContext()),
    );
    expect(result.status).toBe(200);
  });

  it.each([
    ['not base64', { body: 'this is not base64!', isBase64Encoded: true }],
    ['base64 of bytes that are not UTF-8', { body: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]).toString('base64'), isBase64Encoded: true }],
    ['a body that is not a string', { body: { creatorId: 'a', tier: 'pro' } as unknown as string }],
  ])('rejects %s as 400 body', async (_label, overrides) => {
    const result = reply(await handlers.check({ ...checkEvent({}), ...overrides }, lambdaContext()));
    expect(result.status).toBe(400);
    expect(result.body.field).toBe('body');
  });

  it.each([
    ['base64 of a body over 16 KiB', { body: Buffer.alloc(17 * 1024, 0x20).toString('base64'), isBase64Encoded: true }],
    ['a body over 16 KiB of multi-byte characters', { body: `{"creatorId":"${'é'.repeat(9000)}"}` }],
  ])('rejects %s as 413 body', async (_label, overrides) => {
    const result = reply(await handlers.check({ ...checkEvent({}), ...overrides }, lambdaContext()));
    expect(result.status).toBe(413);
    expect(result.body).toMatchObject({ field: 'body', limitBytes: 16 * 1024 });
  });

  it('keeps query parameters named like Object.prototype members, and refuses them by name', async () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const event = {
        ...checkEvent({ creatorId: 'a', tier: 'pro' }),
        queryStringParameters: JSON.parse(`{"${name}":"x"}`),
        multiValueQueryStringParameters: null,
      };
      const result = reply(await handlers.check(event, lambdaContext()));
      expect({ status: result.status, field: result.body.field }).toEqual({ status: 400, field: name });
    }
  });

  it('serves hand-made events without resource or pathParameters from the path', async () => {
    const creatorId = uniqueCreator('bare');
    const check = reply(await handlers.check({ httpMethod: 'POST', path: '/v1/check', body: JSON.stringify({ creatorId, tier: 'pro' }) }));
    expect(check.status).toBe(200);
    const status = reply(await handlers.status({ httpMethod: 'GET', path: `/v1/status/${encodeURIComponent(creatorId)}` }));
    expect(status.status).toBe(200);
    expect(status.body.remaining).toBe(99);
    const badPath = reply(await handlers.status({ httpMethod: 'GET', path: '/v1/status/%E0%A4%A' }));
    expect({ status: badPath.status, field: badPath.body.field }).toEqual({ status: 400, field: 'creatorId' });
  });

  it('answers 404 for an event of another route, whatever the function', async () => {
    const statusEvent = apiGatewayEvent({ method: 'GET', path: '/v1/status/someone' });
    for (const handler of [handlers.check, handlers.settle, handlers.reset]) {
      expect((await handler(statusEvent, lambdaContext())).statusCode).toBe(404);
    }
    expect((await handlers.status(checkEvent({ creatorId: 'a', tier: 'pro' }), lambdaContext())).statusCode).toBe(404);
  });

  it('reads the multi-value query map and null maps as API Gateway sends them', async () => {
    const base = apiGatewayEvent({ method: 'GET', path: '/v1/status/someone' });
    const twice: APIGatewayProxyEvent = {
      ...base,
      queryStringParameters: null,
      multiValueQueryStringParameters: { tier: ['pro', 'business'] },
    };
    const repeated = reply(await handlers.status(twice, lambdaContext()));
    expect({ status: repeated.status, field: repeated.body.field }).toEqual({ status: 400, field: 'tier' });
    const nulls = {
      ...base,
      headers: null,
      multiValueHeaders: null,
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      stageVariables: null,
    };
    expect((await handlers.status(nulls as unknown as APIGatewayProxyEvent, lambdaContext())).statusCode).toBe(200);
    const noParameters = reply(await handlers.status({ ...base, pathParameters: null }, lambdaContext()));
    expect({ status: noParameters.status, field: noParameters.body.field }).toEqual({ status: 400, field: 'creatorId' });
  });

  it.each([
    ['null', null, 'event'],
    ['an array', [], 'event'],
    ['a string', 'GET /v1/check', 'event'],
    ['an empty object', {}, 'httpMethod'],
    ['a numeric httpMethod', { httpMethod: 7, path: '/v1/check' }, 'httpMethod'],
    ['headers that are a string', { ...checkEvent({}), headers: 'x' }, 'headers'],
    ['a numeric query value', { ...checkEvent({}), queryStringParameters: { tier: 5 } }, 'queryStringParameters.tier'],
  ])('answers 400 naming the field for %s as event', async (_label, event, field) => {
    const result = reply(await handlers.check(event));
    expect(result.status).toBe(400);
    expect(result.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(result.body.field).toBe(field);
  });
});

describe('deployed module wiring', () => {
  // The handler module created the shared runtime: asking for it again must not build another.
  const notBuiltAgain = (): never => {
    throw new Error('the shared runtime should exist already');
  };
  const runtimeExists: LimiterLibrary = { createRateLimiter: notBuiltAgain, rateLimiterOptionsFromEnv: notBuiltAgain };
  const connectionCount = () => clientCount(inspector);

  it('a handler module has no side effect outside Lambda, and binds the shared runtime on first call', async () => {
    const env = elastiCacheEnv(redis);
    const saved = { ...process.env };
    Object.assign(process.env, env);
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    try {
      const before = await connectionCount();
      let check!: typeof import('../../lambda/handlers/check');
      let shared!: typeof import('../../lambda/shared/runtime');
      jest.isolateModules(() => {
        check = require('../../lambda/handlers/check');
        shared = require('../../lambda/shared/runtime');
      });
      expect(await connectionCount()).toBe(before);
      const result = await check.handler(checkEvent({ creatorId: uniqueCreator('module'), tier: 'pro' }), lambdaContext());
      expect(result.statusCode).toBe(200);
      expect(await connectionCount()).toBe(before + 1);
      await shared.sharedApiRuntime(runtimeExists).close();
    } finally {
      process.env = saved;
    }
  });

  it('inside Lambda (AWS_LAMBDA_FUNCTION_NAME) the module connects and warms up while it loads', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, elastiCacheEnv(redis), { AWS_LAMBDA_FUNCTION_NAME: 'creator-rate-limit-status' });
    try {
      const before = await connectionCount();
      let shared!: typeof import('../../lambda/shared/runtime');
      jest.isolateModules(() => {
        require('../../lambda/handlers/status');
        shared = require('../../lambda/shared/runtime');
      });
      await shared.sharedApiRuntime(runtimeExists).limiter();
      expect(await connectionCount()).toBe(before + 1);
      await shared.sharedApiRuntime(runtimeExists).close();
    } finally {
      process.env = saved;
    }
  });
});

describe('one connection, bounded calls', () => {
  it('serves every route of an execution environment over one connection', async () => {
    const clients = () => clientCount(inspector);
    const before = await clients();
    const local = testRuntime(elastiCacheEnv(redis));
    const routes = createApiHandlers(local);
    const creatorId = uniqueCreator('reuse');
    for (let round = 0; round < 5; round += 1) {
      await routes.check(checkEvent({ creatorId, tier: 'pro', tokens: 10, requestId: `r${round}` }), lambdaContext());
      await routes.settle(
        apiGatewayEvent({ method: 'POST', path: '/v1/settle', body: { creatorId, tier: 'pro', requestId: `r${round}`, tokens: 5 } }),
        lambdaContext(),
      );
      await routes.status(apiGatewayEvent({ method: 'GET', path: `/v1/status/${creatorId}` }), lambdaContext());
    }
    await routes.reset(apiGatewayEvent({ method: 'POST', path: '/v1/reset', body: { creatorId } }), lambdaContext());
    expect(await clients()).toBe(before + 1);
  });

  it('leaves no timer behind when a handler returns', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length;
    await handlers.check(checkEvent({ creatorId: uniqueCreator('warm'), tier: 'pro' }), lambdaContext());
    const before = timers();
    for (let index = 0; index < 5; index += 1) {
      await handlers.check(checkEvent({ creatorId: uniqueCreator('timers'), tier: 'pro' }), lambdaContext());
      await handlers.status(apiGatewayEvent({ method: 'GET', path: '/v1/status/nobody' }), lambdaContext());
    }
    expect(timers()).toBe(before);
  });

  it('answers 503 within the deadline when Redis stops answering, and recovers', async () => {
    const paused = await startRedis();
    const pausedRuntime = testRuntime(elastiCacheEnv(paused, { RATE_LIMIT_TIMEOUT_MS: '150' }));
    const local = createApiHandlers(pausedRuntime);
    try {
      const creatorId = uniqueCreator('pause');
      expect((await local.check(checkEvent({ creatorId, tier: 'pro' }), lambdaContext())).statusCode).toBe(200);
      paused.pause();
      const started = Date.now();
      const result = reply(await local.check(checkEvent({ creatorId, tier: 'pro' }), lambdaContext()));
      const elapsed = Date.now() - started;
      expect(result.status).toBe(503);
      expect(result.headers['retry-after']).toBe('60');
      expect(elapsed).toBeLessThan(1000);
      paused.resume();
      // The circuit breaker may hold calls for its cool-down before probing again.
      let recovered = 0;
      for (let attempt = 0; attempt < 20 && recovered !== 200; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        recovered = (await local.check(checkEvent({ creatorId, tier: 'pro' }), lambdaContext())).statusCode;
      }
      expect(recovered).toBe(200);
    } finally {
      paused.resume();
      await pausedRuntime.close();
      await paused.stop();
    }
  });
});
