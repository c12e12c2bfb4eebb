/**
 * ElastiCache cluster mode with in-transit encryption: the client options ioredis documents for
 * ElastiCache TLS clusters, and a real TLS-only Redis Cluster (clients, cluster bus and replication
 * over TLS) that announces host names the way ElastiCache does, with certificate verification on.
 */
import { lookup } from 'node:dns';
import { Cluster } from 'ioredis';
import { RateLimitError, RateLimitUnavailableError } from '../../lambda/rate-limit';
import { createElastiCacheClient } from '../../lambda/rate-limit/redis/elasticache-client';
import { concurrently } from '../support/backends';
import { useTestCluster } from '../support/cluster';
import { SINGLE } from '../support/exactness-scenarios';
import { generateTestCertificates } from '../support/tls-certificates';

const certs = generateTestCertificates();
afterAll(() => certs.remove());

const testCluster = useTestCluster({
  replicasPerMaster: 0,
  tls: certs,
  // Like ElastiCache with in-transit encryption: CLUSTER SLOTS names nodes by host name, which is
  // what their certificates are issued for.
  extraArgs: ['--cluster-announce-hostname', 'localhost', '--cluster-preferred-endpoint-type', 'hostname'],
});

describe('cluster-mode client options', () => {
  it('TLS cluster: keeps host names (dnsLookup passes them through) and uses TLS on every node', async () => {
    const client = createElastiCacheClient({ host: 'clustercfg.example.cache.amazonaws.com', cluster: true, tls: true }, 300);
    try {
      expect(client).toBeInstanceOf(Cluster);
      const { options } = client as Cluster;
      const resolved = await new Promise((resolve) =>
        options.dnsLookup!('clustercfg.example.cache.amazonaws.com', (_err, address) => resolve(address)),
      );
      expect(resolved).toBe('clustercfg.example.cache.amazonaws.com');
      expect(options.redisOptions?.tls).toEqual({});
      // The same bounds as single-node mode.
      expect(options).toMatchObject({ enableOfflineQueue: false, lazyConnect: true, retryDelayOnFailover: 0 });
      expect(options.redisOptions).toMatchObject({ commandTimeout: 300, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
    } finally {
      client.disconnect();
    }
  });

  it('plain cluster: resolves host names as usual and sends no TLS', () => {
    const client = createElastiCacheClient({ host: 'clustercfg.example.cache.amazonaws.com', cluster: true }, 300) as Cluster;
    try {
      expect(client.options.redisOptions?.tls).toBeUndefined();
      expect(client.options.dnsLookup).toBe(lookup);
    } finally {
      client.disconnect();
    }
  });
});

describe('elasticache backend on a TLS Redis Cluster', () => {
  it('admits exactly the limit on every master, through a host-name configuration endpoint, with verified certificates', async () => {
    const byMaster = await testCluster.creatorsByMaster('tls', 1);
    const creators = [...byMaster.values()].flat();
    const limiter = testCluster.limiterWith({ host: 'localhost', tls: { ca: certs.ca } }, { tiers: SINGLE, timeoutMs: 60_000 });
    const results = await concurrently(creators.length * 300, (i) => limiter.check(creators[i % creators.length], 'hundred'));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(creators.length * 100);
    expect(results.flatMap((r) => (r.status === 'rejected' && !(r.reason instanceof RateLimitError) ? [r.reason] : []))).toEqual([]);
  });

  it('refuses a cluster whose certificates it cannot verify: fail mode, not a plain-text fallback', async () => {
    const limiter = testCluster.limiterWith({ host: 'localhost', tls: true }, { timeoutMs: 2000 });
    await expect(limiter.check('untrusted', 'pro')).rejects.toBeInstanceOf(RateLimitUnavailableError);
  });
});
