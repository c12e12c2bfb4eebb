import { RateLimitDataError, type TierTable } from '../../lambda/rate-limit';
import { classifyBackendFailure } from '../../lambda/rate-limit/resilience/backend-failure';
import { CircuitBreaker, CircuitOpenError } from '../../lambda/rate-limit/resilience/circuit-breaker';
import { DeadlineExceededError } from '../../lambda/rate-limit/resilience/deadline';
import { creatorKeyBase, creatorKeys, requestLogKey } from '../../lambda/rate-limit/redis/keys';
import { REDIS_BACKENDS, uniqueKeyPrefix, useTestServers, type BackendUnderTest } from '../support/backends';

const servers = useTestServers();

/** A call through the breaker, the way the limiter makes one: enter, await, then report. */
async function run<T>(breaker: CircuitBreaker, call: () => Promise<T>): Promise<T> {
  const isProbe = breaker.enter();
  try {
    const result = await call();
    breaker.succeeded(isProbe);
    return result;
  } catch (error) {
    breaker.failed(isProbe, error instanceof Error ? error.message : String(error));
    throw error;
  }
}

const fail = () => Promise.reject(new Error('down'));
const succeed = () => Promise.resolve('ok');

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures and then fails without calling', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 500, clock: () => now });
    for (let i = 0; i < 3; i += 1) await expect(run(breaker, fail)).rejects.toThrow('down');
    expect(breaker.current).toBe('open');
    const call = jest.fn(succeed);
    await expect(run(breaker, call)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(call).not.toHaveBeenCalled();
    now = 499;
    await expect(run(breaker, call)).rejects.toThrow(/next probe in 1 ms/);
  });

  it('a success resets the count of consecutive failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: () => 0 });
    await expect(run(breaker, fail)).rejects.toThrow();
    await run(breaker, succeed);
    await expect(run(breaker, fail)).rejects.toThrow();
    expect(breaker.current).toBe('closed');
  });

  it('lets one probe through after the cool-down: success closes, failure reopens', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, clock: () => now });
    await expect(run(breaker, fail)).rejects.toThrow();
    now = 100;
    expect(breaker.current).toBe('half-open');
    let release!: () => void;
    const probe = run(breaker, () => new Promise<string>((resolve) => (release = () => resolve('probe'))));
    await expect(run(breaker, succeed)).rejects.toBeInstanceOf(CircuitOpenError); // one probe at a time
    release();
    await expect(probe).resolves.toBe('probe');
    expect(breaker.current).toBe('closed');

    await expect(run(breaker, fail)).rejects.toThrow();
    now = 200;
    await expect(run(breaker, fail)).rejects.toThrow('down');
    expect(breaker.current).toBe('open');
  });
});

/**
 * One creator's bad data must not open the breaker for everyone: a key of the wrong type under one
 * creator's prefix fails that creator's calls with a RateLimitDataError naming the cause, in either
 * fail mode, while every other creator keeps being served. Real redis-server, both transports.
 */
describe.each(REDIS_BACKENDS)('a creator with unusable keys on the %s backend', (backend: BackendUnderTest) => {
  const TIERS: TierTable = {
    hourly: { policies: [{ name: 'per-hour', unit: 'requests', limit: 1000, windowSeconds: 3600 }] },
    metered: {
      policies: [
        { name: 'per-hour', unit: 'requests', limit: 1000, windowSeconds: 3600 },
        { name: 'tokens', unit: 'tokens', limit: 1_000_000, windowSeconds: 3600 },
      ],
    },
  };

  async function dataError(promise: Promise<unknown>): Promise<RateLimitDataError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RateLimitDataError);
    return error as RateLimitDataError;
  }

  it.each(['closed', 'open'] as const)('fail mode %s: WRONGTYPE fails that creator only; the breaker stays closed', async (failMode) => {
    const keyPrefix = uniqueKeyPrefix();
    const limiter = servers.limiter(backend, { tiers: TIERS, keyPrefix, failMode, timeoutMs: 2000 });
    // The token ledger is a sorted set; make it a plain set.
    await servers.inspector.sadd(creatorKeys('poisoned', keyPrefix).ledger, 'not-a-ledger');
    for (let i = 0; i < 10; i += 1) {
      const error = await dataError(limiter.check('poisoned', 'metered', { tokens: 10 }));
      expect(error.code).toBe('WRONGTYPE');
      expect(error.message).toContain('WRONGTYPE');
      expect(error.detail).toContain('WRONGTYPE');
      expect(error.detail).not.toMatch(/[0-9a-f]{40}|\{poisoned\}/); // no script hash, no key name
    }
    const healthy = await Promise.all(Array.from({ length: 20 }, (_, i) => limiter.check(`healthy-${i}`, 'metered', { tokens: 10 })));
    expect(healthy.every((decision) => decision.allowed && !decision.degraded)).toBe(true);
    // A reset deletes every key the limiter reads for the creator: the creator is served again.
    await limiter.reset('poisoned');
    await expect(limiter.check('poisoned', 'metered', { tokens: 10 })).resolves.toMatchObject({ allowed: true, degraded: false });
  });

  it('a script runtime error caused by what a key holds is a data error too', async () => {
    const keyPrefix = uniqueKeyPrefix();
    const limiter = servers.limiter(backend, { tiers: TIERS, keyPrefix, timeoutMs: 2000 });
    await servers.inspector.set(requestLogKey(creatorKeyBase('garbled', keyPrefix), 'per-hour'), 'x');
    for (let i = 0; i < 6; i += 1) {
      const error = await dataError(limiter.check('garbled', 'hourly'));
      expect(error.code).toBe('ERR');
      expect(error.detail).toMatch(/script error: /);
    }
    await expect(limiter.check('fine', 'hourly')).resolves.toMatchObject({ allowed: true, degraded: false });
  });
});

describe('classifyBackendFailure', () => {
  const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

  it.each<[string, unknown, Record<string, unknown>]>([
    ['the deadline', new DeadlineExceededError(300), { kind: 'unavailable', reason: 'timeout', summary: 'no answer within 300 ms' }],
    [
      'an open circuit, naming the failure that opened it',
      new CircuitOpenError(120, 'connection refused (ECONNREFUSED)'),
      { reason: 'circuit-open', summary: expect.stringContaining('connection refused (ECONNREFUSED)') },
    ],
    [
      'undici: fetch failed, cause ECONNREFUSED',
      new TypeError('fetch failed', { cause: withCode('connect ECONNREFUSED 10.0.0.7:443', 'ECONNREFUSED') }),
      { reason: 'connection', summary: 'connection refused (ECONNREFUSED)' },
    ],
    [
      'undici: socket closed',
      new TypeError('fetch failed', { cause: withCode('other side closed', 'UND_ERR_SOCKET') }),
      { reason: 'connection', summary: 'connection lost (UND_ERR_SOCKET)' },
    ],
    ['ioredis: connection closed', new Error('Connection is closed.'), { reason: 'connection' }],
    [
      'the transport: not connected, quoting the refusal',
      new Error('Redis not connected within 1000 ms (status reconnecting); last connection error: connect ECONNREFUSED 10.1.2.3:6379'),
      { reason: 'connection', summary: 'connection refused (ECONNREFUSED)' },
    ],
    [
      'Upstash: WRONGPASS',
      new Error('WRONGPASS invalid or missing auth token, command was: ["evalsha","abc"]'),
      { reason: 'credentials', summary: 'WRONGPASS invalid or missing auth token' },
    ],
    [
      'the transport: credentials refused',
      new Error('Redis refused the connection: WRONGPASS invalid username-password pair'),
      { reason: 'credentials' },
    ],
    [
      'a server-wide error reply from a script',
      new Error(
        "OOM command not allowed when used memory > 'maxmemory'. script: 23b3066ab916c99eeccd57c8065f1565bcd9c4d7, on @user_script:52.",
      ),
      { kind: 'unavailable', reason: 'server-error' },
    ],
    [
      'Redis loading',
      new Error('LOADING Redis is loading the dataset in memory'),
      { reason: 'server-error', summary: 'LOADING Redis is loading the dataset in memory' },
    ],
    [
      'a non-JSON REST answer',
      Object.assign(new Error('Unable to parse response body: <html>'), { name: 'UpstashJSONParseError' }),
      { reason: 'server-error' },
    ],
    [
      'WRONGTYPE from a script',
      new Error(
        'WRONGTYPE Operation against a key holding the wrong kind of value script: 23b3066ab916c99eeccd57c8065f1565bcd9c4d7, on @user_script:386.',
      ),
      { kind: 'data', code: 'WRONGTYPE', summary: 'WRONGTYPE Operation against a key holding the wrong kind of value' },
    ],
    [
      'a command of the script refusing a value',
      new Error('ERR value is not an integer or out of range script: 23b3066ab916c99eeccd57c8065f1565bcd9c4d7, on @user_script:52.'),
      { kind: 'data', code: 'ERR' },
    ],
  ])('%s', (_name, error, expected) => {
    expect(classifyBackendFailure(error)).toMatchObject(expected);
  });

  it('never puts an address into a summary', () => {
    const failure = classifyBackendFailure(new Error('getaddrinfo failed for 10.20.30.40:6379 and [fe80::1]:6379'));
    expect(failure.summary).not.toMatch(/10\.20|fe80/);
  });
});
