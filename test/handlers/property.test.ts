/**
 * Property: whatever event a handler receives, it answers 200, 400, 404, 405, 413, 429 or 503, with a JSON
 * body of the right content type, and the headers its status promises. Never a 500, never a throw.
 *
 * Events range from well-formed API Gateway events with hostile field values, through
 * structurally wrong envelopes, to arbitrary values; each goes to a random one of the four
 * functions (so many are for another route). Runs on the memory backend, on a real redis-server,
 * and on a backend that never answers.
 */
import fc from 'fast-check';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createApiHandlers } from '../../lambda/handlers/operations';
import { ROUTE_NAMES, type RouteName } from '../../lambda/shared/routes';
import { apiGatewayEvent } from '../support/lambda-events';
import { elastiCacheEnv, testRuntime, unansweredEnv, useHandlerTestServers, TEST_TIERS_JSON } from '../support/lambda-runtime';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const servers = useHandlerTestServers();

// --- arbitraries -----------------------------------------------------------------------------

const json = fc.jsonValue({ maxDepth: 3 });
/** A few creators and tiers recur, so limits are reached and 429s happen. */
const tier = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('starter', 'pro', 'business', 'tiny', 'tiny', 'tiny') },
  { weight: 1, arbitrary: fc.constantFrom('gold', '', 'constructor', '__proto__', 'toString', 'PRO') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: json },
);
const creatorId = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('c1', 'c2', 'c3', 42, '42') },
  { weight: 1, arbitrary: fc.string({ maxLength: 140 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 60), fc.constant(-0)) },
  { weight: 1, arbitrary: json },
);
const tokens = fc.oneof(fc.nat(1500), fc.integer(), fc.double(), fc.constant(1e12), json);
const requestId = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.constantFrom('r1', 'r2', 'r3'), fc.uuid()) },
  { weight: 1, arbitrary: fc.string({ maxLength: 140 }) },
  { weight: 1, arbitrary: json },
);

const validTokens = fc.oneof({ weight: 4, arbitrary: fc.nat(400) }, { weight: 1, arbitrary: tokens });
const bodyObject = fc
  .tuple(
    fc.oneof(
      // Mostly complete bodies, so most events reach the library; the rest miss fields at random.
      { weight: 4, arbitrary: fc.record({ creatorId, tier, tokens: validTokens, requestId }, { requiredKeys: ['creatorId', 'tier'] }) },
      { weight: 1, arbitrary: fc.record({ creatorId, tier, tokens, requestId }, { requiredKeys: [] }) },
    ),
    fc.oneof(
      { weight: 4, arbitrary: fc.constant({}) },
      { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 3 }) },
    ),
  )
  .map(([fields, extra]) => ({ ...extra, ...fields }));

const bodyText = fc.oneof(
  { weight: 6, arbitrary: bodyObject.map((body) => JSON.stringify(body)) },
  { weight: 1, arbitrary: json.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '[]', 'null', '{"creatorId":"c1","tier":"pro"}{', '\uFEFF{}', 'x'.repeat(20_000)) },
);

const route = fc.constantFrom<RouteName>(...ROUTE_NAMES);

const path = fc.oneof(
  fc.constantFrom(
    '/v1/check',
    '/v1/settle',
    '/v1/reset',
    '/v1/status/c1',
    '/v1/status/42',
    '/v1/status/%E2%82%AC',
    '/v1/status/%ZZ',
    '/v1/status/',
    '/',
  ),
  fc.webPath(),
  fc.string({ maxLength: 30 }),
);
const methodFor: Record<RouteName, string> = {
  check: 'POST',
  settle: 'POST',
  status: 'GET',
  reset: 'POST',
  setOverride: 'PUT',
  getOverride: 'GET',
  removeOverride: 'DELETE',
};

/**
 * Well-formed API Gateway events for a route, with hostile values where the input goes; mostly sent to that route's function.
 * Checks carry most of them, as they do in production, so creators reach their limits often enough for
 * every run to see 429s (with routes drawn evenly, a run of 1,000 events saw none about one time in five).
 */
const plausibleEvent = fc
  .record({
    route: fc.oneof({ weight: 3, arbitrary: fc.constant<RouteName>('check') }, { weight: 4, arbitrary: route }),
    body: bodyText,
    base64: fc.boolean(),
    creator: fc.oneof(fc.constantFrom('c1', 'c2', '42'), fc.string({ maxLength: 20 })),
    query: fc.oneof(
      { weight: 3, arbitrary: fc.constant('') },
      {
        weight: 3,
        arbitrary: tier.map((value) => `?tier=${encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value))}`),
      },
      { weight: 1, arbitrary: fc.constantFrom('?tier=pro&tier=tiny', '?x=1', '?tier', '?tier=%') },
    ),
  })
  .chain(({ route: name, body, base64, creator, query }) =>
    fc.record({
      target: fc.oneof({ weight: 4, arbitrary: fc.constant(name) }, { weight: 1, arbitrary: route }),
      event: fc.constant(
        name === 'status'
          ? apiGatewayEvent({ method: 'GET', path: `/v1/status/${encodeURIComponent(creator)}${query}` })
          : apiGatewayEvent({ method: methodFor[name], path: `/v1/${name}`, body, base64 }),
      ),
    }),
  );

/** Envelopes API Gateway would never send: wrong types, missing parts, mismatched routes. */
const wildEvent = fc.record(
  {
    httpMethod: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'post'), fc.string({ maxLength: 8 }), json),
    resource: fc.oneof(
      fc.constantFrom('/v1/check', '/v1/settle', '/v1/status/{creatorId}', '/v1/reset'),
      fc.string({ maxLength: 20 }),
      fc.constant(null),
      json,
    ),
    path,
    headers: fc.oneof(fc.constant(null), fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })), json),
    multiValueHeaders: fc.oneof(
      fc.constant(null),
      fc.dictionary(fc.string({ maxLength: 10 }), fc.array(fc.string({ maxLength: 10 }))),
      json,
    ),
    queryStringParameters: fc.oneof(
      fc.constant(null),
      fc.record({ tier }, { requiredKeys: [] }),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })),
      json,
    ),
    multiValueQueryStringParameters: fc.oneof(
      fc.constant(null),
      fc.dictionary(fc.constantFrom('tier', 'x'), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 })),
      json,
    ),
    pathParameters: fc.oneof(
      fc.constant(null),
      fc.record({ creatorId: fc.oneof(fc.constantFrom('c1', 'c2'), fc.string({ maxLength: 20 })) }),
      json,
    ),
    body: fc.oneof(bodyText, fc.constant(null), json),
    isBase64Encoded: fc.oneof(fc.boolean(), json),
    requestContext: fc.oneof(fc.record({ requestId: fc.oneof(fc.uuid(), fc.string({ maxLength: 200 }), json) }), json),
  },
  { requiredKeys: ['httpMethod'] },
);

/** A function to invoke and the event it receives. */
const invocation: fc.Arbitrary<{ target: RouteName; event: unknown }> = fc.oneof(
  { weight: 6, arbitrary: plausibleEvent },
  { weight: 3, arbitrary: fc.record({ target: route, event: wildEvent }) },
  { weight: 1, arbitrary: fc.record({ target: route, event: fc.anything({ maxDepth: 2 }) }) },
);

// --- the property ----------------------------------------------------------------------------

const ALLOWED = [200, 400, 404, 405, 413, 429, 503];

function checkResponse(result: APIGatewayProxyResult): void {
  expect(ALLOWED).toContain(result.statusCode);
  const headers = result.headers ?? {};
  const body = JSON.parse(result.body) as Record<string, unknown>;
  if (result.statusCode === 200) {
    expect(headers['Content-Type']).toMatch(/^application\/json/);
  } else {
    expect(headers['Content-Type']).toMatch(/^application\/problem\+json/);
    expect(body.status).toBe(result.statusCode);
    expect(typeof body.detail).toBe('string');
  }
  if (result.statusCode === 200 || result.statusCode === 429) {
    for (const name of ['RateLimit-Policy', 'RateLimit', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']) {
      expect(typeof headers[name]).toBe('string');
    }
  }
  if (result.statusCode === 400 || result.statusCode === 413) expect(typeof body.field).toBe('string');
  if (result.statusCode === 405) expect(headers.Allow).toMatch(/^[A-Z]+(, [A-Z]+)*$/);
  if (result.statusCode === 429) expect(Number(headers['Retry-After'])).toBeGreaterThanOrEqual(1);
  if (result.statusCode === 503) expect(headers['Retry-After']).toBe('60');
}

/** Checks `numRuns` random invocations; returns how many answers each status got. */
async function runProperty(handlers: ReturnType<typeof createApiHandlers>, numRuns: number): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(invocation, async ({ target, event }) => {
      const result = await handlers[target](event);
      checkResponse(result);
      seen.set(result.statusCode, (seen.get(result.statusCode) ?? 0) + 1);
    }),
    { numRuns },
  );
  return seen;
}

it('memory backend: 3,000 events', async () => {
  const handlers = createApiHandlers(testRuntime({ RATE_LIMIT_BACKEND: 'memory', RATE_LIMIT_TIERS: TEST_TIERS_JSON }));
  const seen = await runProperty(handlers, 3000);
  // The generators reach every outcome a healthy backend can give.
  for (const status of [200, 400, 404, 429]) expect(seen.get(status) ?? 0).toBeGreaterThan(0);
});

it('redis-server (ElastiCache backend): 1,000 events', async () => {
  const seen = await runProperty(createApiHandlers(testRuntime(elastiCacheEnv(servers.redis))), 1000);
  for (const status of [200, 400, 404, 429]) expect(seen.get(status) ?? 0).toBeGreaterThan(0);
});

it('a backend that never answers, fail mode closed: 300 events, 503 instead of 200 or 429', async () => {
  const handlers = createApiHandlers(testRuntime(unansweredEnv(servers.blackHole, { RATE_LIMIT_TIMEOUT_MS: '20' })));
  const seen = await runProperty(handlers, 300);
  expect(seen.get(503) ?? 0).toBeGreaterThan(0);
  expect(seen.get(200) ?? 0).toBe(0);
  expect(seen.get(429) ?? 0).toBe(0);
});
