import {
  createRateLimiter,
  rateLimiterOptionsFromEnv,
  selectBackend,
  RateLimitConfigError,
  type RateLimiterOptions,
} from '../../lambda/rate-limit';
import { parseAuthSecret } from '../../lambda/rate-limit/redis/elasticache-env';
import { parseUpstashSecret } from '../../lambda/rate-limit/redis/upstash-env';

describe('backend selection from the environment', () => {
  it.each([
    [{ RATE_LIMIT_BACKEND: 'elasticache' }, 'elasticache'],
    [{ RATE_LIMIT_BACKEND: 'upstash' }, 'upstash'],
    [{ RATE_LIMIT_BACKEND: 'memory' }, 'memory'],
    [{ USE_ELASTICACHE: 'true' }, 'elasticache'],
    [{ USE_ELASTICACHE: 'false', UPSTASH_REDIS_REST_URL: 'https://x.upstash.io' }, 'upstash'],
    [{ UPSTASH_REDIS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:x' }, 'upstash'],
    [{ RATE_LIMIT_BACKEND: 'upstash', USE_ELASTICACHE: 'true' }, 'upstash'],
  ])('%j selects %s', (env, backend) => {
    expect(selectBackend(env)).toBe(backend);
  });

  it('never falls back to memory silently: no backend names the variables to set', () => {
    expect(() => selectBackend({})).toThrow(RateLimitConfigError);
    expect(() => selectBackend({})).toThrow(/RATE_LIMIT_BACKEND=elasticache with ELASTICACHE_REDIS_HOST.*UPSTASH_REDIS_REST_URL/);
  });

  it.each([
    [{ RATE_LIMIT_BACKEND: 'redis' }, /RATE_LIMIT_BACKEND must be one of elasticache, upstash, memory, http, got "redis"/],
    [{ USE_ELASTICACHE: 'yes' }, /USE_ELASTICACHE must be "true" or "false"/],
    [{ RATE_LIMIT_BACKEND: 'elasticache' }, /ELASTICACHE_REDIS_HOST is required/],
    [
      { RATE_LIMIT_BACKEND: 'elasticache', ELASTICACHE_REDIS_HOST: 'h', ELASTICACHE_REDIS_PORT: '70000' },
      /ELASTICACHE_REDIS_PORT must be an integer from 1 to 65535/,
    ],
    [
      { RATE_LIMIT_BACKEND: 'elasticache', ELASTICACHE_REDIS_HOST: 'h', ELASTICACHE_REDIS_TLS: 'on' },
      /ELASTICACHE_REDIS_TLS must be "true" or "false"/,
    ],
    [{ RATE_LIMIT_BACKEND: 'elasticache', ELASTICACHE_REDIS_HOST: 'h', ELASTICACHE_REDIS_AUTH_SECRET_ARN: 'arn:x' }, /no readSecret hook/],
    [
      { RATE_LIMIT_BACKEND: 'elasticache', ELASTICACHE_REDIS_HOST: 'h', ELASTICACHE_REDIS_IAM_USER: 'u' },
      /requires ELASTICACHE_REDIS_TLS=true/,
    ],
    [{ RATE_LIMIT_BACKEND: 'upstash' }, /UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, or UPSTASH_REDIS_SECRET_ARN/],
    [{ RATE_LIMIT_BACKEND: 'upstash', UPSTASH_REDIS_REST_URL: 'ftp://x', UPSTASH_REDIS_REST_TOKEN: 't' }, /must be an http\(s\) URL/],
    [{ RATE_LIMIT_BACKEND: 'memory', RATE_LIMIT_FAIL_MODE: 'sometimes' }, /RATE_LIMIT_FAIL_MODE must be "closed" or "open"/],
    [{ RATE_LIMIT_BACKEND: 'memory', RATE_LIMIT_TIMEOUT_MS: '0' }, /RATE_LIMIT_TIMEOUT_MS must be an integer from 1/],
    [{ RATE_LIMIT_BACKEND: 'memory', RATE_LIMIT_TIMEOUT_MS: '12ms' }, /RATE_LIMIT_TIMEOUT_MS/],
    [
      {
        RATE_LIMIT_BACKEND: 'memory',
        RATE_LIMIT_TIERS: '{"pro":{"policies":[{"name":"x","unit":"requests","limit":0,"windowSeconds":1}]}}',
      },
      /RATE_LIMIT_TIERS: tier "pro", policy "x", field "limit"/,
    ],
  ])('rejects %j', (env, message) => {
    expect(() => rateLimiterOptionsFromEnv(env)).toThrow(message);
  });

  it('maps the ElastiCache variables', () => {
    const options = rateLimiterOptionsFromEnv({
      RATE_LIMIT_BACKEND: 'elasticache',
      ELASTICACHE_REDIS_HOST: 'redis.internal',
      ELASTICACHE_REDIS_PORT: '6380',
      ELASTICACHE_REDIS_TLS: 'true',
      ELASTICACHE_REDIS_CLUSTER: 'true',
      ELASTICACHE_REDIS_USERNAME: 'app',
      ELASTICACHE_REDIS_PASSWORD: 'pw',
      RATE_LIMIT_FAIL_MODE: 'open',
      RATE_LIMIT_TIMEOUT_MS: '250',
    });
    expect(options).toMatchObject({
      backend: 'elasticache',
      failMode: 'open',
      timeoutMs: 250,
      elasticache: { host: 'redis.internal', port: 6380, tls: true, cluster: true, username: 'app', password: 'pw' },
    });
  });

  it('reads the AUTH token through the readSecret hook, only when connecting', async () => {
    const reads: string[] = [];
    const options = rateLimiterOptionsFromEnv(
      { RATE_LIMIT_BACKEND: 'elasticache', ELASTICACHE_REDIS_HOST: 'h', ELASTICACHE_REDIS_AUTH_SECRET_ARN: 'arn:auth' },
      { readSecret: async (arn) => (reads.push(arn), '{"password":"s3cret","username":"svc"}') },
    );
    expect(reads).toEqual([]);
    const credentials = (options as { elasticache: { credentials: () => Promise<unknown> } }).elasticache.credentials;
    await expect(credentials()).resolves.toEqual({ username: 'svc', password: 's3cret' });
    expect(reads).toEqual(['arn:auth']);
  });

  it('parses AUTH and Upstash secrets in their documented shapes', () => {
    expect(parseAuthSecret('  tok  ')).toEqual({ password: 'tok' });
    expect(parseAuthSecret('{"authToken":"a"}', 'u')).toEqual({ username: 'u', password: 'a' });
    expect(() => parseAuthSecret('{"user":1}')).toThrow(/needs a non-empty "password"/);
    expect(() => parseAuthSecret('{oops')).toThrow(/does not parse/);
    expect(parseUpstashSecret('{"url":"https://x.upstash.io","token":"t"}')).toEqual({ url: 'https://x.upstash.io', token: 't' });
    expect(() => parseUpstashSecret('{"url":"x"}')).toThrow(/http\(s\) "url" and a non-empty "token"/);
  });

  it('never echoes a secret value in its errors', () => {
    try {
      parseUpstashSecret('{"url":"nope","token":"super-secret-token"}');
      throw new Error('expected a failure');
    } catch (error) {
      expect(String(error)).not.toContain('super-secret-token');
    }
  });
});

describe('createRateLimiter options', () => {
  it.each([
    [{ failMode: 'sometimes' }, /failMode must be "closed" or "open"/],
    [{ timeoutMs: 0 }, /timeoutMs must be an integer from 1 to 60000, got 0/],
    [{ timeoutMs: Number.NaN }, /timeoutMs must be an integer/],
    [{ leaseSeconds: 1.5 }, /leaseSeconds must be an integer from 1 to 86400/],
    [{ anomalyFactor: -1 }, /anomalyFactor must be a number >= 0/],
    [{ keyPrefix: 'a{b}' }, /keyPrefix must be 1-64 characters/],
    [{ tiers: { pro: { policies: [] } } }, /tiers: tier "pro": "policies" must hold 1 to 8/],
  ])('rejects %j at construction, naming the option', (options, message) => {
    expect(() => createRateLimiter({ backend: 'memory', ...options } as RateLimiterOptions)).toThrow(RateLimitConfigError);
    expect(() => createRateLimiter({ backend: 'memory', ...options } as RateLimiterOptions)).toThrow(message);
  });

  it('rejects a backend it does not know, and an Upstash backend without credentials', () => {
    expect(() => createRateLimiter({ backend: 'redis' } as unknown as RateLimiterOptions)).toThrow(
      /backend must be "elasticache", "upstash" or "memory"/,
    );
    expect(() => createRateLimiter({ backend: 'upstash', upstash: { url: 'https://x.upstash.io' } })).toThrow(
      /upstash needs "url" and "token"/,
    );
  });
});
