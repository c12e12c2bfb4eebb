/** createRateLimiter with every backend (the default entry and the Lambda handlers use it). */
import { rateLimiterFactory } from './core/create';
import { elastiCacheStore } from './redis/elasticache-store';
import { upstashStore } from './redis/upstash-store';
import { memoryStore } from './store/memory-store';

export const createRateLimiter = rateLimiterFactory({ elasticache: elastiCacheStore, upstash: upstashStore, memory: memoryStore });
