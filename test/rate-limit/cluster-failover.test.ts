/**
 * Topology changes on a real Redis Cluster while checks run: a manual failover, online resharding
 * of a creator's slot, a master killed (SIGKILL) and a master that hangs (SIGSTOP, as when it is cut
 * off). Throughout, every check is answered within its deadline (allowed, denied, or unavailable by
 * the fail mode), the same limiter recovers by itself, and no admission is counted twice; the only
 * admissions that may be lost are those a master acknowledged just before it died (asynchronous
 * replication, see docs/cluster-mode.md).
 */
import { RateLimitError, RateLimitUnavailableError, type RateLimiter, type TierTable } from '../../lambda/rate-limit';
import { creatorKeys } from '../../lambda/rate-limit/redis/keys';
import type { ClusterNode } from '../harness/redis-cluster';
import { concurrently, sleep } from '../support/backends';
import { commandCalls, errorCounts, resetStats, useTestCluster } from '../support/cluster';

const testCluster = useTestCluster({ nodeTimeoutMs: 2000 });

/** The deadline of one backend call in these tests, and what a loaded 2-core machine may add to it. */
const TIMEOUT_MS = 1000;
const SLACK_MS = 1000;
/**
 * Admissions acknowledged by a master this long before it died may not have reached its replica.
 * On loopback replication takes microseconds; this only covers the last moments before the kill.
 */
const LOSS_WINDOW_MS = 250;

/**
 * Room for every check these tests make. Not more: the state of a request policy holds `limit`
 * admission times and is replicated whole on each admission, and a replica that falls behind on a
 * loaded machine would widen the window of admissions a dying master can lose.
 */
const WIDE: TierTable = {
  wide: { policies: [{ name: 'requests-per-hour', unit: 'requests', limit: 1000, windowSeconds: 3600 }] },
};
const HUNDRED: TierTable = {
  hundred: { policies: [{ name: 'requests-per-hour', unit: 'requests', limit: 100, windowSeconds: 3600 }] },
};

interface Outcome {
  readonly creator: string;
  readonly start: number;
  readonly end: number;
  readonly result: 'allowed' | 'denied' | 'unavailable' | 'other';
  readonly error?: unknown;
}

/** Loads still running; stopped after each test, whatever happened. */
const running: Load[] = [];
afterEach(() => Promise.all(running.splice(0).map((load) => load.stop())));

/** A few workers checking the given creators in turn until stopped (or for at most 60 s). */
class Load {
  readonly outcomes: Outcome[] = [];
  private running = true;
  private readonly finished: Promise<unknown>;

  constructor(limiter: RateLimiter, creators: readonly string[], workers = 6) {
    running.push(this);
    const until = Date.now() + 60_000;
    this.finished = Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        for (let i = worker; this.running && Date.now() < until; i += workers) {
          const creator = creators[i % creators.length];
          const start = Date.now();
          const outcome = await limiter.check(creator, 'wide').then(
            (): Pick<Outcome, 'result' | 'error'> => ({ result: 'allowed' }),
            (error: unknown): Pick<Outcome, 'result' | 'error'> => ({
              result: error instanceof RateLimitError ? 'denied' : error instanceof RateLimitUnavailableError ? 'unavailable' : 'other',
              error,
            }),
          );
          this.outcomes.push({ creator, start, end: Date.now(), ...outcome });
          await sleep(5);
        }
      }),
    );
  }

  /** Resolves once some check for every one of `creators` started after `since` and was allowed. */
  async servedAgain(creators: readonly string[], since: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const served = (creator: string): boolean =>
      this.outcomes.some((o) => o.creator === creator && o.result === 'allowed' && o.start >= since);
    while (!creators.every(served)) {
      if (Date.now() > deadline)
        throw new Error(`not served again within ${timeoutMs} ms: ${creators.filter((c) => !served(c)).join(', ')}`);
      await sleep(50);
    }
  }

  async stop(): Promise<Outcome[]> {
    this.running = false;
    await this.finished;
    return this.outcomes;
  }
}

/** Every check came back in time, as an admission, a denial or the fail mode: never anything else. */
function expectAnsweredInTime(outcomes: readonly Outcome[]): void {
  expect(outcomes.filter((o) => o.result === 'other').map((o) => String(o.error))).toEqual([]);
  const slowest = Math.max(...outcomes.map((o) => o.end - o.start));
  expect(slowest).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
}

/** Used count as the cluster sees it now (status consumes nothing); retried while the cluster settles. */
async function usedNow(limiter: RateLimiter, creator: string): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return (await limiter.status(creator, 'wide')).policies[0].used;
    } catch (error) {
      if (!(error instanceof RateLimitUnavailableError) || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/**
 * The counts survived: at least every admission that was acknowledged (except, when `diedAt` is
 * given, those answered by the dying master in its last moments), at most those plus the checks
 * that failed without an answer (they may have run before their reply was lost). Never more.
 */
async function expectCountsIntact(
  limiter: RateLimiter,
  outcomes: readonly Outcome[],
  creators: readonly string[],
  diedAt?: number,
): Promise<void> {
  for (const creator of creators) {
    const mine = outcomes.filter((o) => o.creator === creator);
    const allowed = mine.filter((o) => o.result === 'allowed');
    const unavailable = mine.filter((o) => o.result === 'unavailable').length;
    const maybeLost = diedAt === undefined ? 0 : allowed.filter((o) => o.start < diedAt && o.end > diedAt - LOSS_WINDOW_MS).length;
    const used = await usedNow(limiter, creator);
    expect({ creator, used: Math.max(used, allowed.length - maybeLost) }).toEqual({ creator, used });
    expect({ creator, used: Math.min(used, allowed.length + unavailable) }).toEqual({ creator, used });
  }
}

/** A warmed-up limiter (script loaded on every master) and `perMaster` creators on each master. */
async function setUp(
  base: string,
  perMaster = 2,
): Promise<{ limiter: RateLimiter; byMaster: Map<ClusterNode, string[]>; creators: string[] }> {
  const byMaster = await testCluster.creatorsByMaster(base, perMaster);
  const creators = [...byMaster.values()].flat();
  const limiter = testCluster.limiter({ tiers: WIDE, timeoutMs: TIMEOUT_MS });
  // Status runs the script without consuming anything: the counts start at 0.
  for (const creator of creators) await limiter.status(creator, 'wide');
  return { limiter, byMaster, creators };
}

/** A master other than the seed node (the seed stands for the configuration endpoint). */
function victimOf(byMaster: Map<ClusterNode, string[]>): [ClusterNode, string[]] {
  return [...byMaster].find(([master]) => master.port !== testCluster.cluster.port)!;
}

/**
 * Checks on every master while `fail` takes one master down (not the seed), until its replica has
 * taken over and the creators it served are admitted again by the same limiter.
 */
async function failMasterUnderLoad(base: string, fail: (master: ClusterNode) => Promise<void> | void) {
  const { limiter, byMaster, creators } = await setUp(base);
  const [victim, orphaned] = victimOf(byMaster);
  const load = new Load(limiter, creators);
  await sleep(500);
  const failedAt = Date.now();
  await fail(victim);
  await testCluster.cluster.waitHealthy({ ignore: [victim], replicasPerMaster: 0 });
  const promotedAt = Date.now();
  await load.servedAgain(orphaned, promotedAt);
  const outcomes = await load.stop();
  return { limiter, creators, victim, orphaned, outcomes, failedAt, promotedAt };
}

describe('elasticache backend on a Redis Cluster: failover and resharding while checks run', () => {
  it('manual failover (CLUSTER FAILOVER): MOVED is followed, NOSCRIPT on the new master is handled, nothing is lost', async () => {
    const { cluster } = testCluster;
    const { limiter, byMaster, creators } = await setUp('manual');
    const [oldMaster, moved] = victimOf(byMaster);
    const replica = (await cluster.shards()).find((shard) => shard.master === oldMaster)!.replicas[0];
    await resetStats(cluster);

    const load = new Load(limiter, creators);
    await sleep(300);
    await cluster.failover(replica);
    const switchedAt = Date.now();
    await load.servedAgain(creators, switchedAt);
    const outcomes = await load.stop();

    expectAnsweredInTime(outcomes);
    // A coordinated failover waits for the replica to catch up: every acknowledged admission is there.
    await expectCountsIntact(limiter, outcomes, creators);
    expect((await cluster.masterOf(await cluster.slotOf(creatorKeys(moved[0]).state))).port).toBe(replica.port);
    // The client's slot map was stale: the old master answered MOVED and ioredis followed it, although
    // requests are never retried (maxRetriesPerRequest 0).
    expect((await errorCounts(cluster, oldMaster)).MOVED).toBeGreaterThan(0);
    // The new master had never run the script (scripts replicate as effects): EVALSHA met NOSCRIPT
    // and the store fell back to EVAL, which loaded it there.
    expect((await errorCounts(cluster, replica)).NOSCRIPT).toBeGreaterThanOrEqual(1);
    expect((await commandCalls(cluster, [replica])).eval).toBeGreaterThanOrEqual(1);
  });

  it('online resharding of a creator slot: ASK/TRYAGAIN/MOVED handled, counts move with the keys', async () => {
    const { cluster } = testCluster;
    const { limiter, byMaster } = await setUp('reshard');
    const [source, [creator]] = victimOf(byMaster);
    const target = [...byMaster.keys()].find((master) => master !== source)!;
    // No load on the target's own creators: whatever it runs after the move is the moved creator's.
    const creators = [...byMaster].flatMap(([master, ids]) => (master === target ? [] : ids));
    const slot = await cluster.slotOf(creatorKeys(creator).state);
    await cluster.client(target).script('FLUSH');
    await resetStats(cluster);

    const load = new Load(limiter, creators);
    await sleep(300);
    await cluster.migrateSlot(slot, target, 300);
    const movedAt = Date.now();
    await cluster.waitHealthy();
    await load.servedAgain([creator], movedAt);
    const outcomes = await load.stop();

    expectAnsweredInTime(outcomes);
    await expectCountsIntact(limiter, outcomes, creators);
    expect((await cluster.masterOf(slot)).port).toBe(target.port);
    // The source redirected the checks (TRYAGAIN while half-migrated, then ASK or MOVED) ...
    const redirects = await errorCounts(cluster, source);
    expect((redirects.TRYAGAIN ?? 0) + (redirects.ASK ?? 0) + (redirects.MOVED ?? 0)).toBeGreaterThan(0);
    // ... and the target, which had no script, loaded it on the moved creator's first check.
    expect((await errorCounts(cluster, target)).NOSCRIPT).toBeGreaterThanOrEqual(1);
    expect((await commandCalls(cluster, [target])).eval).toBeGreaterThanOrEqual(1);
  });

  it('a master killed (SIGKILL): prompt failures within the deadline, the promoted replica takes over with the counts', async () => {
    const { cluster } = testCluster;
    const { limiter, creators, victim, orphaned, outcomes, failedAt, promotedAt } = await failMasterUnderLoad('killed', (master) =>
      master.process.kill(),
    );

    expectAnsweredInTime(outcomes);
    // While no master served the slot, checks for those creators failed (fail mode), promptly ...
    const failed = outcomes.filter((o) => orphaned.includes(o.creator) && o.result === 'unavailable');
    expect(failed.length).toBeGreaterThan(0);
    // ... and creators on the other masters were still served (not all of their checks: the
    // limiter's circuit breaker is shared by all nodes, see docs/cluster-mode.md).
    const elsewhere = outcomes.filter((o) => !orphaned.includes(o.creator) && o.start > failedAt && o.end < promotedAt);
    expect(elsewhere.filter((o) => o.result === 'allowed').length).toBeGreaterThan(0);
    await expectCountsIntact(limiter, outcomes, creators, failedAt);

    // Exactness on the promoted master, before the old one is back (generous deadline: 2,000 checks
    // in flight on a loaded machine).
    const promoted = await testCluster.masterOfCreator(orphaned[0]);
    const fresh = (await testCluster.creatorsByMaster('after-kill', 1)).get(promoted)![0];
    const exact = testCluster.limiter({ tiers: HUNDRED, timeoutMs: 60_000 });
    const results = await concurrently(2000, () => exact.check(fresh, 'hundred'));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(100);

    // The old master comes back as a replica of the node that replaced it.
    await victim.process.restart();
    const shards = await cluster.waitHealthy();
    expect(shards.find((shard) => shard.master === promoted)!.replicas).toContain(victim);
  });

  it('a master that hangs (SIGSTOP, like a partition): checks time out within the deadline, then go to the promoted replica', async () => {
    let hung: ClusterNode | undefined;
    try {
      // No MOVED can come from a node that answers nothing: the transport refreshes the slot map
      // after the timeouts, and finds the new master while the old one is still hung.
      const { limiter, creators, outcomes, failedAt } = await failMasterUnderLoad('hung', (master) => {
        hung = master;
        master.process.pause();
      });
      expectAnsweredInTime(outcomes);
      await expectCountsIntact(limiter, outcomes, creators, failedAt);
    } finally {
      hung?.process.resume();
    }
    // The old master wakes up, learns it was replaced, and follows the new one.
    await testCluster.cluster.waitHealthy();
  });
});
