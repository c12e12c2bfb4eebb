/** Everything the entry modules (index, elasticache, upstash) export besides the bound functions. */
export { createRateLimiter, DEFAULT_TIER, DEFAULT_TIMEOUT_MS, type RateLimiter, type RateLimiterOptions, type RateLimitLogger } from './limiter';
export { RateLimitError, RateLimitUnavailableError, RateLimitDataError, RateLimitInputError, RateLimitConfigError, type UnavailableReason } from './errors';
export { DEFAULT_TIERS, DEFAULT_LEASE_SECONDS, parseTierTable, parseTierTableJson } from './tiers';
export { rateLimiterOptionsFromEnv, selectBackend, type EnvironmentHooks } from './config';
export type { ElastiCacheConnectionOptions, RedisCredentials } from './backends/elasticache-client';
export type { UpstashConnectionOptions } from './backends/upstash-client';
export type { RateLimitStore } from './backends/store';
export type * from './types';
