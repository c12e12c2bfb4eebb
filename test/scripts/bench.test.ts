/**
 * Smoke run of `npm run bench` (scripts/bench/run.ts --quick) into a temporary directory, so the
 * benchmark keeps working. It checks structure only (every limiter measured, the figures that are
 * facts of the design), never wall-clock thresholds: the benchmark is not part of pass/fail.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { BenchResult } from '../../scripts/bench/bench';
import { WORKLOADS } from '../../scripts/bench/bench';
import { parseOptions } from '../../scripts/bench/options';
import { HANDLERS } from '../../scripts/bench/lambda-budget';
import { INSTRUCTION_LIMITERS, parseCallgrindTotal } from '../../scripts/bench/redis-instructions';
import { STEADY_STATE_TIERS } from '../../scripts/bench/steady-state';

const REPO = path.resolve(__dirname, '..', '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const DOCS_REPORT = path.join(REPO, 'docs', 'benchmarks.md');

/**
 * The admission script's commands for a single-policy (requests-only) tier, as docs/architecture.md
 * states them: EVALSHA + TIME + GET, then APPEND for an admission (SET for a creator's first) or
 * SETRANGE of the anomaly counter for a denial.
 */
const SINGLE_POLICY_COMMANDS = 4;

const VALGRIND_INSTALLED = ['valgrind', 'callgrind_control'].every((tool) => spawnSync(tool, ['--version']).status === 0);

describe('npm run bench -- --quick', () => {
  let dir: string;
  let result: BenchResult;
  let markdown: string;
  let svg: string;
  let output: { stdout: string; stderr: string };
  const docsBefore = existsSync(DOCS_REPORT) ? statSync(DOCS_REPORT).mtimeMs : undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bench-smoke-'));
    output = await new Promise((resolve, reject) => {
      execFile(
        TSX,
        ['scripts/bench/run.ts', '--quick', '--out', path.join(dir, 'bench.md'), '--json', path.join(dir, 'bench.json')],
        { cwd: REPO, timeout: 110_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => (error ? reject(new Error(`bench failed: ${error.message}\n${stderr}`)) : resolve({ stdout, stderr })),
      );
    });
    result = JSON.parse(readFileSync(path.join(dir, 'bench.json'), 'utf8')) as BenchResult;
    markdown = readFileSync(path.join(dir, 'bench.md'), 'utf8');
    svg = readFileSync(path.join(dir, 'bench.svg'), 'utf8');
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('writes only where it is told (docs/benchmarks.md untouched)', () => {
    expect(existsSync(DOCS_REPORT) ? statSync(DOCS_REPORT).mtimeMs : undefined).toBe(docsBefore);
    expect(output.stderr).toContain('wrote');
  });

  test('measures every limiter in both workloads, without errors', () => {
    for (const workload of ['allowed', 'denied'] as const) {
      const ids = result.results.filter((r) => r.workload === workload).map((r) => r.id);
      expect(ids).toEqual(WORKLOADS[workload]);
    }
    for (const row of result.results) {
      expect({ row: `${row.workload} ${row.id}`, errors: row.median.errors }).toEqual({ row: `${row.workload} ${row.id}`, errors: 0 });
      expect(row.repetitions).toHaveLength(result.options.repetitions);
    }
    expect(result.fills.filter((fill) => fill.fillErrors !== 0)).toEqual([]);
  });

  test('every figure is a finite number; throughput and latencies are positive', () => {
    for (const row of result.results) {
      const m = row.median;
      const positive = {
        checksPerSecond1: m.checksPerSecond1,
        checksPerSecond64: m.checksPerSecond64,
        p50Ms1: m.p50Ms1,
        p99Ms1: m.p99Ms1,
        p50Ms64: m.p50Ms64,
        p99Ms64: m.p99Ms64,
      };
      const nonNegative = {
        commandsPerCheck: m.commandsPerCheck,
        roundTripsPerCheck: m.roundTripsPerCheck,
        scriptUsecPerCheck: m.scriptUsecPerCheck,
        cpuUsPerCheck: m.cpuUsPerCheck,
        clientCpuUsPerCheck: m.clientCpuUsPerCheck,
        allowedFraction: m.allowedFraction,
      };
      const wrong = [
        ...Object.entries(positive).filter(([, value]) => !(Number.isFinite(value) && value > 0)),
        ...Object.entries(nonNegative).filter(([, value]) => !(Number.isFinite(value) && value >= 0)),
        // Every check that reaches Redis costs it something.
        ...(m.commandsPerCheck > 0 && !(m.scriptUsecPerCheck > 0) ? [['scriptUsecPerCheck with commands', m.scriptUsecPerCheck]] : []),
      ];
      expect({ row: `${row.workload} ${row.id}`, wrong }).toEqual({ row: `${row.workload} ${row.id}`, wrong: [] });
    }
  });

  test('the workloads are what they claim: allowed ones allowed, denied ones denied', () => {
    for (const row of result.results) {
      expect({ row: `${row.workload} ${row.id}`, allowed: row.median.allowedFraction }).toEqual({
        row: `${row.workload} ${row.id}`,
        allowed: row.workload === 'allowed' ? 1 : 0,
      });
    }
  });

  test("this project's single-policy tier: the script's commands, one round trip; cached denials cost nothing", () => {
    const single = result.results.find((r) => r.workload === 'allowed' && r.id === 'ours-single')!;
    for (const rep of single.repetitions) {
      expect(rep.concurrent.commandsPerCheck).toBe(SINGLE_POLICY_COMMANDS);
      expect(rep.sequential.commandsPerCheck).toBe(SINGLE_POLICY_COMMANDS);
      expect(rep.concurrent.roundTripsPerCheck).toBe(1);
    }
    const multi = result.results.find((r) => r.workload === 'allowed' && r.id === 'ours-multi')!;
    expect(multi.median.roundTripsPerCheck).toBe(1);
    const reserve = result.results.find((r) => r.workload === 'allowed' && r.id === 'ours-multi-reserve')!;
    expect(reserve.median.roundTripsPerCheck).toBe(2); // admission + settle
    for (const id of ['ours-single', 'ours-multi-reserve'] as const) {
      const cached = result.results.find((r) => r.workload === 'denied' && r.id === id)!;
      expect(cached.median.commandsPerCheck).toBe(0);
    }
    const uncached = result.results.find((r) => r.workload === 'denied' && r.id === 'ours-single-nocache')!;
    expect(uncached.median.commandsPerCheck).toBe(SINGLE_POLICY_COMMANDS);
  });

  test('exactness: 2,000 concurrent checks, limit 100: this project admits exactly the limit', () => {
    const exact = Object.fromEntries(result.exactness.map((e) => [e.id, e]));
    expect(exact['ours-single']).toMatchObject({ checks: 2000, allowed: 100, errors: 0 });
    expect(exact['ours-multi']).toMatchObject({ allowed: 20, errors: 0 });
    expect(exact['ours-multi-reserve']).toMatchObject({ allowed: 4, errors: 0 });
    expect(Object.keys(exact).sort()).toEqual([...WORKLOADS.allowed].sort());
  });

  test('Upstash: one HTTP request per check for this project, none for a cached denial', () => {
    const figure = (id: string, workload: string) => result.upstashHttp.filter((f) => f.id === id && f.workload === workload);
    for (const f of figure('ours-single', 'allowed')) expect(f.requestsPerCheck).toBe(1);
    expect(figure('ours-multi-reserve', 'allowed')[0].requestsPerCheck).toBe(2);
    expect(figure('ours-single', 'denied')[0].requestsPerCheck).toBe(0);
    expect(figure('ours-single-nocache', 'denied')[0].requestsPerCheck).toBe(1);
    expect(figure('upstash', 'allowed').length).toBeGreaterThan(0);
    expect(result.upstashScriptsStripped).toBeGreaterThan(0);
  });

  test('Lambda budget: every handler bundled, measured against its dependencies, and cold-started', () => {
    const lambda = result.lambda!;
    expect(lambda.handlers.map((h) => h.handler)).toEqual([...HANDLERS]);
    expect(lambda.empty.coldStart.failures).toBe(0);
    for (const h of lambda.handlers) {
      expect(h.bytes).toBeGreaterThan(h.dependencies.bytes / 2);
      expect(h.dependencies.bytes).toBeGreaterThan(0);
      expect(Number.isFinite(h.ratioToDependencies)).toBe(true);
      expect(h.dependencyImports).toContainEqual(expect.stringContaining("'ioredis'"));
      expect(h.coldStart.failures).toBe(0);
      expect(h.coldStart.wallMs).toBeGreaterThan(0);
      expect(h.coldStart.statusCodes.length).toBeGreaterThan(0);
    }
  });

  test('Redis instructions per check under callgrind: every compared limiter, in the order of the work it does', () => {
    const counted = result.redisInstructions;
    if (!VALGRIND_INSTALLED) {
      expect(counted).toEqual({ measured: false, reason: 'valgrind (callgrind) is not installed' });
      expect(markdown).toContain('Not measured in this run: valgrind (callgrind) is not installed.');
      return;
    }
    if (!counted.measured) throw new Error(`not measured: ${counted.reason}`);
    for (const concurrency of [1, result.options.concurrency]) {
      const at = counted.figures.filter((f) => f.concurrency === concurrency);
      expect(at.map((f) => f.id)).toEqual([...INSTRUCTION_LIMITERS]);
      for (const figure of at)
        expect({ id: figure.id, errors: figure.errors, checks: figure.checks }).toEqual({ id: figure.id, errors: 0, checks: 200 });
      const of = (id: string): number => at.find((f) => f.id === id)!.instructionsPerCheck;
      // The bare script call < the calls an exact log needs < this project's whole check.
      expect(of('floor')).toBeGreaterThan(1000);
      expect(of('log-floor')).toBeGreaterThan(of('floor'));
      expect(of('ours-single')).toBeGreaterThan(of('log-floor'));
    }
    expect(markdown).toContain('## Redis instructions per check (callgrind)');
    expect(markdown).toMatch(/instructions per check \(callgrind\) at 1 in flight [\d,]+ vs [\d,]+/);
  });

  test('steady state: every tier simulated on schedule, weighed, and measured fresh and steady', () => {
    const steady = result.steadyState;
    expect(steady.tiers.map((tier) => tier.id)).toEqual(STEADY_STATE_TIERS.map((tier) => tier.id));
    for (const tier of steady.tiers) {
      expect({ tier: tier.id, unexpected: tier.unexpected }).toEqual({ tier: tier.id, unexpected: 0 });
      expect(tier.footprint.keys).toBeGreaterThan(0);
      expect(tier.footprint.bytes).toBeGreaterThan(0);
      expect(tier.inFlight).toBe(tier.schedule.inFlightAfterReservation);
      for (const cost of [tier.fresh.check, tier.fresh.pair, tier.early.check, tier.early.pair, tier.steady.check, tier.steady.pair]) {
        expect(cost.scriptUsec).toBeGreaterThan(0);
        expect(cost.replicationBytes).toBeGreaterThan(0);
      }
    }
    expect(markdown).toContain('## A creator after a long history (steady state)');
    expect(markdown).toContain("| Cost per admission does not grow with a creator's history");
  });

  test('the report embeds the chart and names the machine and the command', () => {
    expect(markdown).toContain('](bench.svg)');
    expect(markdown).toContain('npm run bench -- --quick');
    expect(markdown).toContain(result.machine.cpuModel);
    expect(markdown).toMatch(/allow-key-locking/);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('</svg>');
    for (const row of result.results.filter((r) => r.workload === 'allowed')) expect(svg).toContain(row.shortLabel);
  });
});

describe('callgrind dumps', () => {
  test('the total is read from the totals line; a dump without one is an error', () => {
    expect(parseCallgrindTotal('version: 1\nevents: Ir\nsummary: 0\nfn=(1) main\n5 12\ntotals: 114000778\n')).toBe(114_000_778);
    expect(() => parseCallgrindTotal('version: 1\nevents: Ir\n')).toThrow(/totals/);
  });
});

describe('bench options', () => {
  test('default output is docs/benchmarks.md with the chart next to it; --out moves both', () => {
    const defaults = parseOptions([]);
    expect(defaults.outMarkdown).toBe(DOCS_REPORT);
    expect(defaults.outSvg).toBe(path.join(REPO, 'docs', 'benchmarks.svg'));
    expect(defaults.repetitions).toBeGreaterThanOrEqual(3);
    const elsewhere = path.join(tmpdir(), 'bench-report');
    const moved = parseOptions(['--quick', '--out', path.join(elsewhere, 'report.md')]);
    expect(moved).toMatchObject({
      quick: true,
      outMarkdown: path.join(elsewhere, 'report.md'),
      outSvg: path.join(elsewhere, 'report.svg'),
      repetitions: 1,
    });
    expect(() => parseOptions(['--reps', '0'])).toThrow(/--reps/);
    expect(() => parseOptions(['--nope'])).toThrow(/unknown option/);
    expect(parseOptions(['--skip-instructions']).skipInstructions).toBe(true);
    expect(defaults.skipInstructions).toBe(false);
  });
});
