/**
 * The rate-limit library bound to the elasticache backend (ioredis): same exports as index.ts, so
 * switching backends is "change the import". Connection settings come from the environment; its
 * createRateLimiter accepts `backend: 'elasticache'` or `'memory'` (or a store), and the bundle
 * carries no Upstash client.
 */
import { rateLimiterFactory } from './core/create';
import { bindDefaultRateLimiter } from './core/default-instance';
import { optionsFromEnv, processEnv } from './core/env-config';
import { elastiCacheFromEnv } from './redis/elasticache-env';
import { elastiCacheStore } from './redis/elasticache-store';
import { memoryStore } from './store/memory-store';

export * from './public-api';

/** Limiter options from the environment, or from a bindings object with the same names. */
export const rateLimiterOptionsFromEnv = optionsFromEnv({ elasticache: elastiCacheFromEnv });

export const createRateLimiter = rateLimiterFactory({ elasticache: elastiCacheStore, memory: memoryStore });

export const {
  checkCreatorRateLimit,
  getRateLimitStatus,
  settleCreatorUsage,
  resetCreatorRateLimit,
  getDefaultRateLimiter,
  setCreatorOverride,
  getCreatorOverride,
  removeCreatorOverride,
} = bindDefaultRateLimiter(() => createRateLimiter(rateLimiterOptionsFromEnv(processEnv(), {}, 'elasticache')));
