/**
 * A real Redis Cluster for library tests: started once per test file (3 masters with one replica
 * each by default), limiters on the `elasticache` backend in cluster mode against it, and helpers
 * to see where a creator's keys live and what each master executed.
 */
import { createRateLimiter, type RateLimiter } from '../../lambda/rate-limit';
import type { ElastiCacheConnectionOptions } from '../../lambda/rate-limit/redis/elasticache-client';
import { creatorKeys } from '../../lambda/rate-limit/redis/keys';
import {
  parseCommandStats,
  parseErrorStats,
  startRedisCluster,
  type ClusterNode,
  type RedisCluster,
  type StartRedisClusterOptions,
} from '../harness/redis-cluster';
import { uniqueKeyPrefix, type LimiterFactory, type LimiterOptions } from './backends';

export interface TestCluster {
  readonly cluster: RedisCluster;
  /** A cluster-mode limiter with a fresh key prefix and a 10 s deadline unless given; closed after the file. */
  readonly limiter: LimiterFactory;
  /** Same, with extra connection options (TLS CA, ...). */
  limiterWith(connection: Partial<ElastiCacheConnectionOptions>, options?: LimiterOptions): RateLimiter;
  /** The master that currently owns a creator's slot. */
  masterOfCreator(creatorId: string): Promise<ClusterNode>;
  /**
   * `count` creator ids per master, named `${base}-<n>`, chosen by where their hash tag lands, so a
   * test can put load on every master (or on one).
   */
  creatorsByMaster(base: string, count: number): Promise<Map<ClusterNode, string[]>>;
}

/** Registers beforeAll/afterAll hooks and returns a handle filled in once they ran. */
export function useTestCluster(options: StartRedisClusterOptions = {}): TestCluster {
  const limiters: RateLimiter[] = [];
  const handle = {} as { -readonly [K in keyof TestCluster]: TestCluster[K] };

  beforeAll(async () => {
    handle.cluster = await startRedisCluster(options);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(limiters.map((limiter) => limiter.close()));
    await handle.cluster?.stop();
  });

  handle.limiterWith = (connection, limiterOptions = {}) => {
    const limiter = createRateLimiter({
      timeoutMs: 10_000,
      ...limiterOptions,
      keyPrefix: limiterOptions.keyPrefix ?? uniqueKeyPrefix(),
      backend: 'elasticache',
      elasticache: { host: handle.cluster.host, port: handle.cluster.port, cluster: true, ...connection },
    });
    limiters.push(limiter);
    return limiter;
  };
  handle.limiter = (limiterOptions) => handle.limiterWith({}, limiterOptions);

  handle.masterOfCreator = async (creatorId) => handle.cluster.masterOf(await handle.cluster.slotOf(creatorKeys(creatorId).state));

  handle.creatorsByMaster = async (base, count) => {
    const byPort = new Map<number, string[]>();
    const masters = (await handle.cluster.shards()).map((shard) => shard.master);
    for (let n = 0; byPort.size < masters.length || [...byPort.values()].some((ids) => ids.length < count); n += 1) {
      if (n > 10_000) throw new Error('could not place creators on every master');
      const id = `${base}-${n}`;
      const { port } = await handle.masterOfCreator(id);
      const ids = byPort.get(port) ?? [];
      if (ids.length < count) byPort.set(port, [...ids, id]);
    }
    return new Map(masters.map((master) => [master, byPort.get(master.port)!]));
  };
  return handle;
}

/** Per-command call counts summed over `nodes` (cluster bookkeeping and our inspection left out). */
export async function commandCalls(cluster: RedisCluster, nodes: readonly ClusterNode[]): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const node of nodes) {
    const stats = parseCommandStats(await cluster.client(node).info('commandstats'));
    for (const [name, stat] of Object.entries(stats)) {
      // Cluster, replication and client housekeeping, not commands the limiter sent.
      if (/^(cluster|config|info|ping|readonly|command|client|hello|replconf|psync|sync)/.test(name)) continue;
      calls[name] = (calls[name] ?? 0) + stat.calls - stat.failedCalls - stat.rejectedCalls;
    }
  }
  return calls;
}

/** Error replies by prefix (MOVED, NOSCRIPT, ...) since the last CONFIG RESETSTAT, for one node. */
export async function errorCounts(cluster: RedisCluster, node: ClusterNode): Promise<Record<string, number>> {
  return parseErrorStats(await cluster.client(node).info('errorstats'));
}

/** CONFIG RESETSTAT on every node, so commandstats and errorstats count from now. */
export async function resetStats(cluster: RedisCluster): Promise<void> {
  await Promise.all(cluster.nodes.map((node) => cluster.client(node).config('RESETSTAT')));
}
