/**
 * The HTTP API's scenarios (docs/design.md#http-api), written once against an abstract transport:
 * handler tests deliver each call as an API Gateway event, the local-server tests send it over
 * real HTTP. Both must give the same answers.
 */
import { randomUUID } from 'node:crypto';
import type { ApiCall } from './lambda-events';

export interface ApiReply {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** The parsed JSON body (undefined if it was not JSON). */
  readonly body: any;
}

export type ApiTransport = (call: ApiCall) => Promise<ApiReply>;

export interface ScenarioHarness {
  /** Transport on the healthy backend under test (tiers: TEST_TIERS). */
  healthy(): ApiTransport | Promise<ApiTransport>;
  /** Transport whose backend is unreachable, with RATE_LIMIT_FAIL_MODE as given. */
  unreachable(failMode: 'closed' | 'open'): Promise<ApiTransport>;
}

export const uniqueCreator = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

const post = (path: string, body: unknown, extra: Partial<ApiCall> = {}): ApiCall => ({ method: 'POST', path, body, ...extra });
const get = (path: string): ApiCall => ({ method: 'GET', path });
const statusPath = (creatorId: string, query = '') => `/v1/status/${encodeURIComponent(creatorId)}${query}`;

export function expectJson(reply: ApiReply, status: number): void {
  expect({ status: reply.status, body: reply.body }).toMatchObject({ status });
  expect(reply.headers['content-type']).toMatch(/^application\/json\b/);
  expect(reply.headers['cache-control']).toBe('no-store');
}

export function expectProblem(reply: ApiReply, status: number): void {
  expect({ status: reply.status, body: reply.body }).toMatchObject({ status, body: { status } });
  expect(reply.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  expect(typeof reply.body.type).toBe('string');
  expect(typeof reply.body.title).toBe('string');
  expect(typeof reply.body.detail).toBe('string');
}

export function expectBadRequest(reply: ApiReply, field: string): void {
  expectProblem(reply, 400);
  expect(reply.body.field).toBe(field);
  expect(reply.body.detail).toContain(field);
}

/** The five rate-limit headers of every 200 and 429, well-formed. */
export function expectRateLimitHeaders(reply: ApiReply): void {
  const item = /^"[A-Za-z0-9._-]+"(;[a-z-]+=("[^"]*"|\d+))+$/;
  for (const name of ['ratelimit-policy', 'ratelimit']) {
    const value = reply.headers[name];
    expect(value).toBeDefined();
    for (const part of value.split(', ')) expect(part).toMatch(item);
  }
  for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
    expect(reply.headers[name]).toMatch(/^\d+$/);
  }
}

/** Registers the scenarios; `harness` is called once, after the caller's beforeAll hooks. */
export function defineApiScenarios(harness: () => ScenarioHarness): void {
  let api: ApiTransport;
  beforeAll(async () => {
    api = await harness().healthy();
  });

  describe('POST /v1/check', () => {
    it('admits with the decision as JSON and the rate-limit headers of every policy', async () => {
      const creatorId = uniqueCreator('check');
      const reply = await api(post('/v1/check', { creatorId, tier: 'pro' }));
      expectJson(reply, 200);
      expect(reply.body).toMatchObject({
        allowed: true,
        creatorId,
        tier: 'pro',
        limit: 100,
        remaining: 99,
        reservedTokens: 0,
        duplicate: false,
        degraded: false,
      });
      expect(typeof reply.body.requestId).toBe('string');
      expect(reply.body.policies.map((policy: { name: string }) => policy.name)).toEqual([
        'requests-per-hour',
        'tokens-per-day',
        'in-flight',
      ]);
      expectRateLimitHeaders(reply);
      expect(reply.headers['ratelimit-policy']).toBe(
        '"requests-per-hour";q=100;w=3600, "tokens-per-day";q=1000000;w=86400;crl-unit="llm-tokens", "in-flight";q=4;qu="concurrent-requests";crl-lease=90',
      );
      expect(reply.headers.ratelimit).toMatch(
        /^"requests-per-hour";r=99;t=(3599|3600), "tokens-per-day";r=1000000;t=0, "in-flight";r=4;t=0$/,
      );
      expect(reply.headers['x-ratelimit-limit']).toBe('100');
      expect(reply.headers['x-ratelimit-remaining']).toBe('99');
      expect(Number(reply.headers['x-ratelimit-reset'])).toBe(Math.ceil(reply.body.reset / 1000));
    });

    it('treats a numeric creatorId and its decimal string as the same creator', async () => {
      const creatorId = 100_000 + Math.floor(Math.random() * 1e9);
      expectJson(await api(post('/v1/check', { creatorId, tier: 'starter' })), 200);
      const status = await api(get(statusPath(String(creatorId), '?tier=starter')));
      expectJson(status, 200);
      expect(status.body).toMatchObject({ creatorId: String(creatorId), limit: 50, remaining: 49 });
    });

    it('denies with 429 problem+json, Retry-After and the headers; a denial consumes nothing', async () => {
      const creatorId = uniqueCreator('deny');
      for (let index = 0; index < 3; index += 1) expectJson(await api(post('/v1/check', { creatorId, tier: 'tiny' })), 200);
      const denied = await api(post('/v1/check', { creatorId, tier: 'tiny' }));
      expectProblem(denied, 429);
      const retryAfter = Number(denied.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(denied.body).toMatchObject({
        type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
        retryAfter,
        limit: 3,
        remaining: 0,
        policy: 'requests-per-minute',
        'violated-policies': ['requests-per-minute'],
      });
      expect(denied.body.reset).toBeGreaterThan(Date.now());
      expectRateLimitHeaders(denied);
      // One item per policy, as the backend saw them when it denied; the denying one says r=0, t=Retry-After.
      expect(denied.headers.ratelimit).toBe(`"requests-per-minute";r=0;t=${retryAfter}, "tokens-per-day";r=1000;t=0, "in-flight";r=2;t=0`);
      expect(denied.headers['ratelimit-policy']).toContain('"requests-per-minute";q=3;w=60');
      expect(denied.headers['x-ratelimit-remaining']).toBe('0');
      expect(denied.headers['x-ratelimit-limit']).toBe('3');

      const status = await api(get(statusPath(creatorId, '?tier=tiny')));
      expect(status.body.policies[0]).toMatchObject({ used: 3, remaining: 0 });
    });

    it('reserves tokens, replays a requestId without consuming again, and settles idempotently', async () => {
      const creatorId = uniqueCreator('settle');
      const requestId = `req-${randomUUID()}`;
      const first = await api(post('/v1/check', { creatorId, tier: 'tiny', tokens: 600, requestId }));
      expectJson(first, 200);
      expect(first.body).toMatchObject({ requestId, reservedTokens: 600, duplicate: false });
      const replay = await api(post('/v1/check', { creatorId, tier: 'tiny', tokens: 600, requestId }));
      expect(replay.body).toMatchObject({ requestId, duplicate: true, remaining: 2, replayOf: { admittedAt: first.body.at } });
      expect(first.body.replayOf).toBeUndefined();

      const settled = await api(post('/v1/settle', { creatorId, tier: 'tiny', requestId, tokens: 250 }));
      expectJson(settled, 200);
      expect(settled.body).toEqual({ creatorId, requestId, outcome: 'settled', reservedTokens: 600, chargedTokens: 250 });
      expectRateLimitHeaders(settled);
      expect(settled.headers.ratelimit).toContain('"tokens-per-day";r=750;');
      expect(settled.headers.ratelimit).toContain('"in-flight";r=2;');

      const again = await api(post('/v1/settle', { creatorId, tier: 'tiny', requestId, tokens: 250 }));
      expect(again.body.outcome).toBe('already-settled');
      const unknown = await api(post('/v1/settle', { creatorId, tier: 'tiny', requestId: 'never-made', tokens: 1 }));
      expectJson(unknown, 200);
      expect(unknown.body.outcome).toBe('unknown');
    });

    it('a denial caused by unsettled reservations says so and waits no longer than their lease', async () => {
      const creatorId = uniqueCreator('in-flight');
      const held = await api(post('/v1/check', { creatorId, tier: 'tiny', tokens: 700 }));
      expectJson(held, 200);
      const denied = await api(post('/v1/check', { creatorId, tier: 'tiny', tokens: 400 }));
      expectProblem(denied, 429);
      expect(denied.body).toMatchObject({ policy: 'tokens-per-day', reservationsInFlight: true });
      expect(denied.body.detail).toMatch(/reservations still in flight/);
      // The tier's lease is 30 s: the wait is bounded by it, not by the day-long window.
      expect(Number(denied.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(denied.headers['retry-after'])).toBeLessThanOrEqual(30);

      const settled = await api(post('/v1/settle', { creatorId, tier: 'tiny', requestId: held.body.requestId, tokens: 100 }));
      expect(settled.body.outcome).toBe('settled');
      expectJson(await api(post('/v1/check', { creatorId, tier: 'tiny', tokens: 400 })), 200);
    });

    it('accepts a body with a charset in its content type and extra headers', async () => {
      const reply = await api(
        post(
          '/v1/check',
          { creatorId: uniqueCreator('headers'), tier: 'business' },
          {
            headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: ['application/json', 'application/problem+json'] },
          },
        ),
      );
      expectJson(reply, 200);
      expect(reply.body.limit).toBe(500);
    });
  });

  describe('GET /v1/status/{creatorId}', () => {
    it('reports usage without consuming, for the tier in the query (default pro)', async () => {
      const creatorId = uniqueCreator('status');
      await api(post('/v1/check', { creatorId, tier: 'pro' }));
      const first = await api(get(statusPath(creatorId)));
      const second = await api(get(statusPath(creatorId, '?tier=pro')));
      for (const reply of [first, second]) {
        expectJson(reply, 200);
        expectRateLimitHeaders(reply);
        expect(reply.body).toMatchObject({ creatorId, tier: 'pro', limit: 100, remaining: 99 });
        expect(reply.body.policies[0].used).toBe(1);
      }
      expect(second.headers['x-ratelimit-remaining']).toBe('99');
    });

    it('decodes a percent-encoded creatorId as API Gateway does', async () => {
      const creatorId = `créateur ${randomUUID().slice(0, 6)}+1`;
      await api(post('/v1/check', { creatorId, tier: 'starter' }));
      const reply = await api(get(statusPath(creatorId, '?tier=starter')));
      expectJson(reply, 200);
      expect(reply.body).toMatchObject({ creatorId, remaining: 49 });
    });

    it('rejects an unknown tier, a repeated or unknown query parameter', async () => {
      expectBadRequest(await api(get(statusPath('someone', '?tier=gold'))), 'tier');
      expectBadRequest(await api(get(statusPath('someone', '?tier=pro&tier=tiny'))), 'tier');
      expectBadRequest(await api(get(statusPath('someone', '?teir=pro'))), 'teir');
      expectBadRequest(await api(get(statusPath(' padded '))), 'creatorId');
    });
  });

  describe('POST /v1/reset', () => {
    it('forgets the creator and answers {creatorId, reset: true} with fresh headers', async () => {
      const creatorId = uniqueCreator('reset');
      for (let index = 0; index < 3; index += 1) await api(post('/v1/check', { creatorId, tier: 'tiny' }));
      expect((await api(post('/v1/check', { creatorId, tier: 'tiny' }))).status).toBe(429);
      const reset = await api(post('/v1/reset', { creatorId, tier: 'tiny' }));
      expectJson(reset, 200);
      expect(reset.body).toEqual({ creatorId, reset: true });
      expectRateLimitHeaders(reset);
      expect(reset.headers['x-ratelimit-remaining']).toBe('3');
      expectJson(await api(post('/v1/check', { creatorId, tier: 'tiny' })), 200);
    });

    it('validates the tier before erasing anything', async () => {
      const creatorId = uniqueCreator('reset-tier');
      await api(post('/v1/check', { creatorId, tier: 'pro' }));
      expectBadRequest(await api(post('/v1/reset', { creatorId, tier: 'gold' })), 'tier');
      expect((await api(get(statusPath(creatorId)))).body.remaining).toBe(99);
      const reset = await api(post('/v1/reset', { creatorId }));
      expect(reset.headers['x-ratelimit-remaining']).toBe('100');
    });
  });

  describe('PUT, GET and DELETE /v1/overrides/{creatorId}', () => {
    const overridePath = (creatorId: string, query = '') => `/v1/overrides/${encodeURIComponent(creatorId)}${query}`;
    const put = (creatorId: string, body: unknown, query = ''): ApiCall => ({ method: 'PUT', path: overridePath(creatorId, query), body });

    it("raises a creator's limit at once, shows it in the headers, and removes it", async () => {
      const creatorId = uniqueCreator('override');
      const reason = 'launch week, OPS-812';
      const set = await api(put(creatorId, { policies: { 'requests-per-minute': { limit: 5 } }, reason }, '?tier=tiny'));
      expectJson(set, 200);
      expect(set.body).toMatchObject({ creatorId, override: { creatorId, policies: { 'requests-per-minute': { limit: 5 } }, reason } });
      expectRateLimitHeaders(set);
      expect(set.headers['x-ratelimit-limit']).toBe('5');
      for (let index = 0; index < 5; index += 1) expectJson(await api(post('/v1/check', { creatorId, tier: 'tiny' })), 200);
      const denied = await api(post('/v1/check', { creatorId, tier: 'tiny' }));
      expectProblem(denied, 429);
      expect(denied.body).toMatchObject({ limit: 5, policy: 'requests-per-minute' });
      expect(denied.headers['x-ratelimit-limit']).toBe('5');
      expect(denied.headers['ratelimit-policy']).toContain('"requests-per-minute";q=5;w=60');
      const status = await api(get(`${statusPath(creatorId)}?tier=tiny`));
      expect(status.body.policies[0]).toMatchObject({ limit: 5, tierLimit: 3, used: 5 });

      const read = await api({ method: 'GET', path: overridePath(creatorId) });
      expectJson(read, 200);
      expect(read.body.override).toMatchObject({ policies: { 'requests-per-minute': { limit: 5 } }, reason });
      const removed = await api({ method: 'DELETE', path: overridePath(creatorId, '?tier=tiny') });
      expectJson(removed, 200);
      expect(removed.body).toEqual({ creatorId, removed: true });
      expect(removed.headers['x-ratelimit-limit']).toBe('3');
      expect((await api({ method: 'GET', path: overridePath(creatorId) })).body).toEqual({ creatorId, override: null });
      expect((await api({ method: 'DELETE', path: overridePath(creatorId) })).body).toEqual({ creatorId, removed: false });
    });

    it('rejects a bad override naming the field, and changes nothing', async () => {
      const creatorId = uniqueCreator('override-bad');
      const policies = { 'requests-per-minute': { limit: 5 } };
      expectBadRequest(await api(put(creatorId, { policies: { nope: { limit: 5 } }, reason: 'r' })), 'policies.nope');
      expectBadRequest(
        await api(put(creatorId, { policies: { 'requests-per-minute': { limit: 10_001 } }, reason: 'r' })),
        'policies.requests-per-minute.limit',
      );
      expectBadRequest(await api(put(creatorId, { policies })), 'reason');
      expectBadRequest(await api(put(creatorId, { policies, reason: 'r', until: 5 })), 'until');
      expectBadRequest(await api(put(creatorId, { policies, reason: 'r', expiresAt: 1000 })), 'expiresAt');
      expectBadRequest(await api(put(creatorId, { policies, reason: 'r' }, '?tier=gold')), 'tier');
      expect((await api({ method: 'GET', path: overridePath(creatorId) })).body).toEqual({ creatorId, override: null });
    });
  });

  describe('shadow policies', () => {
    it('never deny, report would-be denials in the decision, and stay out of the headers', async () => {
      const creatorId = uniqueCreator('shadow');
      const first = await api(post('/v1/check', { creatorId, tier: 'dark' }));
      expectJson(first, 200);
      expect(first.body.shadow).toBeUndefined();
      for (let index = 0; index < 2; index += 1) {
        const admitted = await api(post('/v1/check', { creatorId, tier: 'dark' }));
        expectJson(admitted, 200);
        expect(admitted.body.shadow).toEqual([{ policy: 'requests-per-minute', limit: 1, retryAfter: expect.any(Number) }]);
        expect(admitted.body.policies[1]).toMatchObject({ name: 'requests-per-minute', shadow: true, used: index + 2 });
        expectRateLimitHeaders(admitted);
        expect(admitted.headers['ratelimit-policy']).toBe('"requests-per-hour";q=100;w=3600');
        expect(admitted.headers.ratelimit).not.toContain('requests-per-minute');
      }
    });
  });

  describe('malformed input is a 400 naming the field', () => {
    const cases: ReadonlyArray<readonly [string, ApiCall, string]> = [
      ['invalid JSON', post('/v1/check', '{"creatorId": "a", '), 'body'],
      ['an empty body', { method: 'POST', path: '/v1/check' }, 'body'],
      ['a JSON array', post('/v1/check', [1, 2]), 'body'],
      ['a JSON string', post('/v1/check', '"creator"'), 'body'],
      ['a boolean creatorId', post('/v1/check', { creatorId: true, tier: 'pro' }), 'creatorId'],
      ['an empty creatorId', post('/v1/check', { creatorId: '', tier: 'pro' }), 'creatorId'],
      ['a 200-character creatorId', post('/v1/check', { creatorId: 'c'.repeat(200), tier: 'pro' }), 'creatorId'],
      ['a creatorId with a control character', post('/v1/check', { creatorId: 'a\u0007b', tier: 'pro' }), 'creatorId'],
      ['a fractional creatorId', post('/v1/check', { creatorId: 1.5, tier: 'pro' }), 'creatorId'],
      ['a missing creatorId', post('/v1/check', { tier: 'pro' }), 'creatorId'],
      ['a missing tier', post('/v1/check', { creatorId: 'a' }), 'tier'],
      ['a null tier', post('/v1/check', { creatorId: 'a', tier: null }), 'tier'],
      ['an unknown tier', post('/v1/check', { creatorId: 'a', tier: 'gold' }), 'tier'],
      ['an inherited property as tier', post('/v1/check', { creatorId: 'a', tier: 'constructor' }), 'tier'],
      ['a misspelt field', post('/v1/check', { creatorId: 'a', tier: 'pro', token: 5 }), 'token'],
      ['negative tokens', post('/v1/check', { creatorId: 'a', tier: 'pro', tokens: -1 }), 'tokens'],
      ['fractional tokens', post('/v1/check', { creatorId: 'a', tier: 'pro', tokens: 1.5 }), 'tokens'],
      ['tokens as a string', post('/v1/check', { creatorId: 'a', tier: 'pro', tokens: '10' }), 'tokens'],
      ['tokens above the tier budget', post('/v1/check', { creatorId: 'a', tier: 'tiny', tokens: 5000 }), 'tokens'],
      ['a requestId with a space', post('/v1/check', { creatorId: 'a', tier: 'pro', requestId: 'a b' }), 'requestId'],
      ['settle without requestId', post('/v1/settle', { creatorId: 'a', tier: 'pro', tokens: 5 }), 'requestId'],
      ['settle without tokens', post('/v1/settle', { creatorId: 'a', tier: 'pro', requestId: 'r' }), 'tokens'],
      ['reset without creatorId', post('/v1/reset', {}), 'creatorId'],
      ['reset with an unknown field', post('/v1/reset', { creatorId: 'a', everything: true }), 'everything'],
    ];
    it.each(cases)('%s', async (_label, call, field) => {
      expectBadRequest(await api(call), field);
    });
  });

  describe('unknown routes are 404', () => {
    const calls: readonly ApiCall[] = [
      post('/v1/unknown', {}),
      get('/'),
      get('/v1/status/'),
      get('/v1/status/a/b'),
      post('/v2/check', { creatorId: 'a', tier: 'pro' }),
    ];
    it.each(calls.map((call) => [`${call.method} ${call.path}`, call] as const))('%s', async (_label, call) => {
      expectProblem(await api(call), 404);
    });
  });

  describe('a method the path does not serve is 405 with Allow', () => {
    const calls: ReadonlyArray<readonly [ApiCall, string]> = [
      [get('/v1/check'), 'POST'],
      [post('/v1/status/someone', {}), 'GET'],
      [{ method: 'DELETE', path: '/v1/reset' }, 'POST'],
      [{ method: 'PUT', path: '/v1/settle', body: {} }, 'POST'],
    ];
    it.each(calls.map(([call, allow]) => [`${call.method} ${call.path}`, call, allow] as const))('%s', async (_label, call, allow) => {
      const reply = await api(call);
      expectProblem(reply, 405);
      expect(reply.headers.allow).toBe(allow);
      expect(reply.body.detail).toContain(allow);
    });
  });

  describe('a body over 16 KiB is 413', () => {
    it.each([
      ['as JSON text', post('/v1/check', { creatorId: 'a', tier: 'pro', requestId: 'x'.repeat(17 * 1024) })],
      [
        'base64-encoded',
        post('/v1/settle', { creatorId: 'a', tier: 'pro', requestId: 'x'.repeat(17 * 1024), tokens: 1 }, { base64: true }),
      ],
    ] as const)('%s', async (_label, call) => {
      const reply = await api(call);
      expectProblem(reply, 413);
      expect(reply.body).toMatchObject({ field: 'body', limitBytes: 16 * 1024 });
    });
  });

  describe('unknown query parameters are a 400 naming them, on every route', () => {
    const creatorId = 'query-someone';
    const calls: ReadonlyArray<readonly [ApiCall, string]> = [
      [post('/v1/check?x=1', { creatorId, tier: 'pro' }), 'x'],
      [post('/v1/settle?tier=pro', { creatorId, tier: 'pro', requestId: 'r', tokens: 1 }), 'tier'],
      [post('/v1/reset?creatorId=a', { creatorId }), 'creatorId'],
      [get(statusPath(creatorId, '?tier=pro&verbose=1')), 'verbose'],
      // Names of Object.prototype members are ordinary unknown parameters, never a 500 or ignored.
      [get(statusPath(creatorId, '?__proto__=x')), '__proto__'],
      [get(statusPath(creatorId, '?constructor=1')), 'constructor'],
      [get(statusPath(creatorId, '?toString=1&tier=pro')), 'toString'],
      [post('/v1/check?hasOwnProperty=1', { creatorId, tier: 'pro' }), 'hasOwnProperty'],
      [post('/v1/check?__proto__=x', { creatorId, tier: 'pro' }), '__proto__'],
    ];
    it.each(calls.map(([call, field]) => [`${call.method} ${call.path}`, call, field] as const))('%s', async (_label, call, field) => {
      expectBadRequest(await api(call), field);
    });

    it('consumes nothing when it refuses', async () => {
      const id = uniqueCreator('query-refused');
      expectBadRequest(await api(post('/v1/check?x=1', { creatorId: id, tier: 'tiny' })), 'x');
      expect((await api(get(statusPath(id, '?tier=tiny')))).headers['x-ratelimit-remaining']).toBe('3');
    });
  });

  describe('headers named like Object.prototype members are ordinary headers', () => {
    it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'])('%s', async (name) => {
      const creatorId = uniqueCreator('header');
      const reply = await api(post('/v1/check', { creatorId, tier: 'pro' }, { headers: { [name]: 'x' } }));
      expectJson(reply, 200);
      expect(reply.body).toMatchObject({ allowed: true, creatorId });
      expectJson(await api({ ...get(statusPath(creatorId)), headers: { [name]: 'x' } }), 200);
    });
  });

  describe('backend unavailable', () => {
    it('fail mode closed: 503 with Retry-After: 60 (never 429), input errors stay 400', async () => {
      const down = await harness().unreachable('closed');
      const creatorId = uniqueCreator('down');
      const calls = [
        post('/v1/check', { creatorId, tier: 'pro' }),
        post('/v1/settle', { creatorId, tier: 'pro', requestId: 'r1', tokens: 3 }),
        get(statusPath(creatorId)),
        post('/v1/reset', { creatorId }),
      ];
      for (const call of calls) {
        const reply = await down(call);
        expectProblem(reply, 503);
        expect(reply.headers['retry-after']).toBe('60');
        expect(reply.body.retryAfter).toBe(60);
      }
      expectBadRequest(await down(post('/v1/check', { creatorId, tier: 'gold' })), 'tier');
    });

    it('fail mode open: check answers 200 with degraded: true and the headers', async () => {
      const down = await harness().unreachable('open');
      const reply = await down(post('/v1/check', { creatorId: uniqueCreator('open'), tier: 'pro' }));
      expectJson(reply, 200);
      expect(reply.body).toMatchObject({ allowed: true, degraded: true });
      expectRateLimitHeaders(reply);
    });
  });
}
