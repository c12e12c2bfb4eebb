/**
 * The rate-limit library bound to the upstash backend: same exports as index.ts, so switching
 * backends is "change the import". Connection settings still come from the environment.
 */
import { bindDefaultRateLimiter } from './core/default-instance';

export * from './exports';

const bound = bindDefaultRateLimiter('upstash');
export const { checkCreatorRateLimit, getRateLimitStatus, settleCreatorUsage, resetCreatorRateLimit, getDefaultRateLimiter } =
  bound;
