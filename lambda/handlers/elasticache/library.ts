/**
 * What every function of the ElastiCache stack bundles of the library: the ElastiCache store (no
 * Upstash client, no Upstash settings, and not the memory store the library's ElastiCache entry
 * also offers for local use) and the ElastiCache IAM token signer.
 */
import { rateLimiterFactory } from '../../rate-limit/core/create';
import { optionsFromEnv } from '../../rate-limit/core/env-config';
import { elastiCacheFromEnv } from '../../rate-limit/redis/elasticache-env';
import { elastiCacheStore } from '../../rate-limit/redis/elasticache-store';
import { iamAuthTokenFromEnvironment } from '../../shared/elasticache-iam-auth';
import type { LimiterLibrary } from '../../shared/library';

export const ELASTICACHE_LIBRARY: LimiterLibrary = {
  createRateLimiter: rateLimiterFactory({ elasticache: elastiCacheStore }),
  rateLimiterOptionsFromEnv: optionsFromEnv({ elasticache: elastiCacheFromEnv }),
  iamAuthTokenFromEnvironment,
};
