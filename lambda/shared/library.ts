/**
 * The part of the rate-limit library the handler layer uses that is the same for every backend:
 * errors, reading options from the environment, defaults and types.
 *
 * The handler layer imports the library only through this module and never `createRateLimiter`:
 * a function's entry (lambda/handlers/<backend>/<route>.ts) passes the one of the library entry it
 * bundles, so the ElastiCache functions carry no Upstash client and the Upstash functions no
 * ioredis. This module must therefore import a library module that wires no backend client.
 */
import type { RateLimiter, RateLimiterOptions } from '../rate-limit/public-api';

export {
  DEFAULT_TIER,
  RateLimitConfigError,
  RateLimitDataError,
  RateLimitError,
  RateLimitInputError,
  RateLimitUnavailableError,
  type AnomalyReport,
  type BackendName,
  type LimiterBackendName,
  type EnvironmentHooks,
  type PolicyStatus,
  type RateLimiter,
  type RateLimitLogger,
  type RateLimitStatus,
  type ShadowDenialReport,
  type TierDefinition,
} from '../rate-limit/public-api';
export { rateLimiterOptionsFromEnv } from '../rate-limit/env-options';

/** A library entry's `createRateLimiter`: the entry decides which backends it can build. */
export type RateLimiterFactory = (options: RateLimiterOptions) => RateLimiter;
