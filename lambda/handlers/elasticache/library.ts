/**
 * What every function of the ElastiCache stack bundles of the library: the ioredis entry (no
 * Upstash client, no Upstash settings) and the ElastiCache IAM token signer.
 */
import { createRateLimiter, rateLimiterOptionsFromEnv } from '../../rate-limit/elasticache';
import { iamAuthTokenFromEnvironment } from '../../shared/elasticache-iam-auth';
import type { LimiterLibrary } from '../../shared/library';

export const ELASTICACHE_LIBRARY: LimiterLibrary = { createRateLimiter, rateLimiterOptionsFromEnv, iamAuthTokenFromEnvironment };
