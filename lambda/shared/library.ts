/**
 * The part of the rate-limit library the handler layer uses that is the same for every backend:
 * errors, reading options from the environment, defaults and types.
 *
 * The handler layer imports the library only through this module and never `createRateLimiter`:
 * a function's entry (lambda/handlers/<backend>/<route>.ts) passes the LimiterLibrary of the
 * library entry it bundles, so the ElastiCache functions carry no Upstash client and the Upstash
 * functions no ioredis. This module must therefore import a library module that wires no backend
 * client.
 */
import type { EnvironmentHooks, RateLimiter, RateLimiterOptions } from '../rate-limit/public-api';

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

/** A library entry's `createRateLimiter`: the entry decides which backends it can build. */
export type RateLimiterFactory = (options: RateLimiterOptions) => RateLimiter;

/** A library entry's `rateLimiterOptionsFromEnv`: it reads the settings of the entry's backends only. */
export type RateLimiterOptionsReader = (env: Readonly<Record<string, string | undefined>>, hooks: EnvironmentHooks) => RateLimiterOptions;

/**
 * What a function bundles of the library: one entry's factory and environment reader (so the
 * Upstash functions carry no ElastiCache settings code, and the reverse), and the ElastiCache IAM
 * token signer where the entry offers ElastiCache.
 */
export interface LimiterLibrary {
  readonly createRateLimiter: RateLimiterFactory;
  readonly rateLimiterOptionsFromEnv: RateLimiterOptionsReader;
  /** Builds the default `iamAuthToken` hook (ELASTICACHE_REDIS_IAM_USER). */
  readonly iamAuthTokenFromEnvironment?: (env: Readonly<Record<string, string | undefined>>) => (userId: string) => Promise<string>;
}
