/**
 * The local API server over real HTTP: the same scenarios as the handler tests (ElastiCache
 * backend on a real redis-server), plus what only the server does: choosing the embedded memory
 * backend, translating requests into API Gateway events, routing, 404 and 405, bodies on the wire.
 */
import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas/api-gateway';
import { startDevServer, type DevServer } from '../../scripts/dev-server';
import { toProxyEvent } from '../../scripts/dev-server/proxy-event';
import { findRoute } from '../../lambda/shared/routes';
import { httpTransport } from '../support/http-client';
import { defineApiScenarios, expectBadRequest, expectJson, expectProblem, uniqueCreator } from '../support/http-scenarios';
import { elastiCacheEnv, unansweredEnv, useHandlerTestServers } from '../support/lambda-runtime';

// The server uses the process-wide Powertools logger and metrics: keep them quiet here.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const servers: DevServer[] = [];

async function serve(env: Record<string, string | undefined>): Promise<DevServer> {
  const server = await startDevServer({ port: 0, env });
  servers.push(server);
  return server;
}

// Registered first, so the servers close before the redis-server they talk to stops.
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});
const handlerServers = useHandlerTestServers();

describe('local server over HTTP on ElastiCache (redis-server)', () => {
  defineApiScenarios(() => ({
    healthy: async () => httpTransport((await serve(elastiCacheEnv(handlerServers.redis))).url),
    unreachable: async (failMode) =>
      httpTransport((await serve(unansweredEnv(handlerServers.blackHole, { RATE_LIMIT_FAIL_MODE: failMode }))).url),
  }));
});

describe('local server specifics', () => {
  it('uses the embedded memory backend, and says so, when no backend is configured', async () => {
    const server = await serve({ PATH: process.env.PATH, ELASTICACHE_REDIS_HOST: 'redis.example' });
    expect(server.embeddedMemory).toBe(true);
    expect(server.backendDescription).toMatch(/embedded in-memory backend.*not for production/);
    expect(server.notes.join(' ')).toContain('RATE_LIMIT_BACKEND=elasticache');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const api = httpTransport(server.url);
    const reply = await api({ method: 'POST', path: '/v1/check', body: { creatorId: 'local', tier: 'pro' } });
    expectJson(reply, 200);
    expect(reply.body.remaining).toBe(99);
  });

  it('names a real backend without its credentials', async () => {
    const server = await serve(elastiCacheEnv(handlerServers.redis));
    expect(server.embeddedMemory).toBe(false);
    expect(server.backendDescription).toBe(`ElastiCache/Redis at 127.0.0.1:${handlerServers.redis.port}`);
  });

  it('refuses to start on an invalid configuration', async () => {
    await expect(startDevServer({ port: 0, env: { RATE_LIMIT_BACKEND: 'dynamodb' } })).rejects.toThrow(/RATE_LIMIT_BACKEND must be one of/);
    await expect(startDevServer({ port: 0, env: { RATE_LIMIT_BACKEND: 'memory', RATE_LIMIT_TIERS: '{"pro": {}}' } })).rejects.toThrow(
      /RATE_LIMIT_TIERS/,
    );
  });

  it('builds events that satisfy the Powertools API Gateway proxy event schema', () => {
    const match = findRoute('GET', '/v1/status/a%20b')!;
    const event = toProxyEvent(
      {
        method: 'GET',
        url: '/v1/status/a%20b?tier=pro&tier=business&x=1',
        rawHeaders: ['Host', '127.0.0.1:3000', 'Accept', 'a', 'accept', 'b'],
        body: Buffer.alloc(0),
        sourceIp: '127.0.0.1',
        host: '127.0.0.1:3000',
      },
      match,
    );
    expect(APIGatewayProxyEventSchema.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      resource: '/v1/status/{creatorId}',
      path: '/v1/status/a%20b',
      pathParameters: { creatorId: 'a b' },
      queryStringParameters: { tier: 'business', x: '1' },
      multiValueQueryStringParameters: { tier: ['pro', 'business'], x: ['1'] },
      multiValueHeaders: { Accept: ['a'], accept: ['b'] },
      body: null,
      isBase64Encoded: false,
    });
    const binary = toProxyEvent(
      { method: 'POST', url: '/v1/check', rawHeaders: [], body: Buffer.from([0xff, 0x00]), sourceIp: '127.0.0.1', host: 'h' },
      findRoute('POST', '/v1/check')!,
    );
    expect(binary).toMatchObject({ body: '/wA=', isBase64Encoded: true, queryStringParameters: null });
  });

  describe('on the wire', () => {
    let api: ReturnType<typeof httpTransport>;
    beforeAll(async () => {
      api = httpTransport((await serve(elastiCacheEnv(handlerServers.redis))).url);
    });

    it('passes a body that is not UTF-8 as base64, which the handler rejects as 400 body', async () => {
      expectBadRequest(await api({ method: 'POST', path: '/v1/check', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }), 'body');
    });

    it('answers 413 for a request body over 16 KiB without buffering it', async () => {
      const reply = await api({ method: 'POST', path: '/v1/check', body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
      expectProblem(reply, 413);
      expect(reply.body.field).toBe('body');
    });

    it('answers 400 creatorId for an undecodable path segment, 405 for a wrong method, 404 for anything unrouted', async () => {
      expectBadRequest(await api({ method: 'GET', path: '/v1/status/%E0%A4%A' }), 'creatorId');
      const wrongMethod = await api({ method: 'PUT', path: '/v1/check', body: {} });
      expectProblem(wrongMethod, 405);
      expect(wrongMethod.headers.allow).toBe('POST');
      expectProblem(await api({ method: 'GET', path: '/favicon.ico' }), 404);
    });

    it('serves concurrent requests exactly: 20 checks on a 3-per-minute tier admit 3', async () => {
      const creatorId = uniqueCreator('concurrent');
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => api({ method: 'POST', path: '/v1/check', body: { creatorId, tier: 'tiny' } })),
      );
      const statuses = replies.map((reply) => reply.status).sort();
      expect(statuses.filter((status) => status === 200)).toHaveLength(3);
      expect(statuses.filter((status) => status === 429)).toHaveLength(17);
    });
  });

  it('closes idempotently and frees its port', async () => {
    const server = await serve({ RATE_LIMIT_BACKEND: 'memory' });
    await Promise.all([server.close(), server.close()]);
    await expect(fetch(`${server.url}/v1/status/x`)).rejects.toThrow();
    const again = await startDevServer({ port: server.port, env: { RATE_LIMIT_BACKEND: 'memory' } });
    await again.close();
  });
});
