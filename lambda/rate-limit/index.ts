/**
 * Rate-limit library. The module-level functions use a limiter configured from the environment:
 * RATE_LIMIT_BACKEND (elasticache | upstash | memory), or USE_ELASTICACHE=true, as in DESIGN.md §4.
 */
import { bindDefaultRateLimiter } from './core/default-instance';

export * from './exports';

const bound = bindDefaultRateLimiter();
export const { checkCreatorRateLimit, getRateLimitStatus, settleCreatorUsage, resetCreatorRateLimit, getDefaultRateLimiter } =
  bound;
