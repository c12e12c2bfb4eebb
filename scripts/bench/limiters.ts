/**
 * The limiters under test, each behind one small interface, all on the same redis-server over
 * ioredis (TCP), with the same limit semantics: 100 requests per creator per hour.
 *
 * - this project, single-policy tier: requests only, the `pro` number (100 per rolling hour);
 * - this project, multi-policy tier: 100/hour + 20/minute burst + 1,000,000 tokens/day + 4 in flight,
 *   once as plain admissions and once as reservations (500 tokens) each settled afterwards (400);
 * - rate-limiter-flexible RateLimiterRedis (fixed window of 1 hour starting at the first request);
 * - @upstash/ratelimit sliding window (100 per 1 h) through UpstashScriptsOverIoredis;
 * - a floor: bare EVALSHA of `return 1`;
 * - the floor of an exact log: the three calls an exact rolling window cannot do without (read the
 *   server clock, read the log, append to it, on a key with a TTL) and no decision at all.
 */
import { createHash } from 'node:crypto';
import { Ratelimit } from '@upstash/ratelimit';
import type { Redis as UpstashRedis } from '@upstash/redis';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { createRateLimiter, RateLimitError, type RateLimiter, type TierTable } from '../../lambda/rate-limit/exports';
import type { CheckOutcome } from './load';
import { UpstashScriptsOverIoredis } from './upstash-over-ioredis';

export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

export type LimiterId =
  | 'floor'
  | 'log-floor'
  | 'ours-single'
  | 'ours-single-nocache'
  | 'ours-multi'
  | 'ours-multi-reserve'
  | 'ours-multi-reserve-nocache'
  | 'rlf'
  | 'rlf-block'
  | 'upstash'
  | 'upstash-nocache';

export interface BenchLimiter {
  readonly id: LimiterId;
  readonly label: string;
  /** For the chart. */
  readonly shortLabel: string;
  /** Limiters sharing a family share their Redis state (same key prefix, same creators). */
  readonly family: string;
  /** What an allowed count under a concurrent burst should be, and which limit binds; undefined = no limit. */
  readonly exactLimit: { readonly allowed: number; readonly binding: string } | undefined;
  check(creatorId: string): Promise<CheckOutcome>;
  /** Untimed set-up of the mostly-denied workload: brings a creator to its limit. */
  readonly fill: { readonly checksPerCreator: number; check(creatorId: string): Promise<unknown> } | undefined;
  /** Scripts whose Upstash-only shebang the bench's transport stripped (Upstash only). */
  readonly strippedScripts?: () => number;
  /**
   * Anomalies this limiter reported so far (this project only). With its deny cache on, the one
   * check per creator and 5-minute window that the cache lets through to report an anomaly is the
   * only denial that reaches Redis; the report tells such probes apart from cached denials.
   */
  readonly anomalyReports?: () => number;
  close(): Promise<void>;
}

export const REQUESTS_PER_HOUR = 100;
export const RESERVED_TOKENS = 500;
export const SETTLED_TOKENS = 400;
export const TOKENS_PER_DAY = 1_000_000;

export const BENCH_TIERS: TierTable = {
  single: {
    policies: [{ name: 'requests-per-hour', unit: 'requests', limit: REQUESTS_PER_HOUR, windowSeconds: 3600 }],
  },
  multi: {
    policies: [
      { name: 'requests-per-hour', unit: 'requests', limit: REQUESTS_PER_HOUR, windowSeconds: 3600 },
      { name: 'burst-per-minute', unit: 'requests', limit: 20, windowSeconds: 60 },
      { name: 'tokens-per-day', unit: 'tokens', limit: TOKENS_PER_DAY, windowSeconds: 86400 },
      { name: 'in-flight', unit: 'concurrent', limit: 4, leaseSeconds: 90 },
    ],
  },
};

/**
 * Generous deadline: the bench measures cost, not the fail mode; a 300 ms default deadline could
 * turn a scheduling hiccup of this shared machine into errors. (Upstash's default is 5 s as well.)
 */
const OUR_TIMEOUT_MS = 5000;

const silentLogger = { warn: () => undefined, error: () => undefined };

function connect(redis: RedisAddress): Redis {
  // ioredis defaults (as a user of these libraries would have them), one connection per limiter.
  return new Redis({ host: redis.host, port: redis.port, lazyConnect: false });
}

export function createLimiter(id: LimiterId, redis: RedisAddress): BenchLimiter {
  switch (id) {
    case 'floor':
      return scriptFloor(redis, 'floor');
    case 'log-floor':
      return scriptFloor(redis, 'log-floor');
    case 'ours-single':
    case 'ours-single-nocache':
      return ours(id, redis, 'single', false, id === 'ours-single');
    case 'ours-multi':
      return ours(id, redis, 'multi', false, true);
    case 'ours-multi-reserve':
    case 'ours-multi-reserve-nocache':
      return ours(id, redis, 'multi', true, id === 'ours-multi-reserve');
    case 'rlf':
    case 'rlf-block':
      return rateLimiterFlexible(id, redis);
    case 'upstash':
    case 'upstash-nocache':
      return upstash(id, redis);
  }
}

/**
 * The floors: scripts that make no decision. `floor` is the cost of a script call itself;
 * `log-floor` is what any exact rolling window with one server clock must do on an admission:
 * receive its limit and window, read the clock (TIME), read the creator's log (GET) and append the
 * new entry (APPEND), the key created with a TTL as a real log is. Nothing is decoded, compared or
 * counted.
 */
const FLOOR_SCRIPTS = {
  floor: { script: 'return 1', args: [] },
  'log-floor': {
    script: [
      "redis.call('TIME')",
      "if redis.call('GET', KEYS[1]) then redis.call('APPEND', KEYS[1], '12345678')",
      "else redis.call('SET', KEYS[1], string.rep('0', 40), 'PX', 7200000) end",
      'return { 1, 2, 3 }',
    ].join('\n'),
    // A limit and a window, as every real limiter sends (rate-limiter-flexible sends its points
    // and duration): reading arguments is part of any check's cost.
    args: [String(REQUESTS_PER_HOUR), '3600000'],
  },
} as const;

function scriptFloor(redis: RedisAddress, id: 'floor' | 'log-floor'): BenchLimiter {
  const client = connect(redis);
  const { script, args } = FLOOR_SCRIPTS[id];
  const sha = createHash('sha1').update(script).digest('hex');
  let loaded: Promise<unknown> | undefined;
  return {
    id,
    label: id === 'floor' ? 'bare EVALSHA of `return 1` (floor)' : 'floor of an exact log: TIME, GET, APPEND, no decision',
    shortLabel: id === 'floor' ? 'floor: EVALSHA of return 1' : 'floor: TIME + GET + APPEND',
    family: id,
    exactLimit: undefined,
    async check(creatorId) {
      await (loaded ??= client.script('LOAD', script));
      await client.evalsha(sha, 1, `${id}:{${creatorId}}`, ...args);
      return { allowed: true };
    },
    fill: undefined,
    close: () => quit(client),
  };
}

function ours(id: LimiterId, redis: RedisAddress, tier: 'single' | 'multi', reserve: boolean, denyCache: boolean): BenchLimiter {
  let anomalyReports = 0;
  const limiter: RateLimiter = createRateLimiter({
    backend: 'elasticache',
    elasticache: { host: redis.host, port: redis.port },
    tiers: BENCH_TIERS,
    // Each variant keeps its own state: with the deny cache off, every denial reaches Redis and
    // counts for anomalies, which would otherwise report (and warn once) on the cached variant's
    // creators before that variant's own probe does.
    keyPrefix: `bench-${tier}${reserve ? 'r' : ''}${denyCache ? '' : '-nc'}`,
    timeoutMs: OUR_TIMEOUT_MS,
    ...(denyCache ? {} : { denyCache: false as const }),
    // Anomaly detection stays on (its default); the reports are only counted.
    onAnomaly: () => void (anomalyReports += 1),
    logger: silentLogger,
  });
  const label =
    tier === 'single'
      ? 'this project, single-policy tier'
      : reserve
        ? 'this project, multi-policy tier, reservations (reserve + settle)'
        : 'this project, multi-policy tier, admission only';
  const options = reserve ? { tokens: RESERVED_TOKENS } : {};
  return {
    id,
    label: denyCache ? label : `${label}, deny cache off`,
    shortLabel: `ours: ${tier === 'single' ? 'single-policy' : reserve ? 'multi-policy, reserve + settle' : 'multi-policy'}${denyCache ? '' : ', no cache'}`,
    family: `ours-${tier}${reserve ? '-reserve' : ''}${denyCache ? '' : '-nocache'}`,
    exactLimit:
      tier === 'single'
        ? { allowed: REQUESTS_PER_HOUR, binding: `${REQUESTS_PER_HOUR}/hour` }
        : reserve
          ? { allowed: 4, binding: 'in-flight cap 4, reservations left unsettled' }
          : { allowed: 20, binding: 'burst 20/minute' },
    async check(creatorId) {
      try {
        const decision = await limiter.check(creatorId, tier, options);
        if (!reserve) return { allowed: true };
        return { allowed: true, followUp: () => limiter.settle(creatorId, tier, decision.requestId, SETTLED_TOKENS) };
      } catch (error) {
        if (error instanceof RateLimitError) return { allowed: false };
        throw error;
      }
    },
    fill:
      tier === 'single'
        ? { checksPerCreator: REQUESTS_PER_HOUR, check: (creatorId) => limiter.check(creatorId, tier) }
        : // One reservation of the whole daily token budget, settled at once: every later
          // reservation is denied by tokens-per-day (for a day), whatever the request windows say.
          // Unsettled, its denials would say "retry when its lease ends" until the 90 s lease
          // ran out in the middle of a run, and every cached denial would expire at that moment.
          {
            checksPerCreator: 1,
            check: async (creatorId) => {
              const decision = await limiter.check(creatorId, tier, { tokens: TOKENS_PER_DAY });
              await limiter.settle(creatorId, tier, decision.requestId, TOKENS_PER_DAY);
            },
          },
    anomalyReports: () => anomalyReports,
    close: () => limiter.close(),
  };
}

function rateLimiterFlexible(id: 'rlf' | 'rlf-block', redis: RedisAddress): BenchLimiter {
  const client = connect(redis);
  const limiter = new RateLimiterRedis({
    storeClient: client,
    keyPrefix: 'bench-rlf',
    points: REQUESTS_PER_HOUR,
    duration: 3600,
    // Its local cache of blocked keys (off by default): blocks a key in memory once it has
    // consumed `points`, until its window ends.
    ...(id === 'rlf-block' ? { inMemoryBlockOnConsumed: REQUESTS_PER_HOUR } : {}),
  });
  return {
    id,
    label: id === 'rlf' ? 'rate-limiter-flexible RateLimiterRedis' : 'rate-limiter-flexible, inMemoryBlockOnConsumed',
    shortLabel: id === 'rlf' ? 'rate-limiter-flexible' : 'rate-limiter-flexible, block',
    family: 'rlf',
    exactLimit: { allowed: REQUESTS_PER_HOUR, binding: `${REQUESTS_PER_HOUR}/hour, fixed window` },
    async check(creatorId) {
      try {
        await limiter.consume(creatorId, 1);
        return { allowed: true };
      } catch (error) {
        if (error instanceof RateLimiterRes) return { allowed: false };
        throw error;
      }
    },
    fill: { checksPerCreator: REQUESTS_PER_HOUR, check: (creatorId) => limiter.consume(creatorId, 1) },
    close: () => quit(client),
  };
}

function upstash(id: 'upstash' | 'upstash-nocache', redis: RedisAddress): BenchLimiter {
  const client = connect(redis);
  const adapter = new UpstashScriptsOverIoredis(client);
  const limiter = new Ratelimit({
    redis: adapter as unknown as UpstashRedis,
    limiter: Ratelimit.slidingWindow(REQUESTS_PER_HOUR, '1 h'),
    prefix: 'bench-upstash',
    analytics: false,
    enableTelemetry: false,
    // Its ephemeral cache of blocked identifiers is on by default.
    ...(id === 'upstash-nocache' ? { ephemeralCache: false as const } : {}),
  });
  return {
    id,
    label: id === 'upstash' ? '@upstash/ratelimit sliding window' : '@upstash/ratelimit sliding window, ephemeralCache off',
    shortLabel: id === 'upstash' ? '@upstash/ratelimit (sliding)' : '@upstash/ratelimit, no cache',
    family: 'upstash',
    exactLimit: { allowed: REQUESTS_PER_HOUR, binding: `${REQUESTS_PER_HOUR}/hour, approximate sliding window` },
    async check(creatorId) {
      const result = await limiter.limit(creatorId);
      // On its own timeout the library answers success (fail open); that is no admission.
      if (result.reason === 'timeout') throw new Error('@upstash/ratelimit timed out');
      return { allowed: result.success };
    },
    fill: { checksPerCreator: REQUESTS_PER_HOUR, check: (creatorId) => limiter.limit(creatorId) },
    strippedScripts: () => adapter.strippedScripts,
    close: () => quit(client),
  };
}

async function quit(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
