/**
 * What every function of the Upstash stack bundles of the library: the REST entry (no ioredis, no
 * ElastiCache settings or IAM signing).
 */
import { createRateLimiter, rateLimiterOptionsFromEnv } from '../../rate-limit/upstash';
import type { LimiterLibrary } from '../../shared/library';

export const UPSTASH_LIBRARY: LimiterLibrary = { createRateLimiter, rateLimiterOptionsFromEnv };
