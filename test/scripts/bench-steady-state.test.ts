/**
 * The steady-state measurements of the bench (scripts/bench/steady-state.ts and its helpers)
 * against real redis-servers: the simulated traffic really sits at the tier's limits, a creator's
 * footprint holds its own keys and no one else's, and the replication figure is the stream's bytes.
 */
import { Redis } from 'ioredis';
import { tierPlanner } from '../../lambda/rate-limit/core/tier-plans';
import { DEFAULT_LEASE_SECONDS, DEFAULT_TIERS } from '../../lambda/rate-limit/core/tiers';
import type { TierDefinition } from '../../lambda/rate-limit/core/types';
import { IoredisTransport } from '../../lambda/rate-limit/redis/ioredis-transport';
import { creatorKeyBase } from '../../lambda/rate-limit/redis/keys';
import { RedisScriptStore } from '../../lambda/rate-limit/redis/script-store';
import { toPolicySpecs } from '../../lambda/rate-limit/core/policies';
import {
  bytesPerOperation,
  creatorFootprint,
  globLiteral,
  parseReplicationOffset,
  replicationOffset,
  startReplicatedRedis,
  type ReplicatedRedis,
} from '../../scripts/bench/redis-footprint';
import { measureSteadyState, SimulatedCreator } from '../../scripts/bench/steady-state';
import { reservationEvents, scheduleAtLimits, slotTime, slotsWithin } from '../../scripts/bench/traffic-schedule';
import { useRedisClient } from '../support/backends';

/** Small enough to simulate many windows in a second: 10 requests / min, 1,000 tokens / 10 min, 2 in flight. */
const SMALL_TIER: TierDefinition = {
  policies: [
    { name: 'requests-per-minute', unit: 'requests', limit: 10, windowSeconds: 60 },
    { name: 'tokens-per-10-minutes', unit: 'tokens', limit: 1000, windowSeconds: 600 },
    { name: 'in-flight', unit: 'concurrent', limit: 2, leaseSeconds: 20 },
  ],
};

describe('traffic at the limits of a tier', () => {
  test("the pace is the tightest request policy's, tokens use the budget up, calls fit the in-flight cap and the lease", () => {
    const pro = scheduleAtLimits(toPolicySpecs(DEFAULT_TIERS.pro));
    // 100 per hour: 36 s apart, plus 1 ms; 2,400 such admissions fit in a day: 1,000,000 / 2,400.
    expect(pro).toEqual({ intervalMs: 36_001, tokensPerReservation: 416, callMs: 60_000, inFlightAfterReservation: 2 });
    // A burst policy looser than the hourly one does not set the pace.
    const burst = scheduleAtLimits([
      { name: 'hour', kind: 'requests', limit: 100, windowMs: 3_600_000 },
      { name: 'minute', kind: 'requests', limit: 20, windowMs: 60_000 },
    ]);
    expect(burst.intervalMs).toBe(36_001);
    // 10 per minute: 6,001 ms apart; the lease (20 s) and the cap (2) both bound the call.
    const small = scheduleAtLimits(toPolicySpecs(SMALL_TIER));
    expect(small).toEqual({ intervalMs: 6001, tokensPerReservation: 10, callMs: 12_001, inFlightAfterReservation: 2 });
    expect(() => scheduleAtLimits([{ name: 'tokens', kind: 'tokens', limit: 5, windowMs: 1000 }])).toThrow(/request policy/);
  });

  test('a settle due at the moment of a reservation comes first', () => {
    const events = reservationEvents({ intervalMs: 100, tokensPerReservation: 1, callMs: 200, inFlightAfterReservation: 2 }, 0, 3);
    expect(events.map((event) => `${event.kind}${event.index}@${event.at}`)).toEqual([
      'reserve0@0',
      'reserve1@100',
      'settle0@200',
      'reserve2@200',
      'settle1@300',
      'settle2@400',
    ]);
  });
});

describe('on a real redis-server', () => {
  const server = useRedisClient();

  function clockedStore(keyPrefix: string, clock: { now: number }): RedisScriptStore {
    return new RedisScriptStore('elasticache', new IoredisTransport(server.client, 5000), { keyPrefix, testClock: () => clock.now });
  }

  test('the simulated traffic is admitted throughout, and one admission more at any moment would not be', async () => {
    const clock = { now: Date.now() };
    const store = clockedStore('sim', clock);
    const plan = tierPlanner(DEFAULT_LEASE_SECONDS, 2)(SMALL_TIER);
    const schedule = scheduleAtLimits(plan.policies);
    const creator = new SimulatedCreator(store, clock, 'busy', plan, 600_000, schedule, clock.now);
    // Three token windows (30 simulated minutes), stopped right after the last reservation.
    const slots = slotsWithin(schedule, 1_800_000);
    const last = slotTime(schedule, slots - 1);
    await creator.run(reservationEvents(schedule, 0, slots).filter((event) => event.at <= last));
    expect({ unexpected: creator.unexpected, first: creator.firstUnexpected }).toEqual({ unexpected: 0, first: undefined });

    const status = await store.status({ creatorId: 'busy', policies: plan.policies });
    expect(status.usage[0].used).toBe(10); // the request window is full
    expect(status.usage[2].used).toBe(schedule.inFlightAfterReservation);
    const tokens = status.usage[1].used + status.usage[1].reserved;
    expect(tokens).toBeLessThanOrEqual(1000);
    expect(tokens).toBeGreaterThan(1000 - schedule.tokensPerReservation);

    // Half an interval later, one more check is refused by the request window: the pace is the limit.
    clock.now += Math.floor(schedule.intervalMs / 2);
    const extra = await store.check({
      creatorId: 'busy',
      policies: plan.policies,
      anomaly: { threshold: 0, locallyDenied: 0 },
      record: undefined,
    });
    expect(extra.kind).toBe('denied');
    expect(extra.kind === 'denied' && plan.policies[extra.deniedIndex].name).toBe('requests-per-minute');
  });

  test("a creator's footprint holds its own keys, not those of creators whose ids extend it or match it as a pattern", async () => {
    const clock = { now: Date.now() };
    const store = clockedStore('fp', clock);
    const policies = toPolicySpecs(SMALL_TIER);
    const reserve = (creatorId: string) =>
      store.reserve({
        creatorId,
        policies,
        anomaly: { threshold: 0, locallyDenied: 0 },
        record: { requestId: 'r1', retentionMs: 600_000, leaseMs: 20_000 },
        tokens: 10,
        tokenHistoryMs: 600_000,
      });
    expect(await creatorFootprint(server.client, creatorKeyBase('a*', 'fp'))).toEqual({
      keys: 0,
      bytes: 0,
      largestKey: undefined,
      largestKeyBytes: 0,
    });
    await reserve('a*');
    const alone = await creatorFootprint(server.client, creatorKeyBase('a*', 'fp'));
    expect(alone.keys).toBeGreaterThan(0);
    expect(alone.bytes).toBeGreaterThan(0);
    expect(alone.largestKeyBytes).toBeGreaterThan(0);
    expect(alone.largestKeyBytes).toBeLessThanOrEqual(alone.bytes);
    // "a*" as a pattern would match "ab"; "a" is a prefix of "a*"; "a*b" extends it inside the hash tag.
    for (const other of ['ab', 'a', 'a*b', 'a**']) await reserve(other);
    expect(await creatorFootprint(server.client, creatorKeyBase('a*', 'fp'))).toEqual(alone);
    expect(globLiteral('x*?[a]\\')).toBe('x\\*\\?\\[a\\]\\\\');
  });
});

describe('replication traffic', () => {
  let servers: ReplicatedRedis;
  let master: Redis;
  let replica: Redis;

  beforeAll(async () => {
    servers = await startReplicatedRedis();
    master = new Redis({ host: servers.master.host, port: servers.master.port });
    replica = new Redis({ host: servers.replica.host, port: servers.replica.port });
  });

  afterAll(async () => {
    master.disconnect();
    replica.disconnect();
    await servers.stop();
  });

  test('bytes per operation are the RESP bytes of the writes streamed, and the replica receives them', async () => {
    await master.set('warm', 'up'); // the stream's first write also carries a SELECT
    const before = await replicationOffset(master);
    const operations = 50;
    for (let i = 0; i < operations; i++) await master.set(`key${i % 10}`, 'value-of-12'); // SET + 4-byte key + 11-byte value
    await master.get('key1'); // reads are not replicated
    const after = await replicationOffset(master);
    const resp = '*3\r\n$3\r\nSET\r\n$4\r\nkey0\r\n$11\r\nvalue-of-12\r\n';
    expect(bytesPerOperation(before, after, operations)).toBe(resp.length);

    const deadline = Date.now() + 10_000;
    while (/^slave_repl_offset:(\d+)/m.exec(await replica.info('replication'))?.[1] !== String(after)) {
      if (Date.now() > deadline) throw new Error('the replica did not catch up');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await replica.get('key9')).toBe('value-of-12');
  });

  test('the offset is read from INFO replication; a stream never shrinks', () => {
    expect(parseReplicationOffset('# Replication\r\nrole:master\r\nmaster_repl_offset:4242\r\nsecond_repl_offset:-1\r\n')).toBe(4242);
    expect(() => parseReplicationOffset('# Replication\r\nrole:master\r\n')).toThrow(/master_repl_offset/);
    expect(() => bytesPerOperation(10, 5, 1)).toThrow(/went back/);
    expect(bytesPerOperation(100, 100, 0)).toBeNaN();
  });
});

describe('measureSteadyState', () => {
  test('a small tier: on schedule, weighed with its leases in flight once its window filled, and every figure measured', async () => {
    const result = await measureSteadyState({ simulatedHours: 0.5, samples: 10, repetitions: 1 }, undefined, [
      { id: 'small', label: 'small', tier: SMALL_TIER, table: { small: SMALL_TIER } },
    ]);
    const [tier] = result.tiers;
    expect({ unexpected: tier.unexpected, first: tier.firstUnexpected }).toEqual({ unexpected: 0, first: undefined });
    // Weighed once the longest window (10 minutes of tokens) had filled: 100 reservations at one
    // every 6.001 s; read again after the whole half hour.
    expect(tier.baselineHours).toBeCloseTo(10 / 60, 10);
    expect(tier.reservations).toBe(100);
    expect(tier.historyHours).toBeGreaterThanOrEqual(0.5);
    expect(tier.inFlight).toBe(tier.schedule.inFlightAfterReservation);
    expect(tier.tokensCounted).toBeGreaterThan(1000 - tier.schedule.tokensPerReservation);
    expect(tier.footprint.keys).toBeGreaterThan(0);
    for (const cost of [tier.fresh.check, tier.fresh.pair, tier.early.check, tier.early.pair, tier.steady.check, tier.steady.pair]) {
      expect(cost.operations).toBe(10);
      expect(cost.scriptUsec).toBeGreaterThan(0);
      expect(cost.replicationBytes).toBeGreaterThan(0);
    }
    // A pair is two script calls, a check one: each is at least one command more than its EVALSHA.
    expect(tier.steady.pair.commands).toBeGreaterThan(tier.steady.check.commands);
    expect(tier.fresh.check.commands).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
