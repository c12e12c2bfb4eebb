/**
 * The benchmark run: one redis-server, every limiter on it, the same two workloads, repeated, with
 * the limiters interleaved inside each repetition so that the machine's noise hits them alike.
 *
 * Workloads (about `creators` creators each, limit 100 per hour everywhere):
 * - mostly allowed: creators take turns (check i goes to creator i mod N); after
 *   `checksPerCreator` checks each (20: within every limit, the 20/minute burst included) the
 *   workload moves on to N fresh creators. Every phase has its own creators.
 * - mostly denied: N creators brought to their limit once, before the repetitions (untimed), and
 *   one check per creator sent once more per limiter instance (untimed) so local caches of
 *   denials are warm; then the measured checks take turns over them.
 */
import { Redis } from 'ioredis';
import { startRedis, type RedisProcess } from '../../test/harness/redis-process';
import { createLimiter, type BenchLimiter, type LimiterId, type RedisAddress } from './limiters';
import { runLoad, type CheckOperation, type LoadResult } from './load';
import { describeMachine, type MachineDescription } from './machine';
import type { BenchOptions } from './options';
import { RedisMeter, type RedisCost } from './redis-stats';
import { median } from './stats';
import { measureLambdaBudget, type LambdaBudget } from './lambda-budget';
import { measureRedisInstructions, type RedisInstructions } from './redis-instructions';
import { measureSteadyState, type SteadyStateResult } from './steady-state';
import { measureUpstashHttp, type UpstashHttpFigure } from './upstash-http';
import { allowedCreator, deniedCreator } from './workloads';

export type Workload = 'allowed' | 'denied';

export const WORKLOADS: Readonly<Record<Workload, readonly LimiterId[]>> = {
  allowed: ['floor', 'log-floor', 'ours-single', 'ours-multi', 'ours-multi-reserve', 'rlf', 'upstash'],
  denied: [
    'ours-single',
    'ours-single-nocache',
    'ours-multi-reserve',
    'ours-multi-reserve-nocache',
    'rlf',
    'rlf-block',
    'upstash',
    'upstash-nocache',
  ],
};

/** One measured phase, with the Redis cost divided by the checks it made. */
export interface PhaseResult extends LoadResult {
  readonly commandsPerCheck: number;
  readonly roundTripsPerCheck: number;
  readonly scriptUsecPerCheck: number;
  readonly allUsecPerCheck: number;
  readonly cpuUsPerCheck: number;
  /** CPU time of the Node process (the client) per check. */
  readonly clientCpuUsPerCheck: number;
  readonly commands: Readonly<Record<string, number>>;
  /** Script calls (EVALSHA, EVAL) in the phase. */
  readonly scriptCalls: number;
  /** Anomaly reports of this project's limiter during the phase (0 for the others). */
  readonly anomalyReports: number;
}

/** Medians over the repetitions. */
export interface LimiterFigures {
  readonly checksPerSecond1: number;
  readonly checksPerSecond64: number;
  readonly p50Ms1: number;
  readonly p99Ms1: number;
  readonly p50Ms64: number;
  readonly p99Ms64: number;
  readonly allowedFraction: number;
  /** Redis figures of the concurrent phase (per check). */
  readonly commandsPerCheck: number;
  readonly roundTripsPerCheck: number;
  readonly scriptUsecPerCheck: number;
  readonly allUsecPerCheck: number;
  readonly cpuUsPerCheck: number;
  /** The same figures at concurrency 1 (batching changes the process CPU, not the commands). */
  readonly cpuUsPerCheck1: number;
  /** Node (client) CPU per check, concurrent phase. */
  readonly clientCpuUsPerCheck: number;
  readonly errors: number;
}

export interface LimiterResult {
  readonly workload: Workload;
  readonly id: LimiterId;
  readonly label: string;
  readonly shortLabel: string;
  readonly repetitions: ReadonlyArray<{ readonly sequential: PhaseResult; readonly concurrent: PhaseResult }>;
  readonly median: LimiterFigures;
}

export interface ExactnessResult {
  readonly id: LimiterId;
  readonly label: string;
  readonly checks: number;
  readonly allowed: number;
  readonly errors: number;
  readonly expected: number | undefined;
  readonly binding: string | undefined;
}

export interface SetupResult {
  readonly family: string;
  readonly fillChecks: number;
  readonly fillErrors: number;
  readonly fillSeconds: number;
}

export interface BenchResult {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly options: Omit<BenchOptions, 'outMarkdown' | 'outSvg' | 'outJson'>;
  readonly machine: MachineDescription;
  readonly results: readonly LimiterResult[];
  readonly fills: readonly SetupResult[];
  /** Per denied-workload limiter: checks allowed while warming its cache (should be 0). */
  readonly primingAllowed: Readonly<Record<string, number>>;
  readonly exactness: readonly ExactnessResult[];
  readonly upstashHttp: readonly UpstashHttpFigure[];
  readonly upstashScriptsStripped: number;
  /** Instructions per check under callgrind, in a redis-server of their own. */
  readonly redisInstructions: RedisInstructions;
  /** State, cost and replication of a creator after a simulated history, against fresh creators (own master + replica). */
  readonly steadyState: SteadyStateResult;
  readonly lambda: LambdaBudget | undefined;
}

export type Progress = (message: string) => void;

export async function runBench(options: BenchOptions, progress: Progress = () => undefined): Promise<BenchResult> {
  const startedAt = new Date();
  const began = Date.now();
  const redis = await startRedis({ extraArgs: ['--maxmemory-policy', 'noeviction'] });
  const admin = new Redis({ host: redis.host, port: redis.port });
  const limiters = new Map<LimiterId, BenchLimiter>();
  try {
    const address: RedisAddress = { host: redis.host, port: redis.port };
    const machineBefore = await describeMachine(admin);
    progress(`redis-server ${machineBefore.redisVersion} on ${redis.host}:${redis.port} (pid ${redis.pid})`);
    const meter = new RedisMeter(admin);
    const ids = [...new Set([...WORKLOADS.allowed, ...WORKLOADS.denied])];
    for (const id of ids) limiters.set(id, createLimiter(id, address));
    const get = (id: LimiterId): BenchLimiter => limiters.get(id)!;

    // Warm-up: connections, scripts loaded, JIT.
    for (const id of WORKLOADS.allowed) {
      await runLoad({ total: 200, concurrency: 16, timeLimitMs: 10_000, operation: allowedOperation(get(id), 'warm', options) });
    }

    progress('filling the mostly-denied creators');
    const fills: SetupResult[] = [];
    const filled = new Set<string>();
    for (const id of WORKLOADS.denied) {
      const limiter = get(id);
      if (filled.has(limiter.family) || !limiter.fill) continue;
      filled.add(limiter.family);
      const { fill } = limiter;
      const load = await runLoad({
        total: options.creators * fill.checksPerCreator,
        concurrency: options.concurrency,
        timeLimitMs: 120_000,
        operation: async (index) => {
          await fill.check(deniedCreator(limiter.family, index, options));
          return { allowed: true };
        },
      });
      fills.push({ family: limiter.family, fillChecks: load.checks, fillErrors: load.errors, fillSeconds: load.elapsedMs / 1000 });
    }
    const primingAllowed: Record<string, number> = {};
    for (const id of WORKLOADS.denied) {
      const load = await runLoad({
        total: options.creators,
        concurrency: options.concurrency,
        timeLimitMs: 60_000,
        operation: deniedOperation(get(id), options),
      });
      primingAllowed[id] = load.allowed + load.errors;
    }

    const phases = new Map<string, Array<{ sequential: PhaseResult; concurrent: PhaseResult }>>();
    for (let rep = 0; rep < options.repetitions; rep++) {
      for (const workload of ['allowed', 'denied'] as const) {
        const order = rotate(WORKLOADS[workload], rep);
        for (const id of order) {
          progress(`repetition ${rep + 1}/${options.repetitions}: ${workload} ${id}`);
          const limiter = get(id);
          const measure = async (concurrency: number, total: number): Promise<PhaseResult> => {
            const operation =
              workload === 'allowed' ? allowedOperation(limiter, `r${rep}c${concurrency}`, options) : deniedOperation(limiter, options);
            const reportsBefore = limiter.anomalyReports?.() ?? 0;
            await meter.start();
            const load = await runLoad({ total, concurrency, timeLimitMs: options.phaseTimeLimitMs, operation });
            return perCheck(load, await meter.stop(), (limiter.anomalyReports?.() ?? 0) - reportsBefore);
          };
          const sequential = await measure(1, options.sequentialChecks);
          const concurrent = await measure(options.concurrency, options.concurrentChecks);
          const key = `${workload}:${id}`;
          phases.set(key, [...(phases.get(key) ?? []), { sequential, concurrent }]);
        }
      }
    }
    const results: LimiterResult[] = [];
    for (const workload of ['allowed', 'denied'] as const) {
      for (const id of WORKLOADS[workload]) {
        const repetitions = phases.get(`${workload}:${id}`) ?? [];
        results.push({ workload, id, label: get(id).label, shortLabel: get(id).shortLabel, repetitions, median: summarize(repetitions) });
      }
    }

    progress(`exactness: ${options.exactnessChecks} concurrent checks of one creator`);
    const exactness: ExactnessResult[] = [];
    for (const id of WORKLOADS.allowed) {
      const limiter = get(id);
      const creator = `exact-${id}`;
      const outcomes = await Promise.allSettled(Array.from({ length: options.exactnessChecks }, () => limiter.check(creator)));
      exactness.push({
        id,
        label: limiter.label,
        checks: options.exactnessChecks,
        allowed: outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value.allowed).length,
        errors: outcomes.filter((outcome) => outcome.status === 'rejected').length,
        expected: limiter.exactLimit?.allowed,
        binding: limiter.exactLimit?.binding,
      });
    }

    progress('Upstash backend through the local Upstash-compatible server');
    const upstashHttp = await measureUpstashHttp(address, options);

    progress(`steady state: ${options.steadyStateHours} simulated hours per tier, on a master with a replica`);
    const steadyState = await measureSteadyState(
      { simulatedHours: options.steadyStateHours, samples: options.steadyStateSamples, repetitions: options.repetitions },
      progress,
    );

    progress('Redis instructions per check (callgrind)');
    const redisInstructions: RedisInstructions = options.skipInstructions
      ? { measured: false, reason: 'skipped (--skip-instructions)' }
      : await measureRedisInstructions(options, progress);

    let lambda: LambdaBudget | undefined;
    if (!options.skipLambda) {
      progress('Lambda budget: bundles and cold starts');
      lambda = await measureLambdaBudget(address, options, progress);
    }

    const machineAfter = await describeMachine(admin);
    const { outMarkdown: _md, outSvg: _svg, outJson: _json, ...shownOptions } = options;
    return {
      startedAt: startedAt.toISOString(),
      durationSeconds: (Date.now() - began) / 1000,
      options: shownOptions,
      machine: { ...machineBefore, loadAverageAfter: machineAfter.loadAverageBefore },
      results,
      fills,
      primingAllowed,
      exactness,
      upstashHttp,
      upstashScriptsStripped: [...limiters.values()].reduce((sum, limiter) => sum + (limiter.strippedScripts?.() ?? 0), 0),
      redisInstructions,
      steadyState,
      lambda,
    };
  } finally {
    for (const limiter of limiters.values()) await limiter.close().catch(() => undefined);
    admin.disconnect();
    await stopRedis(redis);
  }
}

async function stopRedis(redis: RedisProcess): Promise<void> {
  await redis.stop().catch(() => undefined);
}

export function allowedOperation(limiter: BenchLimiter, phase: string, options: BenchOptions): CheckOperation {
  return (index) => limiter.check(allowedCreator(`${limiter.id}-${phase}`, index, options));
}

export function deniedOperation(limiter: BenchLimiter, options: BenchOptions): CheckOperation {
  return (index) => limiter.check(deniedCreator(limiter.family, index, options));
}

function perCheck(load: LoadResult, cost: RedisCost, anomalyReports: number): PhaseResult {
  const per = (value: number): number => (load.checks > 0 ? value / load.checks : Number.NaN);
  return {
    ...load,
    commandsPerCheck: per(cost.commands),
    roundTripsPerCheck: per(cost.scriptCalls),
    scriptUsecPerCheck: per(cost.scriptUsec),
    allUsecPerCheck: per(cost.allUsec),
    cpuUsPerCheck: per(cost.cpuUs),
    clientCpuUsPerCheck: per(load.clientCpuUs),
    commands: Object.fromEntries(Object.entries(cost.byCommand).map(([name, stat]) => [name, stat.calls])),
    scriptCalls: cost.scriptCalls,
    anomalyReports,
  };
}

function summarize(repetitions: ReadonlyArray<{ sequential: PhaseResult; concurrent: PhaseResult }>): LimiterFigures {
  const of = (pick: (phase: { sequential: PhaseResult; concurrent: PhaseResult }) => number): number => median(repetitions.map(pick));
  return {
    checksPerSecond1: of((r) => r.sequential.checksPerSecond),
    checksPerSecond64: of((r) => r.concurrent.checksPerSecond),
    p50Ms1: of((r) => r.sequential.p50Ms),
    p99Ms1: of((r) => r.sequential.p99Ms),
    p50Ms64: of((r) => r.concurrent.p50Ms),
    p99Ms64: of((r) => r.concurrent.p99Ms),
    allowedFraction: of((r) => (r.sequential.allowed + r.concurrent.allowed) / (r.sequential.checks + r.concurrent.checks)),
    commandsPerCheck: of((r) => r.concurrent.commandsPerCheck),
    roundTripsPerCheck: of((r) => r.concurrent.roundTripsPerCheck),
    scriptUsecPerCheck: of((r) => r.concurrent.scriptUsecPerCheck),
    allUsecPerCheck: of((r) => r.concurrent.allUsecPerCheck),
    cpuUsPerCheck: of((r) => r.concurrent.cpuUsPerCheck),
    cpuUsPerCheck1: of((r) => r.sequential.cpuUsPerCheck),
    clientCpuUsPerCheck: of((r) => r.concurrent.clientCpuUsPerCheck),
    errors: repetitions.reduce((sum, r) => sum + r.sequential.errors + r.concurrent.errors, 0),
  };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
