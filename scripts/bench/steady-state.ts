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
import type { RateLimitStore } from '../../lambda/rate-limit/store/store';
import { BENCH_TIERS } from './limiters';
import { RedisMeter } from './redis-stats';
import { bytesPerOperation, creatorFootprint, replicationOffset, startReplicatedRedis, type CreatorFootprint } from './redis-footprint';
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
  /** Reservations (each settled, but for the last ones in flight) in the simulated history. */
  readonly reservations: number;
  /** Leases in flight and tokens counted in the token window when the state was weighed (status). */
  readonly inFlight: number | undefined;
  readonly tokensCounted: number | undefined;
  readonly tokenBudget: number | undefined;
  readonly footprint: CreatorFootprint;
  readonly fresh: { readonly check: OperationCost; readonly pair: OperationCost };
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
        const record = { requestId, retentionMs: plan.retentionMs, leaseMs: plan.leaseMs };
        const outcome = await this.store.reserve({ creatorId, policies: plan.policies, anomaly, record, tokens, tokenHistoryMs });
        return outcome.kind === 'denied' ? `denied (${outcome.cause}, policy ${plan.policies[outcome.deniedIndex]?.name})` : outcome.kind;
      }
      case 'settle':
        return (await this.store.settle({ creatorId, requestId, actualTokens: tokens, tokenHistoryMs, statusOf: undefined })).result;
    }
  }
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
    commands: per(cost.commands),
    replicationBytes: bytesPerOperation(offsetBefore, offsetAfter, phase.operations),
  };
}

function medianCost(costs: readonly OperationCost[]): OperationCost {
  const of = (pick: (cost: OperationCost) => number): number => median(costs.map(pick));
  return {
    operations: costs.reduce((sum, cost) => sum + cost.operations, 0),
    scriptUsec: of((cost) => cost.scriptUsec),
    commands: of((cost) => cost.commands),
    replicationBytes: of((cost) => cost.replicationBytes),
  };
}

async function measureTier(
  entry: SteadyStateTier,
  options: SteadyStateOptions,
  master: { host: string; port: number },
  admin: Redis,
  progress: (message: string) => void,
): Promise<SteadyStateTierResult> {
  const client = new Redis({ host: master.host, port: master.port, enableAutoPipelining: false });
  const keyPrefix = `steady-${entry.id}`;
  // The simulated clock starts now, so that every time the store writes is a plausible one.
  const clock: SimulatedClock = { now: Date.now() };
  // The store as the differential test builds it: the scripts through the ioredis transport, with
  // the test clock in place of the server's TIME.
  const store: RateLimitStore = new RedisScriptStore('elasticache', new IoredisTransport(client, 10_000), {
    keyPrefix,
    testClock: () => clock.now,
  });
  try {
    const plan = tierPlanner(DEFAULT_LEASE_SECONDS, ANOMALY_FACTOR)(entry.tier);
    const tokenHistoryMs = tokenHistorySecondsOf(entry.table) * 1000;
    const schedule = scheduleAtLimits(plan.policies);
    await store.warmUp(plan.policies);
    const steady = new SimulatedCreator(store, clock, 'steady', plan, tokenHistoryMs, schedule, clock.now);
    const reservations = slotsWithin(schedule, options.simulatedHours * 3_600_000);
    progress(`steady state, ${entry.id}: ${reservations} reservations over ${options.simulatedHours} simulated hours`);
    const day = reservationEvents(schedule, 0, reservations);
    // Up to the last reservation (settles due at that moment come before it, see reservationEvents).
    const last = slotTime(schedule, reservations - 1);
    await steady.run(day.filter((event) => event.at <= last));

    // Weighed with the leases of the last calls still in flight, as a busy creator's state is.
    const footprint = await creatorFootprint(admin, creatorKeyBase('steady', keyPrefix));
    const status = await store.status({ creatorId: 'steady', policies: plan.policies });
    const indexOf = (kind: string): number => plan.policies.findIndex((policy) => policy.kind === kind && !policy.shadow);
    const [concurrent, tokens] = [indexOf('concurrent'), indexOf('tokens')];
    const pending = day.filter((event) => event.at > last);
    await steady.run(pending);
    let next = firstSlotAfter(schedule, pending.at(-1)?.at ?? last);

    const samples = options.samples;
    const costs = {
      freshCheck: [] as OperationCost[],
      steadyCheck: [] as OperationCost[],
      freshPair: [] as OperationCost[],
      steadyPair: [] as OperationCost[],
    };
    const freshCreators: SimulatedCreator[] = [];
    // A fresh creator's reservation is settled 1 ms later: its cost does not depend on the call's
    // length, and the clock then moves on by no more than a millisecond per fresh creator.
    const freshSchedule: TrafficSchedule = { ...schedule, callMs: 1 };
    const fresh = (label: string, events: () => TrafficEvent[]): Phase => ({
      operations: samples,
      run: async () => {
        // Each fresh creator's first admission (and its settle), from where the clock stands.
        for (let k = 0; k < samples; k++) {
          const creator = new SimulatedCreator(store, clock, `fresh-${label}-${k}`, plan, tokenHistoryMs, freshSchedule, clock.now);
          freshCreators.push(creator);
          await creator.run(events());
        }
      },
    });
    const steadyPhase = (events: (first: number) => TrafficEvent[]): Phase => ({
      operations: samples,
      run: async () => {
        // The steady creator goes on at its pace from its first slot still ahead of the clock.
        const phase = events(Math.max(next, firstSlotAfter(schedule, clock.now - steady.startMs)));
        await steady.run(phase);
        next = firstSlotAfter(schedule, phase.at(-1)!.at);
      },
    });
    for (let rep = 0; rep < options.repetitions; rep++) {
      costs.freshCheck.push(
        await measure(
          admin,
          new RedisMeter(admin),
          fresh(`c${rep}`, () => checkEvents(freshSchedule, 0, 1)),
        ),
      );
      costs.steadyCheck.push(
        await measure(
          admin,
          new RedisMeter(admin),
          steadyPhase((first) => checkEvents(schedule, first, samples)),
        ),
      );
      costs.freshPair.push(
        await measure(
          admin,
          new RedisMeter(admin),
          fresh(`r${rep}`, () => reservationEvents(freshSchedule, 0, 1)),
        ),
      );
      // Exactly `samples` reservations and their own settles: the phase ends with the last settle.
      costs.steadyPair.push(
        await measure(
          admin,
          new RedisMeter(admin),
          steadyPhase((first) => reservationEvents(schedule, first, samples)),
        ),
      );
    }
    const unexpected = [steady, ...freshCreators];
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
      steady: { check: medianCost(costs.steadyCheck), pair: medianCost(costs.steadyPair) },
      unexpected: unexpected.reduce((sum, creator) => sum + creator.unexpected, 0),
      firstUnexpected: unexpected.find((creator) => creator.firstUnexpected !== undefined)?.firstUnexpected,
    };
  } finally {
    await store.close().catch(() => undefined);
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
