/**
 * `npm run doctor`: checks a real rate-limit backend before it is trusted, with the same
 * configuration as the functions (environment variables, or flags; see --help). Prints a progress
 * line per step and a verdict per check; exits 1 when any check fails, 2 on a usage or
 * configuration error. Credentials are never printed.
 */
import { CHECKS, type DoctorContext } from './doctor/checks';
import { chooseTier } from './doctor/limiter-round';
import { parseArguments, USAGE } from './doctor/arguments';
import { createRedisProbe } from './doctor/redis-probe';
import { Reporter } from './doctor/report';
import { describeTarget, resolveTarget } from './doctor/target';
import { createUpstashProbe } from './doctor/upstash-probe';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const reporter = new Reporter((line) => process.stdout.write(`${line}\n`));

async function main(): Promise<number> {
  // Known before anything is parsed, so even a configuration error cannot echo them.
  reporter.addSecrets([process.env.ELASTICACHE_REDIS_PASSWORD ?? '', process.env.UPSTASH_REDIS_REST_TOKEN ?? '']);
  let context: DoctorContext;
  try {
    const args = parseArguments(process.argv.slice(2), process.env);
    if (args.help) {
      reporter.line(USAGE);
      return 0;
    }
    reporter.addSecrets([args.env.ELASTICACHE_REDIS_PASSWORD ?? '', args.env.UPSTASH_REDIS_REST_TOKEN ?? '']);
    const target = await resolveTarget(args.env);
    reporter.addSecrets(target.secrets);
    const probe = target.backend.kind === 'redis' ? createRedisProbe(target.backend) : createUpstashProbe(target.backend);
    context = { target, probe, tier: chooseTier(target, args.tier), samples: args.samples };
    reporter.line(`doctor: checking ${describeTarget(target)}`);
  } catch (error) {
    reporter.line(`doctor: cannot start: ${error instanceof Error ? error.message : String(error)}`);
    reporter.line('Result: FAIL (configuration)');
    return EXIT_USAGE;
  }

  try {
    for (const [index, check] of CHECKS.entries()) {
      reporter.progress(index + 1, CHECKS.length, check.name, check.doing);
      reporter.verdict(check.name, await check.run(context));
    }
  } finally {
    await context.probe.close();
  }
  reporter.summary();
  return reporter.failed ? EXIT_FAILED : 0;
}

main().then(
  // Exit now: idle keep-alive sockets of the HTTP client would otherwise hold the process a few seconds.
  (code) => process.exit(code),
  (error: unknown) => {
    reporter.line(`doctor: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(EXIT_FAILED);
  },
);
