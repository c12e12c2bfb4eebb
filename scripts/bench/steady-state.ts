/**
 * A creator after a long history, against a fresh one: the state it keeps in Redis, the script
 * time of its admissions and the replication stream they cause.
 *
 * For each default tier (and the bench's 4-policy tier) one creator is driven through a simulated
 * day (by default) of traffic at the tier's limits (traffic-schedule.ts): reservations at the
 * pace of the tightest request policy, each settled after its call, tokens sized to use the daily
 * budget, leases in flight. The store runs on a controlled clock (the test clock of the script
 * store, as the differential test uses it), so a day takes seconds. Then:
 * - state: the creator's keys and their MEMORY USAGE, with its leases still in flight;
 * - cost: EVALSHA time (INFO commandstats) per check and per reserve + settle pair, the creator
 *   continuing at its limits, against the first admission of fresh creators;
 * - replication: growth of the master's replication offset per operation, with one replica attached.
 *
 * Everything goes through the RateLimitStore interface (check, reserve, settle, status) and the
 * servers' own accounting: nothing here knows the keys, the scripts or the encoding, so the
 * figures stay comparable when the data layout changes. A master and a replica of their own are
 * started (and stopped by their PIDs) so that the replica costs the other figures nothing.
 */
import { Redis } from 'ioredis';
import { tokenHistorySecondsOf } from '../../lambda/rate-limit/core/policies';
import { tierPlanner, type TierPlan } from '../../lambda/rate-limit/core/tier-plans';
import { DEFAULT_LEASE_SECONDS, DEFAULT_TIERS } from '../../lambda/rate-limit/core/tiers';
import type { TierDefinition, TierTable } from '../../lambda/rate-limit/core/types';
import { IoredisTransport } from '../../lambda/rate-limit/redis/ioredis-transport';
import { creatorKeyBase } from '../../lambda/rate-limit/redis/keys';
import { RedisScriptStore } from '../../lambda/rate-limit/redis/script-store';
import { STORE_CONSTANTS } from '../../lambda/rate-limit/store/constants';
import type { PolicySpec, RateLimitStore } from '../../lambda/rate-limit/store/store';
import { BENCH_TIERS } from './limiters';
import { RedisMeter } from './redis-stats';
import {
  bytesPerOperation,
  creatorFootprint,
  creatorKeysFound,
  replicationOffset,
  startReplicatedRedis,
  type CreatorFootprint,
} from './redis-footprint';
import { median } from './stats';
import {
  checkEvents,
  firstSlotAfter,
  reservationEvents,
  scheduleAtLimits,
  slotTime,
  slotsWithin,
  type TrafficEvent,
  type TrafficSchedule,
} from './traffic-schedule';

/** The limiter's default: an anomaly is reported above twice the headline limit per window. */
const ANOMALY_FACTOR = 2;

export interface SteadyStateTier {
  readonly id: string;
  readonly label: string;
  readonly tier: TierDefinition;
  /** The table the tier belongs to: the token history a limiter keeps is that table's longest token window. */
  readonly table: TierTable;
}

export const STEADY_STATE_TIERS: readonly SteadyStateTier[] = [
  { id: 'starter', label: 'starter (default)', tier: DEFAULT_TIERS.starter, table: DEFAULT_TIERS },
  { id: 'pro', label: 'pro (default)', tier: DEFAULT_TIERS.pro, table: DEFAULT_TIERS },
  { id: 'business', label: 'business (default)', tier: DEFAULT_TIERS.business, table: DEFAULT_TIERS },
  { id: 'bench-multi', label: "the bench's 4-policy tier", tier: BENCH_TIERS.multi, table: BENCH_TIERS },
];

export interface SteadyStateOptions {
  /** Simulated history before the steady-state figures. */
  readonly simulatedHours: number;
  /** Operations (checks, or reserve + settle pairs) per measured phase. */
  readonly samples: number;
  /** Fresh and steady phases alternate this many times; medians are reported. */
  readonly repetitions: number;
}

/** One kind of operation in one state, per operation (medians over the repetitions). */
export interface OperationCost {
  readonly operations: number;
  /** EVALSHA/EVAL usec (commandstats) per operation. */
  readonly scriptUsec: number;
  /** CPU time of the Redis process (user + system, INFO cpu) per operation, socket work included. */
  readonly cpuUs: number;
  /** Redis commands per operation, those the scripts run included. */
  readonly commands: number;
  /** Bytes of replication stream per operation. */
  readonly replicationBytes: number;
}

export interface SteadyStateTierResult {
  readonly id: string;
  readonly label: string;
  /** e.g. "100 requests / 1 h, 1,000,000 tokens / 24 h, 4 concurrent". */
  readonly policies: string;
  readonly schedule: TrafficSchedule;
  /** Reservations (each settled, but for the last ones in flight) when the state was weighed (after `baselineHours`). */
  readonly reservations: number;
  /** Leases in flight and tokens counted in the token window when the state was weighed (status). */
  readonly inFlight: number | undefined;
  readonly tokensCounted: number | undefined;
  readonly tokenBudget: number | undefined;
  readonly footprint: CreatorFootprint;
  readonly fresh: { readonly check: OperationCost; readonly pair: OperationCost };
  /** A creator read once its longest window had filled (after `baselineHours`): the baseline of growth with history. */
  readonly early: { readonly check: OperationCost; readonly pair: OperationCost };
  readonly baselineHours: number;
  /** Simulated history of the creator of the steady reading. */
  readonly historyHours: number;
  readonly steady: { readonly check: OperationCost; readonly pair: OperationCost };
  /** Admissions denied and settles not "settled": a schedule off its limits (should be none). */
  readonly unexpected: number;
  readonly firstUnexpected: string | undefined;
}

export interface SteadyStateResult extends SteadyStateOptions {
  readonly tiers: readonly SteadyStateTierResult[];
}

/** The time the store reads on every call (its test clock); the traffic moves it. */
export interface SimulatedClock {
  now: number;
}

/** Replays traffic events of one creator through a store, on the simulated clock. */
export class SimulatedCreator {
  unexpected = 0;
  /** Reservations applied so far. */
  reservations = 0;
  firstUnexpected: string | undefined;

  constructor(
    private readonly store: RateLimitStore,
    private readonly clock: SimulatedClock,
    readonly creatorId: string,
    private readonly plan: TierPlan,
    private readonly tokenHistoryMs: number,
    readonly schedule: TrafficSchedule,
    /** Clock time of slot 0. */
    readonly startMs: number,
  ) {}

  async run(events: readonly TrafficEvent[]): Promise<void> {
    for (const event of events) {
      const at = this.startMs + event.at;
      if (at < this.clock.now) throw new Error(`simulated clock would go back from ${this.clock.now} to ${at}`);
      this.clock.now = at;
      const outcome = await this.apply(event);
      if (outcome !== 'admitted' && outcome !== 'settled') {
        this.unexpected += 1;
        this.firstUnexpected ??= `${this.creatorId}: ${event.kind} of slot ${event.index} at +${event.at} ms answered ${outcome}`;
      }
    }
  }

  private async apply(event: TrafficEvent): Promise<string> {
    const { creatorId, plan, tokenHistoryMs } = this;
    const anomaly = { threshold: plan.anomalyThreshold, locallyDenied: 0 };
    const requestId = `slot-${event.index}`;
    const tokens = this.schedule.tokensPerReservation;
    switch (event.kind) {
      case 'check': {
        const outcome = await this.store.check({ creatorId, policies: plan.policies, anomaly, record: undefined });
        return outcome.kind === 'denied' ? `denied (${outcome.cause}, policy ${plan.policies[outcome.deniedIndex]?.name})` : outcome.kind;
      }
      case 'reserve': {
        this.reservations += 1;
        const record = { requestId, retentionMs: plan.retentionMs, leaseMs: plan.leaseMs };
        const outcome = await this.store.reserve({ creatorId, policies: plan.policies, anomaly, record, tokens, tokenHistoryMs });
        return outcome.kind === 'denied' ? `denied (${outcome.cause}, policy ${plan.policies[outcome.deniedIndex]?.name})` : outcome.kind;
      }
      case 'settle':
        return (await this.store.settle({ creatorId, requestId, actualTokens: tokens, tokenHistoryMs, statusOf: undefined })).result;
    }
  }
}

/** How long a record key outlives its retention (the scripts' TTL margin). */
const RECORD_KEY_MARGIN_MS = STORE_CONSTANTS.TTL_MARGIN_MS;

/** The longest window of a tier's request and token policies, in hours: when its first entries start to leave. */
export function longestWindowHours(policies: readonly PolicySpec[]): number {
  return Math.max(...policies.filter((policy) => policy.kind !== 'concurrent').map((policy) => policy.windowMs)) / 3_600_000;
}

export function describePolicies(tier: TierDefinition): string {
  const duration = (seconds: number): string =>
    seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
  return tier.policies
    .map((policy) =>
      policy.unit === 'concurrent'
        ? `${policy.limit} in flight`
        : `${policy.limit.toLocaleString('en-US')} ${policy.unit} / ${duration(policy.windowSeconds)}`,
    )
    .join(', ');
}

interface Phase {
  readonly operations: number;
  run(): Promise<void>;
}

/** Runs a phase between readings of the master's commandstats and replication offset. */
async function measure(admin: Redis, meter: RedisMeter, phase: Phase): Promise<OperationCost> {
  const offsetBefore = await replicationOffset(admin);
  await meter.start();
  await phase.run();
  const cost = await meter.stop();
  const offsetAfter = await replicationOffset(admin);
  const per = (value: number): number => value / phase.operations;
  return {
    operations: phase.operations,
    scriptUsec: per(cost.scriptUsec),
    cpuUs: per(cost.cpuUs),
    commands: per(cost.commands),
    replicationBytes: bytesPerOperation(offsetBefore, offsetAfter, phase.operations),
  };
}

function medianCost(costs: readonly OperationCost[]): OperationCost {
  const of = (pick: (cost: OperationCost) => number): number => median(costs.map(pick));
  return {
    operations: costs.reduce((sum, cost) => sum + cost.operations, 0),
    scriptUsec: of((cost) => cost.scriptUsec),
    cpuUs: of((cost) => cost.cpuUs),
    commands: of((cost) => cost.commands),
    replicationBytes: of((cost) => cost.replicationBytes),
  };
}

/** A creator of the simulated traffic on a clock of its own, going on at its tier's pace. */
interface PacedCreator {
  readonly creator: SimulatedCreator;
  readonly store: RateLimitStore;
  /** Reservations (each settled) up to `hours` from the creator's start; the last calls stay in flight. */
  simulateUntil(hours: number): Promise<TrafficEvent[]>;
  /** Settles the calls left in flight by simulateUntil. */
  settle(pending: readonly TrafficEvent[]): Promise<void>;
  /** A measured phase of `samples` slots (checks, or reservations with their settles) from the first slot ahead. */
  phase(events: (first: number) => TrafficEvent[]): Phase;
  /**
   * Redis expires keys on its own clock, which the simulation outruns by far, so records (the one
   * kind of key only a TTL removes) would pile up for the whole simulated history. The keys naming
   * a slot's request id whose retention (plus the one-minute key margin) has passed on this
   * creator's clock are deleted, as Redis would have expired them by then.
   */
  expireRecords(): Promise<void>;
  /** Simulated time since the creator's start. */
  elapsedHours(): number;
}

async function measureTier(
  entry: SteadyStateTier,
  options: SteadyStateOptions,
  master: { host: string; port: number },
  admin: Redis,
  progress: (message: string) => void,
): Promise<SteadyStateTierResult> {
  const client = new Redis({ host: master.host, port: master.port, enableAutoPipelining: false });
  const transport = new IoredisTransport(client, 10_000);
  const keyPrefix = `steady-${entry.id}`;
  // Every creator runs on a simulated clock of its own, starting now (so that every time the store
  // writes is a plausible one): the store as the differential test builds it, the scripts through
  // the ioredis transport with the test clock in place of the server's TIME.
  const storeOnClock = (clock: SimulatedClock): RateLimitStore =>
    new RedisScriptStore('elasticache', transport, { keyPrefix, testClock: () => clock.now });
  try {
    const plan = tierPlanner(DEFAULT_LEASE_SECONDS, ANOMALY_FACTOR)(entry.tier);
    const tokenHistoryMs = tokenHistorySecondsOf(entry.table) * 1000;
    const schedule = scheduleAtLimits(plan.policies);
    const samples = options.samples;

    const pacedCreator = (creatorId: string): PacedCreator => {
      const clock: SimulatedClock = { now: Date.now() };
      const store = storeOnClock(clock);
      const creator = new SimulatedCreator(store, clock, creatorId, plan, tokenHistoryMs, schedule, clock.now);
      let next = 0;
      return {
        creator,
        store,
        async simulateUntil(hours) {
          const end = slotsWithin(schedule, hours * 3_600_000);
          const events = reservationEvents(schedule, next, Math.max(0, end - next));
          const last = slotTime(schedule, end - 1);
          await creator.run(events.filter((event) => event.at <= last));
          next = end;
          return events.filter((event) => event.at > last);
        },
        async settle(pending) {
          await creator.run(pending);
          next = Math.max(next, firstSlotAfter(schedule, clock.now - creator.startMs));
        },
        phase: (events) => ({
          operations: samples,
          run: async () => {
            const phase = events(Math.max(next, firstSlotAfter(schedule, clock.now - creator.startMs)));
            await creator.run(phase);
            next = firstSlotAfter(schedule, phase.at(-1)!.at);
          },
        }),
        async expireRecords() {
          const elapsed = clock.now - creator.startMs;
          for (const key of await creatorKeysFound(admin, creatorKeyBase(creatorId, keyPrefix))) {
            const slot = /slot-(\d+)$/.exec(key);
            if (slot && slotTime(schedule, Number(slot[1])) + plan.retentionMs + RECORD_KEY_MARGIN_MS < elapsed) await admin.del(key);
          }
        },
        elapsedHours: () => (clock.now - creator.startMs) / 3_600_000,
      };
    };
    await storeOnClock({ now: Date.now() }).warmUp(plan.policies);

    // Two creators at the tier's limits, each on its own clock: one read once its longest window
    // has filled (entries leave it from then on, one per admission), one after the whole simulated
    // history. Both windows are full, so their ratio is what a long history adds; their phases take
    // turns, so the machine's drift touches both alike. (In a --quick run the first comes at half
    // the history.)
    const baselineHours = Math.min(longestWindowHours(plan.policies), options.simulatedHours / 2);
    const windowFull = pacedCreator('window-full');
    const windowFullPending = await windowFull.simulateUntil(baselineHours);
    await windowFull.expireRecords();
    // Weighed once the longest window is full (its size no longer grows), with the leases of the
    // last calls still in flight, as a busy creator's state is.
    const footprint = await creatorFootprint(admin, creatorKeyBase('window-full', keyPrefix));
    const status = await windowFull.store.status({ creatorId: 'window-full', policies: plan.policies });
    const indexOf = (kind: string): number => plan.policies.findIndex((policy) => policy.kind === kind && !policy.shadow);
    const [concurrent, tokens] = [indexOf('concurrent'), indexOf('tokens')];
    const reservations = windowFull.creator.reservations;
    await windowFull.settle(windowFullPending);

    const longHistory = pacedCreator('long-history');
    await longHistory.settle(await longHistory.simulateUntil(options.simulatedHours));
    await longHistory.expireRecords();
    const historyHours = longHistory.elapsedHours();
    progress(`steady state, ${entry.id}: ${longHistory.creator.reservations} reservations over ${historyHours.toFixed(1)} simulated hours`);

    const costs = {
      freshCheck: [] as OperationCost[],
      earlyCheck: [] as OperationCost[],
      steadyCheck: [] as OperationCost[],
      freshPair: [] as OperationCost[],
      earlyPair: [] as OperationCost[],
      steadyPair: [] as OperationCost[],
    };
    const meter = (phase: Phase): Promise<OperationCost> => measure(admin, new RedisMeter(admin), phase);
    const freshClock: SimulatedClock = { now: Date.now() };
    const freshStore = storeOnClock(freshClock);
    const freshCreators: SimulatedCreator[] = [];
    // A fresh creator's reservation is settled 1 ms later: its cost does not depend on the call's
    // length, and the clock then moves on by no more than a millisecond per fresh creator.
    const freshSchedule: TrafficSchedule = { ...schedule, callMs: 1 };
    const fresh = (label: string, events: () => TrafficEvent[]): Phase => ({
      operations: samples,
      run: async () => {
        // Each fresh creator's first admission (and its settle), from where the clock stands.
        for (let k = 0; k < samples; k++) {
          const creator = new SimulatedCreator(
            freshStore,
            freshClock,
            `fresh-${label}-${k}`,
            plan,
            tokenHistoryMs,
            freshSchedule,
            freshClock.now,
          );
          freshCreators.push(creator);
          await creator.run(events());
        }
      },
    });
    for (let rep = 0; rep < options.repetitions; rep++) {
      costs.freshCheck.push(await meter(fresh(`c${rep}`, () => checkEvents(freshSchedule, 0, 1))));
      costs.earlyCheck.push(await meter(windowFull.phase((first) => checkEvents(schedule, first, samples))));
      costs.steadyCheck.push(await meter(longHistory.phase((first) => checkEvents(schedule, first, samples))));
      costs.freshPair.push(await meter(fresh(`r${rep}`, () => reservationEvents(freshSchedule, 0, 1))));
      // Exactly `samples` reservations and their own settles: each phase ends with its last settle.
      costs.earlyPair.push(await meter(windowFull.phase((first) => reservationEvents(schedule, first, samples))));
      costs.steadyPair.push(await meter(longHistory.phase((first) => reservationEvents(schedule, first, samples))));
    }
    const unexpected = [windowFull.creator, longHistory.creator, ...freshCreators];
    return {
      id: entry.id,
      label: entry.label,
      policies: describePolicies(entry.tier),
      schedule,
      reservations,
      inFlight: concurrent >= 0 ? status.usage[concurrent].used : undefined,
      tokensCounted: tokens >= 0 ? status.usage[tokens].used + status.usage[tokens].reserved : undefined,
      tokenBudget: tokens >= 0 ? plan.policies[tokens].limit : undefined,
      footprint,
      fresh: { check: medianCost(costs.freshCheck), pair: medianCost(costs.freshPair) },
      early: { check: medianCost(costs.earlyCheck), pair: medianCost(costs.earlyPair) },
      baselineHours,
      historyHours,
      steady: { check: medianCost(costs.steadyCheck), pair: medianCost(costs.steadyPair) },
      unexpected: unexpected.reduce((sum, creator) => sum + creator.unexpected, 0),
      firstUnexpected: unexpected.find((creator) => creator.firstUnexpected !== undefined)?.firstUnexpected,
    };
  } finally {
    await transport.close().catch(() => undefined);
    client.disconnect();
  }
}

export async function measureSteadyState(
  options: SteadyStateOptions,
  progress: (message: string) => void = () => undefined,
  tiers: readonly SteadyStateTier[] = STEADY_STATE_TIERS,
): Promise<SteadyStateResult> {
  const servers = await startReplicatedRedis();
  const admin = new Redis({ host: servers.master.host, port: servers.master.port });
  try {
    progress(`steady state: master pid ${servers.master.pid}, replica pid ${servers.replica.pid}`);
    const results: SteadyStateTierResult[] = [];
    for (const entry of tiers) results.push(await measureTier(entry, options, servers.master, admin, progress));
    return { ...options, tiers: results };
  } finally {
    admin.disconnect();
    await servers.stop();
  }
}
