/**
 * The rate-limit library bound to the elasticache backend (ioredis): same exports as index.ts, so
 * switching backends is "change the import". Connection settings come from the environment; its
 * createRateLimiter accepts `backend: 'elasticache'` or `'memory'` (or a store), and the bundle
 * carries no Upstash client.
 */
import { rateLimiterFactory } from './core/create';
import { bindDefaultRateLimiter } from './core/default-instance';
import { elastiCacheStore } from './redis/elasticache-store';
import { memoryStore } from './store/memory-store';

export * from './public-api';

export const createRateLimiter = rateLimiterFactory({ elasticache: elastiCacheStore, memory: memoryStore });

export const { checkCreatorRateLimit, getRateLimitStatus, settleCreatorUsage, resetCreatorRateLimit, getDefaultRateLimiter, setCreatorOverride, getCreatorOverride, removeCreatorOverride } =
  bindDefaultRateLimiter(createRateLimiter, 'elasticache');
