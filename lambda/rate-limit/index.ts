/**
 * Rate-limit library. The module-level functions use a limiter configured from the environment:
 * RATE_LIMIT_BACKEND (elasticache | upstash | memory | http), or USE_ELASTICACHE=true. This entry bundles
 * every backend; elasticache.ts, upstash.ts and memory.ts bundle one each.
 */
import { rateLimiterFromEnv } from './all-backends';
import { bindDefaultRateLimiter } from './core/default-instance';

export * from './exports';

export const {
  checkCreatorRateLimit,
  getRateLimitStatus,
  settleCreatorUsage,
  resetCreatorRateLimit,
  getDefaultRateLimiter,
  setCreatorOverride,
  getCreatorOverride,
  removeCreatorOverride,
} = bindDefaultRateLimiter(() => rateLimiterFromEnv());
