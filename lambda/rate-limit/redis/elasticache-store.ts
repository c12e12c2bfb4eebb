/** The ElastiCache backend: the scripts over ioredis (TCP, single node or cluster mode). */
import { DEFAULT_TIMEOUT_MS, type RateLimiterOptions } from '../core/options';
import type { RateLimitStore } from '../store/store';
import { createElastiCacheClient } from './elasticache-client';
import { IoredisTransport } from './ioredis-transport';
import { RedisScriptStore } from './script-store';

export function elastiCacheStore(options: Extract<RateLimiterOptions, { readonly backend: 'elasticache' }>): RateLimitStore {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS.elasticache;
  const client = createElastiCacheClient(options.elasticache, timeoutMs);
  return new RedisScriptStore('elasticache', new IoredisTransport(client, Math.max(timeoutMs, 1000)), { keyPrefix: options.keyPrefix });
}
