/** What every entry module (index, elasticache, upstash, memory) exports besides createRateLimiter and the bound functions. */
export { DEFAULT_TIER, DEFAULT_TIMEOUT_MS, type RateLimiterOptions, type RateLimitLogger, type LimiterOptions } from './core/options';
export type { RateLimiter } from './core/limiter';
export {
  RateLimitError,
  RateLimitUnavailableError,
  RateLimitDataError,
  RateLimitInputError,
  RateLimitConfigError,
  type UnavailableReason,
} from './core/errors';
export { DEFAULT_TIERS, DEFAULT_LEASE_SECONDS, parseTierTable, parseTierTableJson } from './core/tiers';
export { selectBackend, type EnvironmentHooks } from './core/env-config';
export type { ElastiCacheConnectionOptions, RedisCredentials } from './redis/elasticache-client';
export type { UpstashConnectionOptions } from './redis/upstash-client';
export type { RateLimitStore } from './store/store';
export type * from './core/types';
