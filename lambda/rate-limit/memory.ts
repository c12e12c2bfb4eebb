/**
 * The rate-limit library bound to the in-process memory backend, for local development and tests
 * only (state lives in one process). Same exports as index.ts.
 */
import { rateLimiterFactory } from './core/create';
import { bindDefaultRateLimiter } from './core/default-instance';
import { optionsFromEnv, processEnv } from './core/env-config';
import { memoryStore } from './store/memory-store';

export * from './public-api';

/** Limiter options from the environment, or from a bindings object with the same names. */
export const rateLimiterOptionsFromEnv = optionsFromEnv({});

export const createRateLimiter = rateLimiterFactory({ memory: memoryStore });

export const {
  checkCreatorRateLimit,
  getRateLimitStatus,
  settleCreatorUsage,
  resetCreatorRateLimit,
  getDefaultRateLimiter,
  setCreatorOverride,
  getCreatorOverride,
  removeCreatorOverride,
} = bindDefaultRateLimiter(() => createRateLimiter(rateLimiterOptionsFromEnv(processEnv(), {}, 'memory')));
