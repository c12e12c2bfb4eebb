/**
 * Redis instructions per check, counted by valgrind's callgrind: a figure the machine's noise does
 * not move. Time-based figures (commandstats, getrusage) on a shared 2-core machine drift by 15-40%
 * between runs; an instruction count of the same work repeats to within a percent.
 *
 * A second redis-server runs under callgrind with instrumentation off. For each limiter, after an
 * untimed warm-up (connection, script loaded), instrumentation is switched on for one phase of the
 * mostly-allowed workload (fresh creators, 20 checks each), switched off and dumped; the dump's total
 * divided by the checks is the figure. It holds every user-space instruction of the server:
 * reading and parsing the request, the script and the commands it runs, the reply. Kernel work
 * (socket system calls) is not counted. Skipped, with the reason, when valgrind is not installed.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startRedis, type RedisProcess } from '../../test/harness/redis-process';
import { createLimiter, type BenchLimiter, type LimiterId } from './limiters';
import { runLoad } from './load';
import type { BenchOptions } from './options';
import { allowedCreator } from './workloads';

const run = promisify(execFile);

/** The limiters compared by instruction count: the single-policy tier and its references. */
export const INSTRUCTION_LIMITERS: readonly LimiterId[] = ['floor', 'log-floor', 'ours-single', 'rlf', 'upstash'];

/** Creators and checks per creator of a counted phase: the mostly-allowed workload, smaller. */
const COUNTED_CREATORS = 100;

export interface InstructionFigure {
  readonly id: LimiterId;
  readonly label: string;
  readonly concurrency: number;
  readonly checks: number;
  readonly errors: number;
  readonly instructionsPerCheck: number;
}

export type RedisInstructions =
  | { readonly measured: true; readonly valgrind: string; readonly figures: readonly InstructionFigure[] }
  | { readonly measured: false; readonly reason: string };

async function valgrindVersion(): Promise<string | undefined> {
  try {
    const [valgrind] = await Promise.all([run('valgrind', ['--version']), run('callgrind_control', ['--version'])]);
    return valgrind.stdout.trim();
  } catch {
    return undefined;
  }
}

/** The `totals:` line of a callgrind dump: instructions executed while instrumentation was on. */
export function parseCallgrindTotal(dump: string): number {
  const match = /^totals:\s+(\d+)/m.exec(dump);
  if (!match) throw new Error('callgrind dump without a totals line');
  return Number(match[1]);
}

export async function measureRedisInstructions(
  options: Pick<BenchOptions, 'quick' | 'concurrency' | 'checksPerCreator'>,
  progress: (message: string) => void,
): Promise<RedisInstructions> {
  const valgrind = await valgrindVersion();
  if (!valgrind) return { measured: false, reason: 'valgrind (callgrind) is not installed' };
  try {
    return { measured: true, valgrind, figures: await countUnderCallgrind(options, progress) };
  } catch (error) {
    // An optional figure: the rest of the report stands without it, and says why it is missing.
    return { measured: false, reason: `callgrind failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
}

async function countUnderCallgrind(
  options: Pick<BenchOptions, 'quick' | 'concurrency' | 'checksPerCreator'>,
  progress: (message: string) => void,
): Promise<InstructionFigure[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-callgrind-'));
  try {
    const dumpBase = path.join(dir, 'callgrind.out');
    // startRedis runs a binary with redis-server's arguments: a wrapper puts callgrind in front.
    const wrapper = path.join(dir, 'redis-under-callgrind');
    await writeFile(
      wrapper,
      `#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=${dumpBase} redis-server "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    const redis = await startRedis({ redisServerPath: wrapper, startTimeoutMs: 60_000 });
    try {
      return await countEachLimiter(redis, dumpBase, options, progress);
    } finally {
      await redis.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Each limiter's counted phases on the callgrind server; dump n of the run is `<dumpBase>.<n>`. */
async function countEachLimiter(
  redis: RedisProcess,
  dumpBase: string,
  options: Pick<BenchOptions, 'quick' | 'concurrency' | 'checksPerCreator'>,
  progress: (message: string) => void,
): Promise<InstructionFigure[]> {
  const control = (...args: string[]): Promise<unknown> => run('callgrind_control', [...args, String(redis.pid)]);
  const counts = { creators: options.quick ? 10 : COUNTED_CREATORS, checksPerCreator: options.checksPerCreator };
  const figures: InstructionFigure[] = [];
  let dumps = 0;
  for (const id of INSTRUCTION_LIMITERS) {
    const limiter: BenchLimiter = createLimiter(id, { host: redis.host, port: redis.port });
    try {
      await runLoad({ total: 20, concurrency: 1, timeLimitMs: 60_000, operation: (i) => limiter.check(`warm-${id}-${i}`) });
      for (const concurrency of [1, options.concurrency]) {
        progress(`instructions: ${id}, ${concurrency} in flight`);
        await control('--instr=on');
        const load = await runLoad({
          total: counts.creators * counts.checksPerCreator,
          concurrency,
          timeLimitMs: 300_000,
          operation: (i) => limiter.check(allowedCreator(`ir-${id}-c${concurrency}`, i, counts)),
        });
        await control('--instr=off');
        await control('--dump');
        dumps += 1;
        const dump = await readFile(`${dumpBase}.${dumps}`, 'utf8');
        figures.push({
          id,
          label: limiter.label,
          concurrency,
          checks: load.checks,
          errors: load.errors,
          instructionsPerCheck: parseCallgrindTotal(dump) / load.checks,
        });
      }
    } finally {
      await limiter.close();
    }
  }
  return figures;
}
