/**
 * The rate-limit library bound to the upstash backend: same exports as index.ts, so switching
 * backends is "change the import". It uses Web-standard APIs only (fetch,
 * crypto.randomUUID) and imports nothing from Node and nothing of ioredis, so it runs in edge
 * runtimes (Cloudflare Workers, Vercel Edge).
 *
 * Its createRateLimiter accepts `backend: 'upstash'` (or a store; the memory backend is in
 * memory.ts, kept out of edge bundles). Where there is no
 * `process.env` (a Worker), pass the URL and token explicitly,
 * `createRateLimiter({ backend: 'upstash', upstash: { url, token } })`, or build the options from
 * the Worker's bindings: `createRateLimiter(rateLimiterOptionsFromEnv(env, {}, 'upstash'))`.
 * The module-level functions read `process.env` where it exists.
 */
import { rateLimiterFactory } from './core/create';
import { bindDefaultRateLimiter } from './core/default-instance';
import { optionsFromEnv, processEnv } from './core/env-config';
import { upstashFromEnv } from './redis/upstash-env';
import { upstashStore } from './redis/upstash-store';

export * from './public-api';

/** Limiter options from the environment, or from a bindings object with the same names. */
export const rateLimiterOptionsFromEnv = optionsFromEnv({ upstash: upstashFromEnv });

export const createRateLimiter = rateLimiterFactory({ upstash: upstashStore });

export const {
  checkCreatorRateLimit,
  getRateLimitStatus,
  settleCreatorUsage,
  resetCreatorRateLimit,
  getDefaultRateLimiter,
  setCreatorOverride,
  getCreatorOverride,
  removeCreatorOverride,
} = bindDefaultRateLimiter(() => createRateLimiter(rateLimiterOptionsFromEnv(processEnv(), {}, 'upstash')));
