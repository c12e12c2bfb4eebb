/**
 * rateLimiterOptionsFromEnv for every store backend, without their clients: the environment of any
 * backend can be read here (the Lambda runtime layer does so) while the function's entry module
 * decides which client is bundled.
 */
import { optionsFromEnv } from './core/env-config';
import { elastiCacheFromEnv } from './redis/elasticache-env';
import { upstashFromEnv } from './redis/upstash-env';

/** Limiter options from the environment, or from a bindings object with the same names. */
export const rateLimiterOptionsFromEnv = optionsFromEnv({ elasticache: elastiCacheFromEnv, upstash: upstashFromEnv });
