/**
 * The examples users copy (examples/), run in the runtimes they are written for, so they cannot
 * rot: the Cloudflare Worker in workerd (and edge-runtime), the Next.js middleware + edge route in
 * edge-runtime behind a stand-in for Next's dispatch. Assertions are on what a client sees: status
 * codes, Retry-After and RateLimit headers, problem+json bodies.
 */

import { bundleForEdge, EDGE_RUNTIMES, startEdgeRuntime, startWorker, type EdgeHost, type EdgeResponse } from '../harness/edge-runtimes';
import { useUpstashTestServers } from '../support/upstash-servers';

const TOKEN = 'edge-examples-token-c3d9';
let creatorCounter = 0;

const freshCreator = (label: string): string => `example-${label}-${process.pid}-${(creatorCounter += 1)}`;
const env = (): Record<string, string> => ({ UPSTASH_REDIS_REST_URL: servers.upstash.url, UPSTASH_REDIS_REST_TOKEN: TOKEN });

const servers = useUpstashTestServers(TOKEN);

/** One after another: concurrent calls would also meet the in-flight cap (starter: 2), which is not what these tests count. */
async function generateInSequence(count: number, host: EdgeHost, path: string, creatorId: string): Promise<EdgeResponse[]> {
  const responses: EdgeResponse[] = [];
  for (let index = 0; index < count; index += 1) responses.push(await generate(host, path, creatorId));
  return responses;
}

function generate(
  host: EdgeHost,
  path: string,
  creatorId: string | undefined,
  tier = 'starter',
  prompt = 'Draft a thank-you note',
): Promise<EdgeResponse> {
  const headers: Record<string, string> = { 'x-creator-tier': tier };
  if (creatorId !== undefined) headers['x-creator-id'] = creatorId;
  return host.fetch(path, { method: 'POST', headers, body: prompt });
}

/** `"name";r=<remaining>;t=<seconds>` items of a RateLimit header, by policy name. */
function rateLimitItems(header: string | null): Map<string, { remaining: number; seconds: number }> {
  const items = new Map<string, { remaining: number; seconds: number }>();
  for (const match of (header ?? '').matchAll(/"([^"]+)";r=(\d+);t=(\d+)/g)) {
    items.set(match[1], { remaining: Number(match[2]), seconds: Number(match[3]) });
  }
  return items;
}

function expectQuotaDenial(response: EdgeResponse, limit: number, policy: string): void {
  expect(response.status).toBe(429);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  expect(response.headers.get('ratelimit-policy')).toContain(`"${policy}";q=${limit}`);
  expect(rateLimitItems(response.headers.get('ratelimit')).get(policy)).toEqual({ remaining: 0, seconds: retryAfter });
  expect(response.headers.get('x-ratelimit-remaining')).toBe('0');
  expect(JSON.parse(response.body)).toMatchObject({ status: 429, limit, remaining: 0, policy, retryAfter });
}

describe.each(EDGE_RUNTIMES)('examples/cloudflare-worker in %s', (runtime) => {
  let host: EdgeHost;

  beforeAll(async () => {
    host = await startWorker(runtime, 'examples/cloudflare-worker/worker.ts', env());
  }, 60_000);
  afterAll(async () => {
    await host?.stop();
  });

  it('answers 200 with usage headers, then 429 with Retry-After once a starter creator used 50 requests', async () => {
    const creatorId = freshCreator('worker');
    const responses = await generateInSequence(55, host, '/generate', creatorId);
    const allowed = responses.slice(0, 50);
    expect(allowed.map((response) => response.status)).toEqual(Array(50).fill(200));
    for (const response of responses.slice(50)) expectQuotaDenial(response, 50, 'requests-per-hour');
    // Each 200 reports what is left after it: 49 down to 0.
    expect(allowed.map((response) => Number(response.headers.get('x-ratelimit-remaining')))).toEqual(
      Array.from({ length: 50 }, (_, index) => 49 - index),
    );
  });

  it('settles the tokens the model used: the token budget drops by exactly that', async () => {
    const creatorId = freshCreator('worker-tokens');
    const response = await generate(host, '/generate', creatorId, 'starter', 'Summarise this week in one line');
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body) as { usedTokens: number };
    const items = rateLimitItems(response.headers.get('ratelimit'));
    expect(items.get('tokens-per-day')!.remaining).toBe(200_000 - body.usedTokens);
    // The in-flight slot was released by the settle.
    expect(items.get('in-flight')!.remaining).toBe(2);
  });

  it('answers 400 naming the header when the creator is missing', async () => {
    const response = await generate(host, '/generate', undefined);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).detail).toContain('x-creator-id');
  });

  it('answers 503 with Retry-After, never 429, when the backend does not answer', async () => {
    const down = await startWorker(runtime, 'examples/cloudflare-worker/worker.ts', {
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${servers.blackHole.port}`,
      UPSTASH_REDIS_REST_TOKEN: TOKEN,
    });
    try {
      const response = await generate(down, '/generate', freshCreator('worker-down'));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('60');
    } finally {
      await down.stop();
    }
  });
});

describe('examples/nextjs-edge in edge-runtime', () => {
  let host: EdgeHost;

  beforeAll(async () => {
    host = await startEdgeRuntime(await bundleForEdge({ entry: 'test/edge/nextjs-host.ts' }, 'iife'), env());
  }, 60_000);
  afterAll(async () => {
    await host?.stop();
  });

  it('middleware answers 429 with Retry-After and RateLimit headers after 50 starter requests', async () => {
    const creatorId = freshCreator('next');
    const responses = await generateInSequence(55, host, '/api/generate', creatorId);
    expect(responses.slice(0, 50).every((response) => response.status === 200)).toBe(true);
    const denied = responses.slice(50);
    for (const response of denied) {
      expectQuotaDenial(response, 50, 'requests-per-hour');
      // The middleware's table has the request policy only; tokens are the route's business.
      expect(response.headers.get('ratelimit-policy')).toBe('"requests-per-hour";q=50;w=3600');
    }
  });

  it('route reserves and settles tokens: the budget drops by the tokens used, the slot is freed', async () => {
    const creatorId = freshCreator('next-tokens');
    const response = await generate(host, '/api/generate', creatorId, 'pro', 'Three ideas for a launch post');
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body) as { usedTokens: number };
    const items = rateLimitItems(response.headers.get('ratelimit'));
    expect(items.get('tokens-per-day')!.remaining).toBe(1_000_000 - body.usedTokens);
    expect(items.get('in-flight')!.remaining).toBe(4);
  });

  it('middleware answers 400 when the creator is missing', async () => {
    const response = await generate(host, '/api/generate', undefined);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).detail).toContain('x-creator-id');
  });
});
