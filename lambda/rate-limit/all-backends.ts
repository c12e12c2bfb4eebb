/**
 * createRateLimiter with every backend (the default entry and the generic Lambda handlers use it),
 * including `http`: a client of the deployed API with the same interface.
 */
import { rateLimiterFactory } from './core/create';
import { processEnv, selectBackend, type Environment, type EnvironmentHooks } from './core/env-config';
import type { RateLimiter } from './core/limiter';
import type { RateLimiterOptions } from './core/options';
import { rateLimiterOptionsFromEnv } from './env-options';
import { createHttpRateLimiter, httpOptionsFromEnv, type HttpRateLimiterOptions } from './http';
import { elastiCacheStore } from './redis/elasticache-store';
import { upstashStore } from './redis/upstash-store';
import { memoryStore } from './store/memory-store';

export { rateLimiterOptionsFromEnv };

const storeBackedRateLimiter = rateLimiterFactory({ elasticache: elastiCacheStore, upstash: upstashStore, memory: memoryStore });

/** `backend: 'http'`: the deployed API answers. Fail mode, deadline and tiers may sit beside `http`, as for other backends. */
export interface HttpBackendOptions extends Pick<HttpRateLimiterOptions, 'failMode' | 'timeoutMs' | 'tiers' | 'logger' | 'circuitBreaker'> {
  readonly backend: 'http';
  readonly http: HttpRateLimiterOptions;
}

export function createRateLimiter(options: RateLimiterOptions | HttpBackendOptions): RateLimiter {
  if (options.backend !== 'http') return storeBackedRateLimiter(options);
  const { failMode, timeoutMs, tiers, logger, circuitBreaker, http } = options;
  const common = { failMode, timeoutMs, tiers, logger, circuitBreaker };
  const defined = Object.fromEntries(Object.entries(common).filter(([, value]) => value !== undefined));
  return createHttpRateLimiter({ ...defined, ...http });
}

/** The limiter the environment (or a bindings object) describes, `RATE_LIMIT_BACKEND=http` included. */
export function rateLimiterFromEnv(env: Environment = processEnv(), hooks: EnvironmentHooks = {}): RateLimiter {
  if (selectBackend(env) === 'http') return createHttpRateLimiter(httpOptionsFromEnv(env));
  return storeBackedRateLimiter(rateLimiterOptionsFromEnv(env, hooks));
}
