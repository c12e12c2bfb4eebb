/**
 * The load loop: `concurrency` workers take check numbers from one counter until `total` checks
 * are done or the time limit passes. Latency is timed around the check itself; a follow-up (the
 * settle of a reservation) runs after it in the same worker and counts towards throughput only.
 */
import { performance } from 'node:perf_hooks';
import { percentile } from './stats';

export interface CheckOutcome {
  readonly allowed: boolean;
  /** Work the request does after its admission (settling a reservation); not part of latency. */
  readonly followUp?: () => Promise<unknown>;
}

export type CheckOperation = (index: number) => Promise<CheckOutcome>;

export interface LoadResult {
  readonly checks: number;
  readonly allowed: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly elapsedMs: number;
  readonly checksPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of this Node process during the phase (user + system), microseconds. */
  readonly clientCpuUs: number;
}

export async function runLoad(options: {
  readonly total: number;
  readonly concurrency: number;
  readonly timeLimitMs: number;
  readonly operation: CheckOperation;
}): Promise<LoadResult> {
  const { total, concurrency, timeLimitMs, operation } = options;
  const latencies = new Float64Array(total);
  let next = 0;
  let done = 0;
  let recorded = 0;
  let allowed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + timeLimitMs;

  const worker = async (): Promise<void> => {
    while (next < total && performance.now() < deadline) {
      const index = next++;
      const before = performance.now();
      let answered = false;
      try {
        const outcome = await operation(index);
        // One slot per answered check, taken when it is answered (its follow-up may still run).
        latencies[recorded++] = performance.now() - before;
        answered = true;
        if (outcome.allowed) allowed++;
        if (outcome.followUp) await outcome.followUp();
      } catch (error) {
        if (!answered) latencies[recorded++] = performance.now() - before;
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      done++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const samples = latencies.subarray(0, recorded);
  return {
    checks: done,
    allowed,
    errors,
    firstError,
    elapsedMs,
    checksPerSecond: done / (elapsedMs / 1000),
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    clientCpuUs: cpu.user + cpu.system,
  };
}
