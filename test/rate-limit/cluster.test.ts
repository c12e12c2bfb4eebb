/**
 * ElastiCache cluster mode on a real Redis Cluster (3 masters, one replica each, on loopback): the
 * conformance and exactness suites unchanged, creators spread over every master, one EVALSHA per
 * check on the master that owns the creator's slot, and scripts loaded lazily per master.
 */
import { RateLimitError, type TierTable } from '../../lambda/rate-limit';
import { creatorKeys, recordKey, requestLogKey } from '../../lambda/rate-limit/redis/keys';
import { concurrently } from '../support/backends';
import { commandCalls, errorCounts, resetStats, useTestCluster } from '../support/cluster';
import { conformanceScenarios, reservationConformanceScenarios } from '../support/conformance-scenarios';
import { SINGLE, exactnessScenarios } from '../support/exactness-scenarios';

const testCluster = useTestCluster();

const TWENTY: TierTable = {
  twenty: { policies: [{ name: 'requests-per-hour', unit: 'requests', limit: 20, windowSeconds: 3600 }] },
};

describe('elasticache backend on a Redis Cluster: conformance', () => {
  conformanceScenarios(testCluster.limiter);
  reservationConformanceScenarios(testCluster.limiter);
});

describe('elasticache backend on a Redis Cluster: exactness', () => {
  exactnessScenarios(testCluster.limiter);

  it('spreads creators over every master and admits exactly the limit for each, all at once', async () => {
    const { cluster } = testCluster;
    const byMaster = await testCluster.creatorsByMaster('spread', 4);
    const creators = [...byMaster.values()].flat();
    const limiter = testCluster.limiter({ tiers: TWENTY, timeoutMs: 60_000 });
    await resetStats(cluster);

    const results = await concurrently(creators.length * 100, (i) => limiter.check(creators[i % creators.length], 'twenty'));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(creators.length * 20);
    expect(results.flatMap((r) => (r.status === 'rejected' && !(r.reason instanceof RateLimitError) ? [r.reason] : []))).toEqual([]);
    for (const creator of creators) expect((await limiter.status(creator, 'twenty')).remaining).toBe(0);

    // Every master did its share: 4 creators x 20 admissions, plus the denials.
    for (const master of byMaster.keys()) {
      const calls = await commandCalls(cluster, [master]);
      expect((calls.evalsha ?? 0) + (calls.eval ?? 0)).toBeGreaterThanOrEqual(4 * 20);
    }
  });

  it('keeps every key of a creator in one slot on the master that owns it', async () => {
    const { cluster } = testCluster;
    const prefix = 'layout';
    const limiter = testCluster.limiter({ keyPrefix: prefix }); // default tiers: requests, tokens, in-flight
    const byMaster = await testCluster.creatorsByMaster('layout', 1);
    for (const [master, [creator]] of byMaster) {
      await limiter.check(creator, 'pro', { tokens: 100, requestId: 'held' });
      const creatorKeySet = creatorKeys(creator, prefix);
      // State (sums and the lease), ledger, the request log, the record (no reset: no generation key).
      const keys = [
        creatorKeySet.state,
        creatorKeySet.ledger,
        requestLogKey(creatorKeySet.base, 'requests-per-hour'),
        recordKey(creatorKeySet.base, 'held'),
      ];
      const slots = await Promise.all([...keys, creatorKeySet.generation, creatorKeySet.override].map((key) => cluster.slotOf(key)));
      expect(new Set(slots).size).toBe(1);
      const stored = await cluster.client(master).exists(...keys);
      expect(stored).toBe(keys.length);
    }
  });
});

describe('elasticache backend on a Redis Cluster: commands per check', () => {
  it('after warm-up each check is one EVALSHA on the owning master and 4 Redis commands in all', async () => {
    const { cluster } = testCluster;
    const byMaster = await testCluster.creatorsByMaster('cost', 2);
    const masters = [...byMaster.keys()];
    const creators = [...byMaster.values()].flat();
    const limiter = testCluster.limiter({ tiers: SINGLE });
    for (const creator of creators) await limiter.check(creator, 'hundred');
    await resetStats(cluster);

    for (let i = 0; i < 60; i += 1) await limiter.check(creators[i % creators.length], 'hundred');
    expect(await commandCalls(cluster, masters)).toEqual({ evalsha: 60, time: 60, mget: 60, append: 60 });
    for (const master of masters) expect((await commandCalls(cluster, [master])).evalsha).toBe(20);
    // The keys are replicated as effects, not as script calls.
    const replicas = cluster.nodes.filter((node) => !masters.includes(node));
    expect((await commandCalls(cluster, replicas)).evalsha).toBeUndefined();
  });

  it('loads the script lazily on each master: one NOSCRIPT and one EVAL per master, then EVALSHA', async () => {
    const { cluster } = testCluster;
    const byMaster = await testCluster.creatorsByMaster('lazy', 1);
    const limiter = testCluster.limiter({ tiers: SINGLE });
    await Promise.all([...byMaster.keys()].map((master) => cluster.client(master).script('FLUSH')));
    await resetStats(cluster);

    for (const [master, [creator]] of byMaster) {
      for (let i = 0; i < 3; i += 1) await limiter.check(creator, 'hundred');
      const calls = await commandCalls(cluster, [master]);
      expect({ eval: calls.eval, evalsha: calls.evalsha }).toEqual({ eval: 1, evalsha: 2 });
      expect((await errorCounts(cluster, master)).NOSCRIPT).toBe(1);
    }
  });
});
