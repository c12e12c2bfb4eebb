/**
 * The deadline counts only time the backend could have answered in: a caller's own busy event loop
 * is not backend slowness. Real redis-server and Upstash-compatible server; the loop is blocked with
 * a synchronous busy wait, the backend is made slow with SIGSTOP or the server's "hang" fault.
 */
import {
  createRateLimiter,
  RateLimitError,
  RateLimitUnavailableError,
  type RateLimiter,
  type RateLimiterOptions,
  type TierTable,
} from '../../lambda/rate-limit';
import { withDeadline, DeadlineExceededError } from '../../lambda/rate-limit/resilience/deadline';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import { sleep } from '../support/backends';

const TIMEOUT_MS = 300;
const BLOCK_MS = 400;
/** Scheduling slack on a loaded 2-core machine. */
const MARGIN_MS = 250;
const TIERS: TierTable = {
  wide: { policies: [{ name: 'per-hour', unit: 'requests', limit: 10_000, windowSeconds: 3600 }] },
  five: { policies: [{ name: 'per-hour', unit: 'requests', limit: 5, windowSeconds: 3600 }] },
};
const quiet = { warn: () => undefined, error: () => undefined };

let redis: RedisProcess;
let upstash: UpstashCompatibleServer;
const limiters: RateLimiter[] = [];

beforeAll(async () => {
  redis = await startRedis();
  upstash = await startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token: 'deadline-token' });
});

afterAll(async () => {
  await Promise.all(limiters.map((limiter) => limiter.close()));
  await upstash.stop();
  await redis.stop();
});

afterEach(() => {
  upstash.faults.clear();
  redis.resume();
});

function limiter(backend: 'elasticache' | 'upstash', extra: Partial<RateLimiterOptions> = {}): RateLimiter {
  const common = { tiers: TIERS, timeoutMs: TIMEOUT_MS, logger: quiet, anomalyFactor: 0, keyPrefix: `d${limiters.length}`, ...extra };
  const created =
    backend === 'elasticache'
      ? createRateLimiter({ ...common, backend, elasticache: { host: redis.host, port: redis.port } })
      : createRateLimiter({ ...common, backend, upstash: { url: upstash.url, token: upstash.token } });
  limiters.push(created);
  return created;
}

/** Keeps this process's event loop busy: no timer, no socket read, nothing else runs meanwhile. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => value,
    (error: unknown) => error,
  );
}

describe.each(['elasticache', 'upstash'] as const)('deadline on the %s backend', (backend) => {
  it(`checks in flight while the event loop is blocked for ${BLOCK_MS} ms (deadline ${TIMEOUT_MS} ms) all succeed, and the breaker stays closed`, async () => {
    const target = limiter(backend);
    expect(await target.warmUp()).toBe(true);
    // Three rounds of 10: 30 deadline expiries would have opened the breaker six times over.
    for (let round = 0; round < 3; round += 1) {
      const pending = Array.from({ length: 10 }, (_, i) => target.check(`busy-${round}-${i}`, 'wide'));
      // Odd rounds block once the requests are on their way, even rounds before they are sent.
      if (round % 2 === 1) await sleep(2);
      blockEventLoop(BLOCK_MS);
      const results = await Promise.all(pending.map(outcome));
      for (const result of results) expect(result).toMatchObject({ allowed: true, degraded: false });
    }
    const afterwards = await target.check('healthy-after', 'wide');
    expect(afterwards).toMatchObject({ allowed: true, degraded: false });
  });

  it('fail mode open: a creator at its limit is never admitted because the caller was busy', async () => {
    const target = limiter(backend, { failMode: 'open', denyCache: false });
    for (let i = 0; i < 5; i += 1) await target.check('full', 'five');
    for (let round = 0; round < 3; round += 1) {
      const pending = Array.from({ length: 10 }, () => target.check('full', 'five'));
      blockEventLoop(BLOCK_MS);
      const results = await Promise.all(pending.map(outcome));
      expect(results.filter((r) => !(r instanceof RateLimitError))).toEqual([]);
    }
    expect((await target.status('full', 'five')).policies[0].used).toBe(5);
  });

  it('a backend that really does not answer still times out at the deadline', async () => {
    const target = limiter(backend, { circuitBreaker: false });
    expect(await target.warmUp()).toBe(true);
    const stall = backend === 'elasticache' ? () => redis.pause() : () => upstash.faults.set('hang');
    stall();
    const startedAt = Date.now();
    const error = await outcome(target.check('silent', 'wide'));
    const elapsed = Date.now() - startedAt;
    expect(error).toBeInstanceOf(RateLimitUnavailableError);
    expect(error).toMatchObject({ reason: 'timeout', detail: expect.stringContaining('no answer') });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsed).toBeLessThanOrEqual(TIMEOUT_MS + MARGIN_MS);
  });

  it('a silent backend and a blocked loop: times out once the loop has given the backend its full deadline', async () => {
    const target = limiter(backend, { circuitBreaker: false });
    expect(await target.warmUp()).toBe(true);
    const stall = backend === 'elasticache' ? () => redis.pause() : () => upstash.faults.set('hang');
    stall();
    const startedAt = Date.now();
    const pending = outcome(target.check('silent-and-busy', 'wide'));
    blockEventLoop(BLOCK_MS);
    const error = await pending;
    const elapsed = Date.now() - startedAt;
    expect(error).toMatchObject({ reason: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(BLOCK_MS);
    expect(elapsed).toBeLessThanOrEqual(BLOCK_MS + TIMEOUT_MS + MARGIN_MS);
  });
});

describe('withDeadline', () => {
  it('uses a value that was ready while the loop was blocked past the deadline', async () => {
    const ready = sleep(20).then(() => 'answer');
    const bounded = withDeadline(ready, 100);
    blockEventLoop(300);
    await expect(bounded).resolves.toBe('answer');
  });

  it('rejects with DeadlineExceededError after the deadline when nothing blocks the loop', async () => {
    const startedAt = Date.now();
    await expect(withDeadline(new Promise(() => undefined), 100)).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(95);
  });

  it('passes a rejection through once, and a late settlement after the deadline is ignored', async () => {
    await expect(withDeadline(Promise.reject(new Error('refused')), 100)).rejects.toThrow('refused');
    let settle!: (value: string) => void;
    const late = withDeadline(new Promise<string>((resolve) => (settle = resolve)), 30);
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    settle('too late');
    await sleep(5);
  });
});
