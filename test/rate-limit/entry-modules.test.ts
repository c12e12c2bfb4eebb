/**
 * index.ts, elasticache.ts and upstash.ts export the same API; the module-level functions use a
 * limiter configured from the environment on first call (switching backends = changing the import).
 */
import { creatorKeys } from '../../lambda/rate-limit/redis/keys';
import { useTestServers } from '../support/backends';

const servers = useTestServers();
type Library = typeof import('../../lambda/rate-limit');

const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
});

/** A fresh copy of the module, with `env` in place for its lazily created default limiter. */
function load(module: string, env: Record<string, string>): Library {
  Object.assign(process.env, env);
  let library: Library | undefined;
  jest.isolateModules(() => {
    library = require(module) as Library;
  });
  return library!;
}

const cleanEnv = { RATE_LIMIT_BACKEND: '', USE_ELASTICACHE: '', UPSTASH_REDIS_REST_URL: '', UPSTASH_REDIS_SECRET_ARN: '' };

describe('entry modules', () => {
  it('export the same names', () => {
    const names = (module: string) => Object.keys(load(module, cleanEnv)).sort();
    expect(names('../../lambda/rate-limit/elasticache')).toEqual(names('../../lambda/rate-limit'));
    expect(names('../../lambda/rate-limit/upstash')).toEqual(names('../../lambda/rate-limit'));
    expect(names('../../lambda/rate-limit')).toEqual(
      expect.arrayContaining([
        'checkCreatorRateLimit',
        'getRateLimitStatus',
        'settleCreatorUsage',
        'RateLimitError',
        'RateLimitUnavailableError',
        'createRateLimiter',
      ]),
    );
  });

  it('index selects ElastiCache with USE_ELASTICACHE=true, as the old system did', async () => {
    const library = load('../../lambda/rate-limit', {
      ...cleanEnv,
      USE_ELASTICACHE: 'true',
      ELASTICACHE_REDIS_HOST: servers.redis.host,
      ELASTICACHE_REDIS_PORT: String(servers.redis.port),
    });
    const decision = await library.checkCreatorRateLimit('entry-1', 'starter');
    expect(decision).toMatchObject({ limit: 50, remaining: 49 });
    expect(library.getDefaultRateLimiter().backend).toBe('elasticache');
    expect(await servers.inspector.keys('rl:{entry-1}:*')).toContain(creatorKeys('entry-1').state);
    await library.getDefaultRateLimiter().close();
  });

  it('upstash.ts is bound to Upstash whatever RATE_LIMIT_BACKEND says', async () => {
    const library = load('../../lambda/rate-limit/upstash', {
      ...cleanEnv,
      RATE_LIMIT_BACKEND: 'memory',
      UPSTASH_REDIS_REST_URL: servers.upstash.url,
      UPSTASH_REDIS_REST_TOKEN: servers.upstash.token,
    });
    servers.upstash.resetStats();
    const status = await library.getRateLimitStatus('entry-2');
    expect(status).toMatchObject({ tier: 'pro', limit: 100, remaining: 100 });
    expect(servers.upstash.stats.httpRequests).toBeGreaterThan(0);
  });

  it('upstash.ts builds a limiter from a bindings object (a Worker has no process.env)', async () => {
    const library = load('../../lambda/rate-limit/upstash', cleanEnv);
    const bindings = {
      UPSTASH_REDIS_REST_URL: servers.upstash.url,
      UPSTASH_REDIS_REST_TOKEN: servers.upstash.token,
      RATE_LIMIT_TIERS: JSON.stringify({ solo: { policies: [{ name: 'per-hour', unit: 'requests', limit: 1, windowSeconds: 3600 }] } }),
    };
    const limiter = library.createRateLimiter(library.rateLimiterOptionsFromEnv(bindings, {}, 'upstash'));
    expect(limiter.backend).toBe('upstash');
    await expect(limiter.check('bound-1', 'solo')).resolves.toMatchObject({ limit: 1, remaining: 0 });
    await expect(limiter.check('bound-1', 'solo')).rejects.toBeInstanceOf(library.RateLimitError);
    // The Upstash entry bundles no other backend.
    expect(() => library.createRateLimiter({ backend: 'elasticache', elasticache: { host: '127.0.0.1' } })).toThrow(
      /backend must be "upstash" in this entry module/,
    );
    await limiter.close();
  });

  it('fails with the variables to set when nothing is configured, without throwing at import', async () => {
    const library = load('../../lambda/rate-limit', cleanEnv);
    await expect(library.checkCreatorRateLimit('x')).rejects.toThrow(/No rate-limit backend configured/);
  });
});
