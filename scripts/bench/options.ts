/**
 * Command-line options of `npm run bench`. Every load loop is bounded by a count and a time limit
 * taken from here; `--quick` shrinks the counts to a smoke run of a few seconds.
 */
import * as path from 'node:path';

export interface BenchOptions {
  /** Smoke mode: tiny counts, one repetition, one cold start per bundle. */
  readonly quick: boolean;
  /** Repetitions of every load phase; the reports show medians over them. */
  readonly repetitions: number;
  /** Creators active at any time in both workloads. */
  readonly creators: number;
  /** Mostly-allowed workload: checks per creator before the workload moves to fresh creators. */
  readonly checksPerCreator: number;
  /** In-flight checks of the concurrent phase. */
  readonly concurrency: number;
  /** Checks per phase at concurrency 1 and at `concurrency`. */
  readonly sequentialChecks: number;
  readonly concurrentChecks: number;
  /** Upper bound of one phase, whatever its count. */
  readonly phaseTimeLimitMs: number;
  /** Exactness: this many concurrent checks of one creator against a limit of `exactnessLimit`. */
  readonly exactnessChecks: number;
  readonly exactnessLimit: number;
  /** Checks per figure sent through the local Upstash-compatible server. */
  readonly upstashHttpChecks: number;
  /** Cold starts per bundle (fresh Node process each). */
  readonly coldStarts: number;
  /** Steady state: simulated history of each creator, and operations per measured phase. */
  readonly steadyStateHours: number;
  readonly steadyStateSamples: number;
  readonly skipLambda: boolean;
  /** Skip the instruction counts under callgrind (they run only where valgrind is installed). */
  readonly skipInstructions: boolean;
  /** Where the Markdown report, the chart and (optionally) the raw JSON are written. */
  readonly outMarkdown: string;
  readonly outSvg: string;
  readonly outJson: string | undefined;
  /** The command line, as printed in the report. */
  readonly command: string;
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

const USAGE = `usage: npm run bench -- [--quick] [--reps N] [--out FILE.md] [--svg FILE.svg] [--json FILE.json] [--skip-lambda] [--skip-instructions]

  --quick          smoke run: tiny counts, one repetition (used by the test suite)
  --reps N         repetitions of every load phase (default 5; medians are reported)
  --out FILE.md    Markdown report (default docs/benchmarks.md)
  --svg FILE.svg   chart embedded by the report (default: next to the report, <name>.svg)
  --json FILE      also write every raw figure as JSON
  --skip-lambda    skip bundle sizes and cold starts
  --skip-instructions
                   skip the Redis instruction counts (callgrind; skipped anyway without valgrind)`;

const SWITCHES = ['quick', 'skip-lambda', 'skip-instructions', 'help'];
const VALUED = ['reps', 'out', 'svg', 'json'];

export class UsageError extends Error {
  readonly usage = USAGE;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!SWITCHES.includes(name) && !VALUED.includes(name)) throw new UsageError(`unknown option --${name}`);
    if (SWITCHES.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
    } else if (eq > 0) {
      flags.set(name, arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      flags.set(name, value);
      i++;
    }
  }
  if (flags.has('help')) throw new UsageError('');
  const quick = flags.get('quick') === true;
  const text = (name: string): string | undefined => {
    const value = flags.get(name);
    return value === true ? undefined : value;
  };
  const reps = text('reps');
  const repetitions = reps === undefined ? (quick ? 1 : 5) : Number(reps);
  if (!Number.isInteger(repetitions) || repetitions < 1 || repetitions > 20) {
    throw new UsageError('--reps must be an integer from 1 to 20');
  }
  const outMarkdown = path.resolve(text('out') ?? path.join(REPO_ROOT, 'docs', 'benchmarks.md'));
  const svg = text('svg');
  const outSvg = path.resolve(svg ?? outMarkdown.replace(/\.md$/i, '') + '.svg');
  const json = text('json');
  return {
    quick,
    repetitions,
    creators: quick ? 20 : 1000,
    checksPerCreator: 20,
    concurrency: 64,
    sequentialChecks: quick ? 100 : 4000,
    concurrentChecks: quick ? 500 : 60_000,
    phaseTimeLimitMs: quick ? 3000 : 8000,
    exactnessChecks: 2000,
    exactnessLimit: 100,
    upstashHttpChecks: quick ? 50 : 1000,
    coldStarts: quick ? 1 : 5,
    steadyStateHours: quick ? 1 : 72,
    steadyStateSamples: quick ? 20 : 200,
    skipLambda: flags.get('skip-lambda') === true,
    skipInstructions: flags.get('skip-instructions') === true,
    outMarkdown,
    outSvg,
    outJson: json === undefined ? undefined : path.resolve(json),
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
  };
}
