/**
 * The local server refuses what a browser sends on behalf of another site, against a real
 * redis-server: before this guard, a `text/plain` POST to /v1/reset from any web page (a "simple"
 * request, no CORS preflight) reset a real creator. Requests are written with node:http so that
 * Host, Origin and Sec-Fetch-Site are exactly what a browser would send.
 */
import { request as httpRequest } from 'node:http';
import { startDevServer, type DevServer } from '../../scripts/dev-server';
import { uniqueCreator } from '../support/http-scenarios';
import { elastiCacheEnv, useHandlerTestServers } from '../support/lambda-runtime';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
}

let server: DevServer;
const errors: unknown[] = [];
afterAll(async () => {
  await server?.close();
});
const handlerServers = useHandlerTestServers();
beforeAll(async () => {
  server = await startDevServer({ port: 0, env: elastiCacheEnv(handlerServers.redis), errorLog: (_message, error) => errors.push(error) });
});
afterEach(() => {
  // Nothing here is a bug: no request may reach the "unexpected error" path.
  expect(errors).toEqual([]);
});

function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: '127.0.0.1', port: server.port, method, path, headers, setHost: !('Host' in headers) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: parsed });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const json = { 'Content-Type': 'application/json' };
const own = () => `http://127.0.0.1:${server.port}`;

async function exhausted(): Promise<string> {
  const creatorId = uniqueCreator('guarded');
  for (let index = 0; index < 3; index += 1) {
    expect((await send('POST', '/v1/check', json, JSON.stringify({ creatorId, tier: 'tiny' }))).status).toBe(200);
  }
  expect((await send('POST', '/v1/check', json, JSON.stringify({ creatorId, tier: 'tiny' }))).status).toBe(429);
  return creatorId;
}

async function remaining(creatorId: string): Promise<string | string[] | undefined> {
  return (await send('GET', `/v1/status/${creatorId}?tier=tiny`, {})).headers['x-ratelimit-remaining'];
}

function expectRefusal(reply: Reply, status: number, field: string): void {
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(reply.body).toMatchObject({ status, field });
  expect(reply.body.detail).toContain(field);
}

describe('cross-site requests never reach a handler', () => {
  const cases: ReadonlyArray<readonly [string, Record<string, string>, number, string]> = [
    ['a text/plain form post from a foreign page', { 'Content-Type': 'text/plain', Origin: 'https://evil.example' }, 403, 'Origin'],
    ['JSON from a foreign origin', { ...json, Origin: 'https://evil.example' }, 403, 'Origin'],
    ['JSON from a sandboxed frame (Origin: null)', { ...json, Origin: 'null' }, 403, 'Origin'],
    ['a foreign origin on the same host, another port', { ...json, Origin: 'http://127.0.0.1:1' }, 403, 'Origin'],
    ['a browser fetch marked cross-site', { ...json, 'Sec-Fetch-Site': 'cross-site' }, 403, 'Sec-Fetch-Site'],
    ['a DNS-rebound host name', { ...json, Host: 'evil.example:3000' }, 403, 'Host'],
    ['text/plain without an Origin', { 'Content-Type': 'text/plain' }, 415, 'Content-Type'],
    ['a form encoding', { 'Content-Type': 'application/x-www-form-urlencoded' }, 415, 'Content-Type'],
    ['no Content-Type at all', {}, 415, 'Content-Type'],
  ];
  it.each(cases)('%s: refused, and the creator stays exhausted', async (_label, headers, status, field) => {
    const creatorId = await exhausted();
    expectRefusal(await send('POST', '/v1/reset', headers, JSON.stringify({ creatorId, tier: 'tiny' })), status, field);
    expect(await remaining(creatorId)).toBe('0');
    expect((await send('POST', '/v1/check', json, JSON.stringify({ creatorId, tier: 'tiny' }))).status).toBe(429);
  });

  it('a cross-site check consumes nothing and a cross-site status read is refused', async () => {
    const creatorId = uniqueCreator('guarded-check');
    const foreign = { ...json, Origin: 'https://evil.example' };
    expectRefusal(await send('POST', '/v1/check', foreign, JSON.stringify({ creatorId, tier: 'tiny' })), 403, 'Origin');
    expectRefusal(await send('GET', `/v1/status/${creatorId}?tier=tiny`, { 'Sec-Fetch-Site': 'cross-site' }), 403, 'Sec-Fetch-Site');
    expect(await remaining(creatorId)).toBe('3');
  });

  it("the server's own origin, curl-like clients and localhost are served", async () => {
    const creatorId = await exhausted();
    const reset = await send(
      'POST',
      '/v1/reset',
      { 'Content-Type': 'Application/JSON; charset=utf-8', Origin: own(), 'Sec-Fetch-Site': 'same-origin' },
      JSON.stringify({ creatorId, tier: 'tiny' }),
    );
    expect(reset.status).toBe(200);
    expect(await remaining(creatorId)).toBe('3');
    const viaLocalhost = await send('GET', `/v1/status/${creatorId}?tier=tiny`, {
      Host: `localhost:${server.port}`,
      Origin: `http://localhost:${server.port}`,
    });
    expect(viaLocalhost.status).toBe(200);
    expect((await send('GET', `/v1/status/${creatorId}`, { 'Sec-Fetch-Site': 'none' })).status).toBe(200);
  });
});

describe('names of Object.prototype members are ordinary names', () => {
  it.each(['toString', 'constructor', '__proto__', 'valueOf'])('a header named %s is served 200', async (name) => {
    const reply = await send(
      'POST',
      '/v1/check',
      { ...json, [name]: 'x' },
      JSON.stringify({ creatorId: uniqueCreator('proto-header'), tier: 'pro' }),
    );
    expect(reply.status).toBe(200);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('a query parameter named %s is a 400 naming it', async (name) => {
    const status = await send('GET', `/v1/status/someone?${name}=1`, {});
    expectRefusal(status, 400, name);
    expectRefusal(await send('POST', `/v1/check?${name}=1`, json, JSON.stringify({ creatorId: 'someone', tier: 'pro' })), 400, name);
  });
});

describe('wrong method and oversized body', () => {
  it('405 with Allow, as problem+json', async () => {
    const reply = await send('DELETE', '/v1/check', {});
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('POST');
    expect(reply.body).toMatchObject({ status: 405, allow: ['POST'] });
  });

  it('413 as problem+json for a declared or streamed body over 16 KiB, and nothing is consumed', async () => {
    const creatorId = uniqueCreator('too-large');
    const big = JSON.stringify({ creatorId, tier: 'tiny', requestId: 'r'.repeat(20_000) });
    expectRefusal(await send('POST', '/v1/check', json, big), 413, 'body');
    expectRefusal(await send('POST', '/v1/check', { ...json, 'Transfer-Encoding': 'chunked' }, big), 413, 'body');
    expect(await remaining(creatorId)).toBe('3');
  });
});
