/**
 * HTTP requests per check of the Upstash backends, counted by the local Upstash-compatible server
 * (test/harness/upstash-compatible-server.ts) in front of the bench's redis-server: this project's
 * upstash backend, and @upstash/ratelimit with the official @upstash/redis client at its defaults
 * (auto-pipelining on). The server rewrites the `allow-key-locking` shebang of @upstash/ratelimit's
 * scripts for plain Redis (its script-rewriter), as the TCP adapter does for the main table.
 *
 * The mostly-denied creators are those the main run filled (same key prefixes, same ids).
 */
import { randomBytes } from 'node:crypto';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis as UpstashRedis } from '@upstash/redis';
import { createRateLimiter, RateLimitError } from '../../lambda/rate-limit/exports';
import { startUpstashCompatibleServer } from '../../test/harness/upstash-compatible-server';
import { BENCH_TIERS, RESERVED_TOKENS, REQUESTS_PER_HOUR, SETTLED_TOKENS, type RedisAddress } from './limiters';
import { runLoad, type CheckOperation } from './load';
import type { BenchOptions } from './options';
import { allowedCreator, deniedCreator } from './workloads';

export interface UpstashHttpFigure {
  readonly id: string;
  readonly label: string;
  readonly workload: 'allowed' | 'denied';
  readonly concurrency: number;
  readonly checks: number;
  readonly allowed: number;
  readonly errors: number;
  readonly httpRequests: number;
  readonly requestsPerCheck: number;
}

export async function measureUpstashHttp(redis: RedisAddress, options: BenchOptions): Promise<UpstashHttpFigure[]> {
  const token = randomBytes(16).toString('hex');
  const server = await startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token });
  const ours = (denyCache: boolean, tier: 'single' | 'multi', reserve: boolean) =>
    createRateLimiter({
      backend: 'upstash',
      upstash: { url: server.url, token },
      tiers: BENCH_TIERS,
      // The same prefixes as over TCP (limiters.ts), so the filled creators are shared.
      keyPrefix: `bench-${tier}${reserve ? 'r' : ''}`,
      timeoutMs: 5000,
      ...(denyCache ? {} : { denyCache: false as const }),
      onAnomaly: () => undefined,
      logger: { warn: () => undefined, error: () => undefined },
    });
  const single = ours(true, 'single', false);
  const singleNoCache = ours(false, 'single', false);
  const multi = ours(true, 'multi', true);
  const ratelimit = new Ratelimit({
    redis: new UpstashRedis({ url: server.url, token, enableTelemetry: false }),
    limiter: Ratelimit.slidingWindow(REQUESTS_PER_HOUR, '1 h'),
    prefix: 'bench-upstash',
    analytics: false,
    enableTelemetry: false,
  });

  const checkOurs = (limiter: typeof single, tier: 'single' | 'multi', reserve: boolean) => async (creator: string) => {
    try {
      const decision = await limiter.check(creator, tier, reserve ? { tokens: RESERVED_TOKENS } : {});
      return reserve
        ? { allowed: true, followUp: () => limiter.settle(creator, tier, decision.requestId, SETTLED_TOKENS) }
        : { allowed: true };
    } catch (error) {
      if (error instanceof RateLimitError) return { allowed: false };
      throw error;
    }
  };
  const checkRatelimit = async (creator: string) => {
    const result = await ratelimit.limit(creator);
    if (result.reason === 'timeout') throw new Error('@upstash/ratelimit timed out');
    return { allowed: result.success };
  };

  const figures: UpstashHttpFigure[] = [];
  const measure = async (
    id: string,
    label: string,
    workload: 'allowed' | 'denied',
    concurrency: number,
    check: (creator: string) => Promise<{ allowed: boolean; followUp?: () => Promise<unknown> }>,
    family: string,
  ): Promise<void> => {
    const operation: CheckOperation =
      workload === 'allowed'
        ? (index) => check(allowedCreator(`http-${id}-c${concurrency}`, index, options))
        : (index) => check(deniedCreator(family, index, options));
    // Warm: the script is known to the server, connections are open, local denials are cached.
    await runLoad({ total: workload === 'denied' ? options.creators : 20, concurrency: 16, timeLimitMs: 30_000, operation });
    server.resetStats();
    const load = await runLoad({ total: options.upstashHttpChecks, concurrency, timeLimitMs: options.phaseTimeLimitMs, operation });
    const httpRequests = server.stats.httpRequests;
    figures.push({
      id,
      label,
      workload,
      concurrency,
      checks: load.checks,
      allowed: load.allowed,
      errors: load.errors,
      httpRequests,
      requestsPerCheck: load.checks > 0 ? httpRequests / load.checks : Number.NaN,
    });
  };

  try {
    const c = options.concurrency;
    await measure('ours-single', 'this project, single-policy tier', 'allowed', 1, checkOurs(single, 'single', false), '');
    await measure('ours-single', 'this project, single-policy tier', 'allowed', c, checkOurs(single, 'single', false), '');
    await measure(
      'ours-multi-reserve',
      'this project, multi-policy tier, reservations (reserve + settle)',
      'allowed',
      1,
      checkOurs(multi, 'multi', true),
      '',
    );
    await measure('ours-single', 'this project, single-policy tier', 'denied', c, checkOurs(single, 'single', false), 'ours-single');
    await measure(
      'ours-single-nocache',
      'this project, single-policy tier, deny cache off',
      'denied',
      c,
      checkOurs(singleNoCache, 'single', false),
      'ours-single',
    );
    await measure('upstash', '@upstash/ratelimit sliding window (@upstash/redis defaults)', 'allowed', 1, checkRatelimit, '');
    await measure('upstash', '@upstash/ratelimit sliding window (@upstash/redis defaults)', 'allowed', c, checkRatelimit, '');
    await measure('upstash', '@upstash/ratelimit sliding window (@upstash/redis defaults)', 'denied', c, checkRatelimit, 'upstash');
    return figures;
  } finally {
    await Promise.all([single.close(), singleNoCache.close(), multi.close()]);
    await server.stop();
  }
}
