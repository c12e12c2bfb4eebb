/**
 * Command line of `npm run doctor`. Flags overlay the environment the functions use (the variables of
 * docs/design.md#environment), so one parser, the library's, decides what is configured.
 */
export interface DoctorArguments {
  /** The environment with the flags applied. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Tier whose policies the full round exercises. */
  readonly tier: string | undefined;
  /** Round trips measured for the latency figures. */
  readonly samples: number;
  readonly help: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: npm run doctor -- [options]

Checks a real rate-limit backend before it is trusted: connectivity, TLS, AUTH, Lua scripts,
clock, latency, cluster mode, eviction policy, and a full check/status/settle/reset round on a
throwaway creator. Configuration comes from the same environment variables as the functions
(RATE_LIMIT_BACKEND, ELASTICACHE_REDIS_*, UPSTASH_REDIS_REST_*, RATE_LIMIT_TIERS,
RATE_LIMIT_TIMEOUT_MS); flags override them.

Upstash:
  --url URL             UPSTASH_REDIS_REST_URL
  --token TOKEN         UPSTASH_REDIS_REST_TOKEN (prefer the variable: flags show in ps)
Redis / ElastiCache:
  --host HOST           ELASTICACHE_REDIS_HOST
  --port PORT           ELASTICACHE_REDIS_PORT (default 6379)
  --tls                 ELASTICACHE_REDIS_TLS=true (extra CAs: NODE_EXTRA_CA_CERTS=ca.pem)
  --cluster             ELASTICACHE_REDIS_CLUSTER=true
  --username USER       ELASTICACHE_REDIS_USERNAME
  --password PASSWORD   ELASTICACHE_REDIS_PASSWORD (prefer the variable: flags show in ps)
Both:
  --timeout-ms MS       RATE_LIMIT_TIMEOUT_MS, the deadline latency is judged against
  --tier NAME           tier for the full round (default: pro, else the first tier)
  --samples N           round trips for the latency figures (default 40, 5 to 1000)
  -h, --help            this text

Exit code: 0 when nothing failed (warnings allowed), 1 when a check failed, 2 on a usage or
configuration error.`;

const VALUE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  '--url': ['UPSTASH_REDIS_REST_URL'],
  '--token': ['UPSTASH_REDIS_REST_TOKEN'],
  '--host': ['ELASTICACHE_REDIS_HOST'],
  '--port': ['ELASTICACHE_REDIS_PORT'],
  '--username': ['ELASTICACHE_REDIS_USERNAME'],
  '--password': ['ELASTICACHE_REDIS_PASSWORD'],
  '--timeout-ms': ['RATE_LIMIT_TIMEOUT_MS'],
};
const SWITCH_FLAGS: Readonly<Record<string, string>> = {
  '--tls': 'ELASTICACHE_REDIS_TLS',
  '--cluster': 'ELASTICACHE_REDIS_CLUSTER',
};
const UPSTASH_FLAGS = new Set(['--url', '--token']);
const REDIS_FLAGS = new Set(['--host', '--port', '--username', '--password', '--tls', '--cluster']);
const DEFAULT_SAMPLES = 40;

export function parseArguments(argv: readonly string[], baseEnv: Readonly<Record<string, string | undefined>>): DoctorArguments {
  const env: Record<string, string | undefined> = { ...baseEnv };
  let tier: string | undefined;
  let samples = DEFAULT_SAMPLES;
  let help = false;
  const seen = new Set<string>();

  for (let index = 0; index < argv.length; index += 1) {
    const [flag, inline] = splitFlag(argv[index]);
    const value = (): string => {
      const next = inline ?? argv[(index += 1)];
      if (next === undefined || next === '') throw new UsageError(`${flag} needs a value`);
      return next;
    };
    seen.add(flag);
    if (flag === '-h' || flag === '--help') help = true;
    else if (flag === '--tier') tier = value();
    else if (flag === '--samples') samples = sampleCount(value());
    else if (VALUE_FLAGS[flag]) for (const name of VALUE_FLAGS[flag]) env[name] = value();
    else if (SWITCH_FLAGS[flag]) env[SWITCH_FLAGS[flag]] = 'true';
    else throw new UsageError(`unknown option "${flag}" (see --help)`);
  }

  const upstash = [...seen].some((flag) => UPSTASH_FLAGS.has(flag));
  const redis = [...seen].some((flag) => REDIS_FLAGS.has(flag));
  if (upstash && redis)
    throw new UsageError('use either the Upstash flags (--url/--token) or the Redis flags (--host/--port/...), not both');
  // A flag names the backend to check, and replaces a secret the environment would read instead.
  if (upstash) {
    env.RATE_LIMIT_BACKEND = 'upstash';
    env.UPSTASH_REDIS_SECRET_ARN = undefined;
  }
  if (redis) {
    env.RATE_LIMIT_BACKEND = 'elasticache';
    if (seen.has('--password')) env.ELASTICACHE_REDIS_AUTH_SECRET_ARN = undefined;
  }
  return { env, tier, samples, help };
}

function splitFlag(argument: string): [string, string | undefined] {
  const equals = argument.indexOf('=');
  return argument.startsWith('--') && equals > 0 ? [argument.slice(0, equals), argument.slice(equals + 1)] : [argument, undefined];
}

function sampleCount(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 5 || value > 1000) throw new UsageError(`--samples must be an integer from 5 to 1000, got "${raw}"`);
  return value;
}
