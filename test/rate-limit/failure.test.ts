/**
 * Failure behaviour with real processes: Redis paused (SIGSTOP) and killed mid-load, the Upstash
 * server failing in every way it can. Every call must resolve within its deadline plus a small
 * margin with the configured fail mode, the limiter must recover by itself, and acknowledged
 * admissions must be neither lost nor counted twice.
 */
import {
  createRateLimiter,
  RateLimitError,
  RateLimitUnavailableError,
  type RateLimiter,
  type RateLimiterOptions,
  type TierTable,
} from '../../lambda/rate-limit';
import { findFreePort } from '../harness/free-port';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import { recordKey } from '../../lambda/rate-limit/redis/keys';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import type { FaultMode } from '../harness/upstash-compatible-server';
import { sleep } from '../support/backends';

const TIMEOUT_MS = 200;
/** Event-loop and scheduling slack on a loaded 2-core CI machine. */
const MARGIN_MS = 250;
const TIERS: TierTable = {
  wide: { policies: [{ name: 'per-hour', unit: 'requests', limit: 10_000, windowSeconds: 3600 }] },
};
const quiet = { warn: () => undefined, error: () => undefined };

type Outcome = { kind: 'allowed' | 'denied' | 'unavailable' | 'degraded'; startedAt: number; ms: number };

let redis: RedisProcess;
let upstash: UpstashCompatibleServer;
const limiters: RateLimiter[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  // Durable on every write, so a SIGKILL loses nothing that Redis acknowledged.
  redis = await startRedis({ extraArgs: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  upstash = await startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token: 'fault-token' });
});

afterAll(async () => {
  await Promise.all(limiters.map((limiter) => limiter.close()));
  await upstash.stop();
  await redis.stop();
  process.off('unhandledRejection', onUnhandled);
});

afterEach(() => {
  upstash.faults.clear();
  expect(unhandled).toEqual([]);
});

function limiter(backend: 'elasticache' | 'upstash', extra: Partial<RateLimiterOptions> = {}): RateLimiter {
  const common = { tiers: TIERS, timeoutMs: TIMEOUT_MS, logger: quiet, keyPrefix: `f${limiters.length}`, ...extra };
  const created =
    backend === 'elasticache'
      ? createRateLimiter({ ...common, backend, elasticache: { host: redis.host, port: redis.port } })
      : createRateLimiter({ ...common, backend, upstash: { url: upstash.url, token: upstash.token } });
  limiters.push(created);
  return created;
}

async function timedCheck(target: RateLimiter, creator: string): Promise<Outcome> {
  const startedAt = Date.now();
  try {
    const decision = await target.check(creator, 'wide');
    return { kind: decision.degraded ? 'degraded' : 'allowed', startedAt, ms: Date.now() - startedAt };
  } catch (error) {
    if (error instanceof RateLimitUnavailableError) return { kind: 'unavailable', startedAt, ms: Date.now() - startedAt };
    if (error instanceof RateLimitError) return { kind: 'denied', startedAt, ms: Date.now() - startedAt };
    throw error;
  }
}

/** `workers` loops of sequential checks for `durationMs`, while `disrupt` runs. */
async function underLoad(target: RateLimiter, creator: string, durationMs: number, disrupt: () => Promise<void>) {
  const outcomes: Outcome[] = [];
  const until = Date.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (Date.now() < until) {
      outcomes.push(await timedCheck(target, creator));
      await sleep(5);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker(), disrupt()]);
  return outcomes;
}

function firstSuccessAfter(outcomes: Outcome[], time: number): number | undefined {
  return outcomes.filter((o) => o.kind === 'allowed' && o.startedAt >= time).map((o) => o.startedAt + o.ms)[0];
}

/**
 * What an outage must look like: every call answered within the deadline, outages as 503s and
 * never as 429s, checks succeeding again within a second of Redis being back, and acknowledged
 * admissions all counted while unanswered ones ran at most once.
 */
async function expectOutageHandled(target: RateLimiter, creator: string, outcomes: Outcome[], backAt: number): Promise<void> {
  expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThanOrEqual(TIMEOUT_MS + MARGIN_MS);
  const kinds = new Set(outcomes.map((o) => o.kind));
  expect(kinds).toContain('unavailable');
  expect(kinds).not.toContain('denied');
  expect(firstSuccessAfter(outcomes, backAt)! - backAt).toBeLessThanOrEqual(1000);
  const acknowledged = outcomes.filter((o) => o.kind === 'allowed').length;
  const unknown = outcomes.filter((o) => o.kind === 'unavailable').length;
  const used = (await target.status(creator, 'wide')).policies[0].used;
  expect(used).toBeGreaterThanOrEqual(acknowledged);
  expect(used).toBeLessThanOrEqual(acknowledged + unknown);
}

describe('ElastiCache backend with a misbehaving Redis', () => {
  it('paused (SIGSTOP): every call answers within the deadline, closed fail mode, recovery within a second', async () => {
    const target = limiter('elasticache');
    await target.warmUp();
    let resumedAt = 0;
    const outcomes = await underLoad(target, 'paused', 3000, async () => {
      await sleep(600);
      redis.pause();
      await sleep(1000);
      redis.resume();
      resumedAt = Date.now();
    });
    await expectOutageHandled(target, 'paused', outcomes, resumedAt);
  });

  it('the circuit breaker answers at once while Redis stays down, then closes when it is back', async () => {
    const target = limiter('elasticache');
    await target.warmUp();
    redis.pause();
    try {
      const first = [];
      for (let i = 0; i < 5; i += 1) first.push(await timedCheck(target, 'breaker'));
      expect(first.filter((o) => !(o.kind === 'unavailable' && o.ms >= TIMEOUT_MS - 20))).toEqual([]);
      const fast = await timedCheck(target, 'breaker');
      expect(fast.kind).toBe('unavailable');
      expect(fast.ms).toBeLessThan(50);
    } finally {
      redis.resume();
    }
    await sleep(600); // cool-down, then one probe closes the circuit
    expect((await timedCheck(target, 'breaker')).kind).toBe('allowed');
  });

  it('fail mode open: a paused Redis gives degraded allows within the deadline, never a denial', async () => {
    const target = limiter('elasticache', { failMode: 'open' });
    await target.warmUp();
    const outcomes = await underLoad(target, 'open-mode', 1800, async () => {
      await sleep(300);
      redis.pause();
      await sleep(800);
      redis.resume();
    });
    const kinds = new Set(outcomes.map((o) => o.kind));
    expect(kinds).toContain('degraded');
    expect([...kinds].filter((kind) => kind !== 'allowed' && kind !== 'degraded')).toEqual([]);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThanOrEqual(TIMEOUT_MS + MARGIN_MS);
  });

  it('killed (SIGKILL) and restarted: bounded calls, recovery within a second, acknowledged counts intact', async () => {
    const target = limiter('elasticache');
    await target.warmUp();
    let restartedAt = 0;
    const outcomes = await underLoad(target, 'killed', 3500, async () => {
      await sleep(600);
      await redis.kill();
      await sleep(800);
      await redis.restart();
      restartedAt = Date.now();
    });
    await expectOutageHandled(target, 'killed', outcomes, restartedAt);
  });
});

describe('ElastiCache backend with nothing listening', () => {
  it('names the refused connection as the cause, at once, instead of waiting for a timeout', async () => {
    const closedPort = await findFreePort();
    const target = createRateLimiter({
      backend: 'elasticache',
      elasticache: { host: '127.0.0.1', port: closedPort },
      tiers: TIERS,
      timeoutMs: 2000,
      logger: quiet,
      circuitBreaker: false,
    });
    limiters.push(target);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const error = await target.check('nobody-home', 'wide').then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(RateLimitUnavailableError);
      expect((error as RateLimitUnavailableError).reason).toBe('connection');
      // Not "no answer within 2000 ms": a refused connection is not a slow backend.
      expect((error as RateLimitUnavailableError).detail).toBe('connection refused (ECONNREFUSED)');
    }
  });
});

describe('Upstash backend with a misbehaving REST server', () => {
  it.each<[FaultMode]>([['http500'], ['hang'], ['close'], ['malformed']])(
    '%s: calls fail closed within the deadline, and the limiter recovers when the server does',
    async (mode) => {
      const target = limiter('upstash', { circuitBreaker: false });
      await target.warmUp();
      upstash.faults.set(mode);
      const failing = [];
      for (let i = 0; i < 3; i += 1) failing.push(await timedCheck(target, `fault-${mode}`));
      expect(failing.map((o) => o.kind)).toEqual(['unavailable', 'unavailable', 'unavailable']);
      expect(Math.max(...failing.map((o) => o.ms))).toBeLessThanOrEqual(TIMEOUT_MS + MARGIN_MS);
      upstash.faults.clear();
      expect((await timedCheck(target, `fault-${mode}`)).kind).toBe('allowed');
    },
  );

  it('fail mode open turns every fault into a degraded allow', async () => {
    const target = limiter('upstash', { failMode: 'open', circuitBreaker: false });
    for (const mode of ['http500', 'hang', 'close', 'malformed'] as const) {
      upstash.faults.set(mode);
      const decision = await target.check('open-upstash', 'wide');
      expect(decision).toMatchObject({ allowed: true, degraded: true });
      // A settle cannot be confirmed: "unknown", with the empty usage a degraded status answers.
      const settled = await target.settleWithStatus('open-upstash', 'wide', 'some-request', 10);
      expect(settled).toMatchObject({ outcome: 'unknown', chargedTokens: 0 });
      expect(settled.status.remaining).toBe(settled.status.limit);
      expect(settled.status.policies.filter((policy) => policy.used !== 0)).toEqual([]);
    }
    upstash.faults.clear();
  });

  it('with client retries enabled, every admission carries an idempotency record', async () => {
    const retrying = createRateLimiter({
      backend: 'upstash',
      tiers: TIERS,
      keyPrefix: 'retrying',
      logger: quiet,
      upstash: { url: upstash.url, token: upstash.token, retries: 2 },
    });
    limiters.push(retrying);
    const decision = await retrying.check('resent', 'wide');
    upstash.faults.set('close', 1); // the first attempt dies, the client's retry gets through
    const retried = await retrying.check('resent', 'wide');
    expect(retried.duplicate).toBe(false);
    const { Redis } = await import('ioredis');
    const inspector = new Redis({ host: redis.host, port: redis.port });
    try {
      expect(await inspector.exists(recordKey('retrying:{resent}', decision.requestId))).toBe(1);
      expect(await inspector.exists(recordKey('retrying:{resent}', retried.requestId))).toBe(1);
    } finally {
      inspector.disconnect();
    }
  });
});
