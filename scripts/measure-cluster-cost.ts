/**
 * Redis cost per check on a real Redis Cluster (3 masters, one replica each, on loopback), read from
 * the masters themselves: `CONFIG RESETSTAT`, a batch of checks through the library in cluster mode,
 * then `INFO commandstats`, `INFO cpu` and `INFO replication` on every master.
 *
 *   npx tsx scripts/measure-cluster-cost.ts [checks per scenario, default 20000] [concurrency, default 64]
 *
 * Per check it reports:
 *  - commands: every command the masters ran, those inside the script included (EVALSHA counts as one);
 *  - script µs: the time of EVALSHA/EVAL as Redis records it (includes the commands the script called);
 *  - CPU µs: used_cpu_user + used_cpu_sys of the master processes: everything they spent, reading
 *    requests, writing replies and feeding replicas included, less what they spend idle (cluster
 *    bus, cron; measured first). This is the figure capacity follows;
 *  - replication bytes: growth of master_repl_offset, what each master streams to each replica.
 * Client throughput is printed too, but here the client shares the machine with the servers and is
 * the bottleneck; it is not the cluster's capacity.
 */
import { performance } from 'node:perf_hooks';
import type { Cluster } from 'ioredis';
import { createRateLimiter, RateLimitError, type RateLimiter, type TierTable } from '../lambda/rate-limit';
import { createElastiCacheClient } from '../lambda/rate-limit/redis/elasticache-client';
import { creatorKeys } from '../lambda/rate-limit/redis/keys';
import { parseCommandStats, parseInfo, startRedisCluster, type ClusterNode, type RedisCluster } from '../test/harness/redis-cluster';

interface Scenario {
  readonly name: string;
  readonly tiers: TierTable;
  readonly tier: string;
  /** Checks per creator: below the limit for admissions, above it for denials. */
  readonly perCreator: number;
  /** Prime each creator with this many admissions first (not measured). */
  readonly prime?: number;
  readonly denyCache?: false;
  /** One request of the workload, given a creator and a sequence number. */
  readonly request: (target: Target, creator: string, n: number) => Promise<unknown>;
}

/** What a request runs against: the library, or (for the floor) a bare cluster client. */
interface Target {
  readonly limiter: RateLimiter;
  readonly floor: (key: string) => Promise<unknown>;
}

const requests = (limit: number): TierTable => ({
  t: { policies: [{ name: 'requests-per-hour', unit: 'requests', limit, windowSeconds: 3600 }] },
});
const PRO: TierTable = {
  t: {
    policies: [
      { name: 'requests-per-hour', unit: 'requests', limit: 100, windowSeconds: 3600 },
      { name: 'tokens-per-day', unit: 'tokens', limit: 1_000_000, windowSeconds: 86_400 },
      { name: 'in-flight', unit: 'concurrent', limit: 5, leaseSeconds: 90 },
    ],
  },
};
const check = ({ limiter }: Target, creator: string): Promise<unknown> =>
  limiter.check(creator, 't').catch((error: unknown) => {
    if (!(error instanceof RateLimitError)) throw error;
  });

const SCENARIOS: readonly Scenario[] = [
  // The floor: one EVALSHA of `return 1` on the creator's slot, through the same client options.
  { name: 'floor: EVALSHA of return 1', tiers: requests(100), tier: 't', perCreator: 50, request: ({ floor }, creator) => floor(creator) },
  { name: 'admission, 1 policy (100/h)', tiers: requests(100), tier: 't', perCreator: 50, request: check },
  { name: 'admission, pro-like tier (3 policies), no reservation', tiers: PRO, tier: 't', perCreator: 50, request: check },
  {
    name: 'reserve + settle, pro-like tier (2 script calls)',
    tiers: PRO,
    tier: 't',
    perCreator: 50,
    request: async ({ limiter }, creator, n) => {
      const decision = await limiter.check(creator, 't', { tokens: 800, requestId: `m-${n}` });
      await limiter.settle(creator, 't', decision.requestId, 500);
    },
  },
  {
    name: 'denial reaching Redis (deny cache off), 100/h',
    tiers: requests(100),
    tier: 't',
    perCreator: 50,
    prime: 100,
    denyCache: false,
    request: check,
  },
  { name: 'admission, 1 policy (500/h)', tiers: requests(500), tier: 't', perCreator: 50, request: check },
  { name: 'admission, 1 policy (10,000/h)', tiers: requests(10_000), tier: 't', perCreator: 50, request: check },
];

interface MasterSample {
  readonly cpuSeconds: number;
  readonly replOffset: number;
}

async function sample(cluster: RedisCluster, master: ClusterNode): Promise<MasterSample> {
  const cpu = parseInfo(await cluster.client(master).info('cpu'));
  const replication = parseInfo(await cluster.client(master).info('replication'));
  return {
    cpuSeconds: Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys),
    replOffset: Number(replication.master_repl_offset),
  };
}

/** CPU the masters spend with no traffic (cluster bus, cron), in µs per ms of wall time, all masters together. */
async function idleCpuRate(cluster: RedisCluster, masters: readonly ClusterNode[], ms = 3000): Promise<number> {
  const before = await Promise.all(masters.map((master) => sample(cluster, master)));
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await Promise.all(masters.map((master) => sample(cluster, master)));
  const cpuUs = after.reduce((sum, s, i) => sum + (s.cpuSeconds - before[i].cpuSeconds), 0) * 1e6;
  return cpuUs / (performance.now() - started);
}

async function measure(
  cluster: RedisCluster,
  masters: readonly ClusterNode[],
  scenario: Scenario,
  total: number,
  concurrency: number,
  idleUsPerMs: number,
) {
  const keyPrefix = `m${Date.now().toString(36)}`;
  const limiter = createRateLimiter({
    backend: 'elasticache',
    elasticache: { host: cluster.host, port: cluster.port, cluster: true },
    tiers: scenario.tiers,
    timeoutMs: 30_000,
    keyPrefix,
    denyCache: scenario.denyCache,
  });
  const client = createElastiCacheClient({ host: cluster.host, port: cluster.port, cluster: true }, 30_000) as Cluster;
  client.defineCommand('floor', { numberOfKeys: 1, lua: 'return 1' });
  const floorCommand = (client as unknown as { floor(key: string): Promise<unknown> }).floor.bind(client);
  const target: Target = { limiter, floor: (creator) => floorCommand(creatorKeys(creator, keyPrefix).state) };
  const creatorCount = Math.ceil(total / scenario.perCreator);
  const creators = Array.from({ length: creatorCount }, (_, i) => `c${i}`);
  try {
    // Warm up: connections, the script on every master, and any priming admissions.
    await client.connect();
    for (const creator of creators) {
      await limiter.status(creator, scenario.tier);
      await target.floor(creator);
      for (let i = 0; i < (scenario.prime ?? 0); i += 1) await check(target, creator);
    }
    await Promise.all(masters.map((master) => cluster.client(master).config('RESETSTAT')));
    const before = await Promise.all(masters.map((master) => sample(cluster, master)));

    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let n = next++; n < total; n = next++) await scenario.request(target, creators[n % creatorCount], n);
      }),
    );
    const elapsedMs = performance.now() - started;

    const after = await Promise.all(masters.map((master) => sample(cluster, master)));
    let commands = 0;
    let scriptCalls = 0;
    let scriptUsec = 0;
    const perMasterScripts: number[] = [];
    for (const master of masters) {
      const stats = parseCommandStats(await cluster.client(master).info('commandstats'));
      let mine = 0;
      for (const [name, stat] of Object.entries(stats)) {
        if (/^(config|info|cluster|ping|readonly|command|client|hello|replconf|psync|sync)/.test(name)) continue;
        commands += stat.calls;
        if (name === 'evalsha' || name === 'eval') {
          scriptCalls += stat.calls;
          scriptUsec += stat.usec;
          mine += stat.calls;
        }
      }
      perMasterScripts.push(mine);
    }
    const rawCpuUs = after.reduce((sum, s, i) => sum + (s.cpuSeconds - before[i].cpuSeconds), 0) * 1e6;
    const cpuUs = Math.max(0, rawCpuUs - idleUsPerMs * elapsedMs);
    const replBytes = after.reduce((sum, s, i) => sum + (s.replOffset - before[i].replOffset), 0);
    return {
      scenario: scenario.name,
      requests: total,
      scriptCallsPerRequest: round(scriptCalls / total, 2),
      commandsPerRequest: round(commands / total, 2),
      scriptUsPerRequest: round(scriptUsec / total, 1),
      cpuUsPerRequest: round(cpuUs / total, 1),
      replicationBytesPerRequest: Math.round(replBytes / total),
      scriptCallsPerMaster: perMasterScripts.join('/'),
      clientRequestsPerSecond: Math.round((total / elapsedMs) * 1000),
      stateBytes: await stateSize(cluster, creatorKeys(creators[0], keyPrefix).state),
    };
  } finally {
    await limiter.close();
    client.disconnect();
  }
}

/** Size of one creator's packed state string (what each admission rewrites and replicates). */
async function stateSize(cluster: RedisCluster, key: string): Promise<number> {
  const owner = await cluster.masterOf(await cluster.slotOf(key));
  return cluster.client(owner).strlen(key);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20_000);
  const concurrency = Number(process.argv[3] ?? 64);
  const cluster = await startRedisCluster();
  try {
    const masters = (await cluster.shards()).map((shard) => shard.master);
    const idleUsPerMs = await idleCpuRate(cluster, masters);
    console.error(`idle CPU of the 3 masters: ${round(idleUsPerMs, 1)} µs per ms (subtracted below)`);
    const results = [];
    for (const scenario of SCENARIOS) {
      const result = await measure(cluster, masters, scenario, total, concurrency, idleUsPerMs);
      console.error(JSON.stringify(result));
      results.push(result);
    }
    console.table(results);
  } finally {
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
