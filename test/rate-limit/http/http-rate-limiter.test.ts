/**
 * The http backend against the local API server (in-process, the real handlers on a real
 * redis-server), directly and through a loopback gateway that verifies SigV4 like API Gateway's
 * IAM authorization: exactness under concurrency, the mapping of 429/400/503 to the library's
 * errors, the deadline and both fail modes, reserve and settle, and resends that cannot count an
 * admission twice.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  RateLimitConfigError,
  RateLimitError,
  RateLimitInputError,
  RateLimitUnavailableError,
} from '../../../lambda/rate-limit/core/errors';
import { createHttpRateLimiter, httpOptionsFromEnv, type HttpRateLimiterOptions } from '../../../lambda/rate-limit/http';
import { parseTierTableJson } from '../../../lambda/rate-limit/core/tiers';
import { createRateLimiter, rateLimiterFromEnv } from '../../../lambda/rate-limit/all-backends';
import { startDevServer, type DevServer } from '../../../scripts/dev-server';
import { findFreePort } from '../../harness/free-port';
import { uniqueCreator } from '../../support/http-scenarios';
import { elastiCacheEnv, TEST_TIERS_JSON, unansweredEnv, useHandlerTestServers } from '../../support/lambda-runtime';
import { forwardTo, startLoopbackGateway, type LoopbackGateway } from '../../support/sigv4-gateway';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLETEST01', secretAccessKey: 'test-secret-key-for-sigv4-only' };
/** The deadline used where a test waits for it, and the margin a loaded machine gets on top. */
const DEADLINE_MS = 300;
const MARGIN_MS = 2000;
/** The tier table of the API under test, for the client's degraded answers. */
const TEST_TIERS = parseTierTableJson(TEST_TIERS_JSON);
const quiet = { warn: () => undefined, error: () => undefined };

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
const servers = useHandlerTestServers();

let api: DevServer;
beforeAll(async () => {
  api = await startDevServer({ port: 0, env: elastiCacheEnv(servers.redis) });
  closers.push(() => api.close());
});

function client(options: Partial<HttpRateLimiterOptions> = {}) {
  return createHttpRateLimiter({ url: api.url, tiers: TEST_TIERS, logger: quiet, ...options });
}

async function gateway(options: Omit<Parameters<typeof startLoopbackGateway>[0], 'forward'> = {}): Promise<LoopbackGateway> {
  const started = await startLoopbackGateway({ forward: forwardTo(api.url), ...options });
  closers.push(() => started.stop());
  return started;
}

/** Accepts connections and never answers: the "slower than the deadline" service. */
async function silentServer(): Promise<{ url: string }> {
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('answers through the API', () => {
  it('admits exactly the limit under concurrency: 150 concurrent checks on pro admit 100', async () => {
    const limiter = client();
    const creatorId = uniqueCreator('http-exact');
    const results = await Promise.allSettled(Array.from({ length: 150 }, () => limiter.check(creatorId, 'pro')));
    const admitted = results.filter((result) => result.status === 'fulfilled');
    const denied = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(admitted).toHaveLength(100);
    expect(denied).toHaveLength(50);
    for (const error of denied) {
      expect(error).toBeInstanceOf(RateLimitError);
      expect(error).toMatchObject({ limit: 100, remaining: 0, policy: 'requests-per-hour' });
      expect(error.retryAfter).toBeGreaterThanOrEqual(3590);
      expect(error.retryAfter).toBeLessThanOrEqual(3600);
      expect(error.reset).toBeGreaterThan(Date.now() + 3_500_000);
    }
    const status = await limiter.status(creatorId, 'pro');
    expect(status).toMatchObject({ creatorId, tier: 'pro', limit: 100, remaining: 0 });
    expect(status.policies[0]).toMatchObject({ name: 'requests-per-hour', used: 100 });
  });

  it('answers a decision with the policies, and a 429 as RateLimitError with retryAfter, limit, remaining, reset, policy', async () => {
    const limiter = client();
    const creatorId = uniqueCreator('http-deny');
    const first = await limiter.check(creatorId, 'tiny');
    expect(first).toMatchObject({ allowed: true, creatorId, tier: 'tiny', limit: 3, remaining: 2, duplicate: false, degraded: false });
    expect(first.policies.map((policy) => policy.name)).toEqual(['requests-per-minute', 'tokens-per-day', 'in-flight']);
    await limiter.check(creatorId, 'tiny');
    await limiter.check(creatorId, 'tiny');
    const error = await limiter.check(creatorId, 'tiny').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    const denial = error as RateLimitError;
    expect(denial).toMatchObject({ limit: 3, remaining: 0, policy: 'requests-per-minute' });
    expect(denial.retryAfter).toBeGreaterThanOrEqual(1);
    expect(denial.retryAfter).toBeLessThanOrEqual(60);
    // reset is when the oldest of the three leaves the minute window
    expect(denial.reset).toBeGreaterThanOrEqual(first.at + 60_000);
    expect(denial.reset).toBeLessThanOrEqual(first.at + 60_000 + MARGIN_MS);
  });

  it('maps a 400 to RateLimitInputError naming the field, and rejects bad input before sending it', async () => {
    const limiter = client();
    const unknownTier = await limiter.check('someone', 'gold').catch((caught: unknown) => caught);
    expect(unknownTier).toBeInstanceOf(RateLimitInputError);
    expect(unknownTier).toMatchObject({ field: 'tier' });
    expect((unknownTier as Error).message).toMatch(/^tier: must be one of "starter", "pro", "business", "tiny", "dark", got "gold"$/);
    const overBudget = await limiter.check('someone', 'tiny', { tokens: 5000 }).catch((caught: unknown) => caught);
    expect(overBudget).toMatchObject({ name: 'RateLimitInputError', field: 'tokens' });

    // Rejected locally: the unreachable URL proves no request was needed.
    const offline = client({ url: `http://127.0.0.1:${await findFreePort()}` });
    await expect(offline.check('', 'pro')).rejects.toMatchObject({ name: 'RateLimitInputError', field: 'creatorId' });
    await expect(offline.check('a', 'pro', { tokens: -1 })).rejects.toMatchObject({ field: 'tokens' });
    await expect(offline.check('a', 'pro', { requestId: 'a b' })).rejects.toMatchObject({ field: 'requestId' });
    await expect(offline.settle('a', 'pro', 'r', 1.5)).rejects.toMatchObject({ field: 'tokens' });
  });

  it('reads status without consuming anything', async () => {
    const limiter = client();
    const creatorId = `créateur ${uniqueCreator('http-status')}/1`;
    await limiter.check(creatorId, 'starter');
    const first = await limiter.status(creatorId, 'starter');
    const second = await limiter.status(creatorId, 'starter');
    expect(first).toMatchObject({ creatorId, tier: 'starter', limit: 50, remaining: 49 });
    expect(second.policies[0].used).toBe(1);
    expect((await limiter.status(creatorId)).tier).toBe('pro');
  });

  it('reserves tokens, replays a requestId without consuming, settles idempotently, and resets', async () => {
    const limiter = client();
    const creatorId = uniqueCreator('http-settle');
    const requestId = `req-${creatorId}`;
    const reserved = await limiter.check(creatorId, 'tiny', { tokens: 600, requestId });
    expect(reserved).toMatchObject({ requestId, reservedTokens: 600, duplicate: false });
    const replay = await limiter.check(creatorId, 'tiny', { tokens: 600, requestId });
    expect(replay).toMatchObject({ requestId, duplicate: true, remaining: 2 });

    const settled = await limiter.settleWithStatus(creatorId, 'tiny', requestId, 250);
    expect(settled).toMatchObject({ creatorId, requestId, outcome: 'settled', reservedTokens: 600, chargedTokens: 250 });
    expect(settled.status.policies.find((policy) => policy.name === 'tokens-per-day')).toMatchObject({
      used: 250,
      reserved: 0,
      remaining: 750,
    });
    expect(settled.status.policies.find((policy) => policy.name === 'in-flight')).toMatchObject({ used: 0, remaining: 2 });
    expect((await limiter.settle(creatorId, 'tiny', requestId, 250)).outcome).toBe('already-settled');
    expect((await limiter.settle(creatorId, 'tiny', 'never-made', 1)).outcome).toBe('unknown');

    await limiter.reset(creatorId);
    expect((await limiter.status(creatorId, 'tiny')).remaining).toBe(3);
  });

  it('warms up without consuming anything', async () => {
    const limiter = client();
    expect(await limiter.warmUp()).toBe(true);
    expect((await limiter.status('warm-up', 'starter')).policies[0].used).toBe(0);
    expect(await client({ url: `http://127.0.0.1:${await findFreePort()}` }).warmUp()).toBe(false);
  });
});

describe('resends', () => {
  it('resends a check whose answer was lost once, and the admission is counted once', async () => {
    const lossy = await gateway({ loseResponses: 1 });
    const limiter = client({ url: lossy.url, circuitBreaker: false });
    const creatorId = uniqueCreator('http-resend');
    const decision = await limiter.check(creatorId, 'tiny');
    expect(lossy.received).toHaveLength(2);
    const bodies = lossy.received.map((request) => JSON.parse(request.body.toString('utf8')));
    expect(bodies[0].requestId).toEqual(expect.any(String));
    expect(bodies[1]).toEqual(bodies[0]); // the same requestId: the service answers a replay
    // The service saw a replay; for the caller it is the one admission it asked for.
    expect(decision).toMatchObject({ requestId: bodies[0].requestId, duplicate: false, remaining: 2 });
    expect((await client().status(creatorId, 'tiny')).policies[0].used).toBe(1);
  });
});

describe('when the service cannot answer', () => {
  it('fail mode closed: a 503 from the service is RateLimitUnavailableError with its Retry-After', async () => {
    const down = await startDevServer({ port: 0, env: unansweredEnv(servers.blackHole, { RATE_LIMIT_FAIL_MODE: 'closed' }) });
    closers.push(() => down.close());
    const limiter = client({ url: down.url });
    const error = await limiter.check(uniqueCreator('http-503'), 'pro').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitUnavailableError);
    expect(error).toMatchObject({ retryAfter: 60 });
    expect((error as Error).message).toMatch(/HTTP 503/);
    await expect(limiter.status('x', 'pro')).rejects.toBeInstanceOf(RateLimitUnavailableError);
    await expect(limiter.settle('x', 'pro', 'r', 1)).rejects.toBeInstanceOf(RateLimitUnavailableError);
    await expect(limiter.reset('x')).rejects.toBeInstanceOf(RateLimitUnavailableError);
  });

  it('fail mode closed: an unreachable service is RateLimitUnavailableError', async () => {
    const limiter = client({ url: `http://127.0.0.1:${await findFreePort()}`, timeoutMs: 1000 });
    await expect(limiter.check(uniqueCreator('http-refused'), 'pro')).rejects.toBeInstanceOf(RateLimitUnavailableError);
  });

  it('fail mode closed: a service slower than the deadline is RateLimitUnavailableError within deadline + margin', async () => {
    const silent = await silentServer();
    const limiter = client({ url: silent.url, timeoutMs: DEADLINE_MS });
    const started = Date.now();
    const error = await limiter.check(uniqueCreator('http-slow'), 'pro').catch((caught: unknown) => caught);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(RateLimitUnavailableError);
    expect((error as Error).message).toMatch(`no answer within ${DEADLINE_MS} ms`);
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
    expect(elapsed).toBeLessThan(DEADLINE_MS + MARGIN_MS);
  });

  it('fail mode open: a degraded decision (zero usage), zero status, an unknown settlement; reset still fails', async () => {
    const silent = await silentServer();
    const warnings: string[] = [];
    const limiter = client({
      url: silent.url,
      timeoutMs: DEADLINE_MS,
      failMode: 'open',
      logger: { warn: (message) => warnings.push(message), error: () => undefined },
    });
    const started = Date.now();
    const decision = await limiter.check('open-creator', 'tiny', { tokens: 10 });
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    expect(decision).toMatchObject({ allowed: true, degraded: true, duplicate: false, reservedTokens: 0, limit: 3, remaining: 3 });
    expect(decision.policies.map((policy) => policy.used)).toEqual([0, 0, 0]);
    expect(await limiter.status('open-creator', 'tiny')).toMatchObject({ limit: 3, remaining: 3 });
    expect((await limiter.settle('open-creator', 'tiny', 'r', 5)).outcome).toBe('unknown');
    await expect(limiter.reset('open-creator')).rejects.toBeInstanceOf(RateLimitUnavailableError);
    expect(warnings[0]).toMatch(/fail mode open/);
    // A quota denial is an answer, never an outage: open mode does not turn it into an admission.
    const open = client({ failMode: 'open' });
    const creatorId = uniqueCreator('http-open-deny');
    for (let index = 0; index < 3; index += 1) await open.check(creatorId, 'tiny');
    await expect(open.check(creatorId, 'tiny')).rejects.toBeInstanceOf(RateLimitError);
  });
});

describe('SigV4 (IAM authorization)', () => {
  it('signs every request for execute-api so that the signature verifies, percent-encoded paths included', async () => {
    const iamGateway = await gateway({ iam: { credentials: CREDENTIALS, region: 'eu-west-1' } });
    const limiter = client({ url: `${iamGateway.url}`, signing: 'sigv4', region: 'eu-west-1', credentials: CREDENTIALS });
    const creatorId = `créateur ${uniqueCreator('sig')}`;
    await limiter.check(creatorId, 'pro', { tokens: 10, requestId: `sig-${creatorId.length}` });
    expect((await limiter.status(creatorId, 'pro')).remaining).toBe(99);
    expect((await limiter.settle(creatorId, 'pro', `sig-${creatorId.length}`, 5)).outcome).toBe('settled');
    for (const request of iamGateway.received) {
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLETEST01\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(request.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    }
    expect(iamGateway.received.map((request) => request.url.split('?')[0])).toContain(`/v1/status/${encodeURIComponent(creatorId)}`);
  });

  it('sends the session token of temporary credentials, signed', async () => {
    const session = { ...CREDENTIALS, sessionToken: 'FwoGZXIvYXdzEXAMPLESESSION' };
    const iamGateway = await gateway({ iam: { credentials: session, region: 'us-east-1' } });
    const limiter = client({ url: iamGateway.url, signing: 'sigv4', region: 'us-east-1', credentials: async () => session });
    await limiter.check(uniqueCreator('session'), 'pro');
    const [request] = iamGateway.received;
    expect(request.headers['x-amz-security-token']).toBe(session.sessionToken);
    expect(request.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
  });

  it('a wrong key or an unsigned request is refused by the gateway: RateLimitUnavailableError (403) in fail mode closed', async () => {
    const iamGateway = await gateway({ iam: { credentials: CREDENTIALS, region: 'us-east-1' } });
    const wrongKey = client({
      url: iamGateway.url,
      signing: 'sigv4',
      region: 'us-east-1',
      credentials: { ...CREDENTIALS, secretAccessKey: 'wrong' },
    });
    await expect(wrongKey.check(uniqueCreator('forged'), 'pro')).rejects.toThrow(/HTTP 403/);
    const unsigned = client({ url: iamGateway.url });
    const error = await unsigned.check(uniqueCreator('unsigned'), 'pro').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitUnavailableError);
    expect(iamGateway.received.every((request) => request.method === 'POST')).toBe(true);
  });

  it('signs by default for a non-loopback URL, with the region of an execute-api URL', () => {
    expect(() => createHttpRateLimiter({ url: 'https://api.example.com/prod', env: {} })).toThrow(/needs a region/);
    expect(() => createHttpRateLimiter({ url: 'https://abc123.execute-api.eu-central-1.amazonaws.com/prod', env: {} })).not.toThrow();
    expect(() => createHttpRateLimiter({ url: 'https://api.example.com/prod', env: { AWS_REGION: 'us-east-1' } })).not.toThrow();
  });
});

describe('configuration', () => {
  it('reads RATE_LIMIT_API_URL, RATE_LIMIT_TIMEOUT_MS, RATE_LIMIT_FAIL_MODE and RATE_LIMIT_TIERS', () => {
    const options = httpOptionsFromEnv({
      RATE_LIMIT_API_URL: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod',
      RATE_LIMIT_TIMEOUT_MS: '1200',
      RATE_LIMIT_FAIL_MODE: 'open',
      RATE_LIMIT_TIERS: JSON.stringify({ solo: { policies: [{ name: 'rph', unit: 'requests', limit: 5, windowSeconds: 3600 }] } }),
    });
    expect(options).toMatchObject({ url: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod', timeoutMs: 1200, failMode: 'open' });
    expect(Object.keys(createHttpRateLimiter(options).tiers)).toEqual(['solo']);
    expect(httpOptionsFromEnv({ RATE_LIMIT_API_URL: 'http://127.0.0.1:3000' })).toMatchObject({ timeoutMs: 3000, failMode: 'closed' });
  });

  it('refuses a missing or insecure URL and bad values, naming the variable or option', () => {
    expect(() => httpOptionsFromEnv({})).toThrow(/RATE_LIMIT_API_URL is required/);
    expect(() => httpOptionsFromEnv({ RATE_LIMIT_API_URL: 'http://api.example.com' })).toThrow(/RATE_LIMIT_API_URL must use https/);
    expect(() => httpOptionsFromEnv({ RATE_LIMIT_API_URL: 'not a url' })).toThrow(/RATE_LIMIT_API_URL must be an absolute/);
    expect(() => httpOptionsFromEnv({ RATE_LIMIT_API_URL: 'https://a.example', RATE_LIMIT_TIMEOUT_MS: '0' })).toThrow(
      /RATE_LIMIT_TIMEOUT_MS/,
    );
    expect(() => httpOptionsFromEnv({ RATE_LIMIT_API_URL: 'https://a.example', RATE_LIMIT_FAIL_MODE: 'maybe' })).toThrow(
      /RATE_LIMIT_FAIL_MODE/,
    );
    expect(() => createHttpRateLimiter({ url: 'http://127.0.0.1:1', timeoutMs: 0 })).toThrow(RateLimitConfigError);
    expect(() => createHttpRateLimiter({ url: 'https://user:pw@a.example/prod', region: 'us-east-1' })).toThrow(/credentials/);
  });
});

describe('the library entry', () => {
  it('createRateLimiter({ backend: "http" }) and RATE_LIMIT_BACKEND=http answer through the API, exactly', async () => {
    const creatorId = uniqueCreator('entry');
    const explicit = createRateLimiter({ backend: 'http', failMode: 'closed', http: { url: api.url, tiers: TEST_TIERS, logger: quiet } });
    const fromEnv = rateLimiterFromEnv({ RATE_LIMIT_BACKEND: 'http', RATE_LIMIT_API_URL: api.url, RATE_LIMIT_TIERS: TEST_TIERS_JSON });
    expect([explicit.backend, fromEnv.backend]).toEqual(['http', 'http']);
    // 60 concurrent checks through two clients of one API: the tier's 50 per hour, no more.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? explicit : fromEnv).check(creatorId, 'starter')),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(50);
    const rejections = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    expect(rejections.filter((reason) => !(reason instanceof RateLimitError))).toEqual([]);
    await expect(fromEnv.status(creatorId, 'starter')).resolves.toMatchObject({ limit: 50, remaining: 0 });
    await Promise.all([explicit.close(), fromEnv.close()]);
  });
});
