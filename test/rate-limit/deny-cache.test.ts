/**
 * The local deny cache: denials served with zero backend commands until the exact retry time,
 * bounded, never caching an allow, cleared by reset and by settle.
 */
import { createRateLimiter, RateLimitError, type RateLimiter, type TierTable } from '../../lambda/rate-limit';
import { MemoryStore } from '../../lambda/rate-limit/store/memory-store';
import type { RateLimitStore } from '../../lambda/rate-limit/store/store';
import { DenyCache, type CachedDenial } from '../../lambda/rate-limit/resilience/deny-cache';
import { sleep, useTestServers } from '../support/backends';

const servers = useTestServers();

const TIERS: TierTable = {
  pair: { policies: [{ name: 'per-2s', unit: 'requests', limit: 2, windowSeconds: 2 }] },
  single: {
    policies: [
      { name: 'per-hour', unit: 'requests', limit: 1000, windowSeconds: 3600 },
      { name: 'in-flight', unit: 'concurrent', limit: 1, leaseSeconds: 60 },
    ],
  },
};

/** Commands the limiter's own connection sends while `action` runs (MONITOR, scripts' inner calls excluded). */
async function clientCommands(action: () => Promise<void>): Promise<string[]> {
  const monitor = await servers.inspector.duplicate().monitor();
  const seen: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') seen.push(args[0]!.toLowerCase());
  });
  await action();
  await sleep(100);
  monitor.disconnect();
  return seen;
}

async function denial(promise: Promise<unknown>): Promise<RateLimitError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(RateLimitError);
  return error as RateLimitError;
}

describe('deny cache on the ElastiCache backend', () => {
  let limiter: RateLimiter;
  beforeAll(() => {
    // Anomaly reporting off: crossing its threshold lets one check through on purpose (tested below).
    limiter = servers.limiter('elasticache', { tiers: TIERS, anomalyFactor: 0 });
  });

  it('serves repeated denials with zero Redis commands, with the backend reset, until exactly then', async () => {
    const [first] = [await limiter.check('cached', 'pair'), await limiter.check('cached', 'pair')];
    const original = await denial(limiter.check('cached', 'pair'));
    expect(original.reset).toBe(first!.at + 2000);

    const commands = await clientCommands(async () => {
      for (let i = 0; i < 30; i += 1) {
        const served = await denial(limiter.check('cached', 'pair'));
        expect(served).toMatchObject({ reset: original.reset, policy: 'per-2s', limit: 2, remaining: 0 });
        expect(served.retryAfter).toBeGreaterThanOrEqual(1);
        expect(served.retryAfter).toBeLessThanOrEqual(original.retryAfter);
      }
    });
    expect(commands).toEqual([]);

    await sleep(original.reset - Date.now() - 150);
    expect(await clientCommands(async () => void (await denial(limiter.check('cached', 'pair'))))).toEqual([]);
    await sleep(original.reset - Date.now() + 30);
    const afterExpiry = await clientCommands(async () => void (await limiter.check('cached', 'pair')));
    expect(afterExpiry).toEqual(['evalsha']);
  });

  it('never caches an allow: every admission asks Redis', async () => {
    const commands = await clientCommands(async () => {
      for (let i = 0; i < 5; i += 1) await limiter.check(`allowed-${i}`, 'single');
    });
    expect(commands).toEqual(Array(5).fill('evalsha'));
  });

  it('is cleared by reset', async () => {
    await limiter.check('to-reset', 'pair');
    await limiter.check('to-reset', 'pair');
    await denial(limiter.check('to-reset', 'pair'));
    await limiter.reset('to-reset');
    expect((await limiter.check('to-reset', 'pair')).remaining).toBe(1);
  });

  it('is cleared by a settle that frees a slot, in this container', async () => {
    const held = await limiter.check('settler', 'single', { tokens: 0 });
    const denied = await denial(limiter.check('settler', 'single', { tokens: 0 }));
    expect(denied.policy).toBe('in-flight');
    await limiter.settle('settler', 'single', held.requestId, 0);
    await limiter.check('settler', 'single', { tokens: 0 });
  });

  it('asks Redis for checks that carry a requestId, so a retried admission is recognised', async () => {
    const admitted = await limiter.check('retrier', 'pair', { requestId: 'keep-1' });
    await limiter.check('retrier', 'pair');
    await denial(limiter.check('retrier', 'pair'));
    const replay = await limiter.check('retrier', 'pair', { requestId: 'keep-1' });
    expect(replay).toMatchObject({ duplicate: true, requestId: admitted.requestId });
  });
});

describe('deny cache on the Upstash backend', () => {
  it('serves repeated denials with zero HTTP requests', async () => {
    const limiter = servers.limiter('upstash', { tiers: TIERS, anomalyFactor: 0 });
    await limiter.check('cached', 'pair');
    await limiter.check('cached', 'pair');
    await denial(limiter.check('cached', 'pair'));
    servers.upstash.resetStats();
    for (let i = 0; i < 20; i += 1) await denial(limiter.check('cached', 'pair'));
    expect(servers.upstash.stats.httpRequests).toBe(0);
  });
});

describe('DenyCache', () => {
  const denialUntil = (until: number, unit: CachedDenial['unit'] = 'requests', tokens = 0): CachedDenial => ({
    until,
    unit,
    tokens,
    retryAfter: 1,
    limit: 1,
    remaining: 0,
    reset: until,
    policy: 'p',
    anomaly: { attempts: 0, threshold: 0, endsAt: 0, warned: false },
  });

  it('is bounded: the least recently denied creators are dropped first', () => {
    const cache = new DenyCache(3, () => 0);
    for (const id of ['a', 'b', 'c', 'd']) cache.remember(id, 'pro', denialUntil(1000));
    expect(cache.size).toBe(3);
    expect(cache.match('a', 'pro', false, 0)).toBeUndefined();
    expect(cache.match('d', 'pro', false, 0)).toBeDefined();
  });

  it('covers only the checks the denial applies to', () => {
    const cache = new DenyCache(10, () => 0);
    cache.remember('t', 'pro', denialUntil(1000, 'tokens', 500));
    expect(cache.match('t', 'pro', true, 499)).toBeUndefined();
    expect(cache.match('t', 'pro', true, 500)).toBeDefined();
    expect(cache.match('t', 'pro', false, 0)).toBeUndefined();
    cache.remember('c', 'pro', denialUntil(1000, 'concurrent'));
    expect(cache.match('c', 'pro', false, 0)).toBeUndefined();
    expect(cache.match('c', 'pro', true, 0)).toBeDefined();
    expect(cache.match('c', 'business', true, 0)).toBeUndefined();
  });

  it('expires exactly at `until` and hands over the count of denials it served', () => {
    let now = 0;
    const cache = new DenyCache(10, () => now);
    cache.remember('x', 'pro', denialUntil(1000));
    now = 999;
    expect(cache.match('x', 'pro', false, 0)).toBeDefined();
    expect(cache.match('x', 'pro', false, 0)).toBeDefined();
    now = 1000;
    expect(cache.match('x', 'pro', false, 0)).toBeUndefined();
    expect(cache.takeServed('x', 'pro')).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('lets one check through when serving locally would cross the anomaly threshold unreported', () => {
    const cache = new DenyCache(10, () => 0);
    cache.remember('n', 'pro', { ...denialUntil(1000), anomaly: { attempts: 8, threshold: 10, endsAt: 300_000, warned: false } });
    expect(cache.match('n', 'pro', false, 0)).toBeDefined(); // attempt 9
    expect(cache.match('n', 'pro', false, 0)).toBeDefined(); // attempt 10
    expect(cache.match('n', 'pro', false, 0)).toBeUndefined(); // 11 > 10: to the backend
    expect(cache.takeServed('n', 'pro')).toBe(2);
  });

  it('consult answers a check in one lookup: the covering denial, or else the count to report', () => {
    const cache = new DenyCache(10, () => 0);
    expect(cache.consult('nobody', 'pro', true, false, 0)).toBe(0);
    cache.remember('t', 'pro', denialUntil(1000, 'tokens', 500));
    expect(cache.consult('t', 'pro', true, true, 500)).toMatchObject({ unit: 'tokens', tokens: 500 });
    expect(cache.consult('t', 'pro', true, true, 600)).toMatchObject({ unit: 'tokens' });
    // Not covered (a smaller reservation): goes to the backend with the 2 denials served so far.
    expect(cache.consult('t', 'pro', true, true, 100)).toBe(2);
    expect(cache.consult('t', 'pro', true, true, 500)).toMatchObject({ unit: 'tokens' });
    // A check that may not be served locally (caller requestId) still collects the count.
    expect(cache.consult('t', 'pro', false, true, 500)).toBe(1);
    expect(cache.takeServed('t', 'pro')).toBe(0);
  });
});

describe('deny cache and anomaly counting', () => {
  afterEach(() => jest.useRealTimers());

  it('predicts the attempts exactly while a creator is only denied, so the check it lets through reports', async () => {
    // Only the clock is faked: the limiter, its deny cache and the memory store all read Date.now.
    jest.useFakeTimers({
      now: 1_800_000_000_000,
      doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'hrtime', 'performance'],
    });
    const start = Date.now();
    const reports: unknown[] = [];
    const memory = new MemoryStore();
    let storeCalls = 0;
    const counting: RateLimitStore = {
      backend: memory.backend,
      mayResend: memory.mayResend,
      check: (request) => ((storeCalls += 1), memory.check(request)),
      reserve: (request) => ((storeCalls += 1), memory.reserve(request)),
      status: (request) => ((storeCalls += 1), memory.status(request)),
      settle: (request) => memory.settle(request),
      warmUp: () => memory.warmUp(),
      reset: (creatorId) => memory.reset(creatorId),
      close: () => memory.close(),
    };
    const limiter = createRateLimiter({
      store: counting,
      tiers: { hourly: { policies: [{ name: 'per-hour', unit: 'requests', limit: 3, windowSeconds: 3600 }] } },
      onAnomaly: (report) => reports.push(report),
    });
    for (let i = 0; i < 3; i += 1) await limiter.check('ageing', 'hourly');
    jest.setSystemTime(start + 4 * 60_000);
    await denial(limiter.check('ageing', 'hourly')); // reaches the store: 3 admissions + 1 denial = 4
    // Two minutes on, the admissions are older than 5 minutes, while the counter's window (opened
    // by that denial) is still open: it still holds them, and the cache's prediction stays exact.
    jest.setSystemTime(start + 6 * 60_000);
    await denial(limiter.check('ageing', 'hourly')); // 5, served locally
    await denial(limiter.check('ageing', 'hourly')); // 6, served locally
    expect(reports).toHaveLength(0);
    expect(storeCalls).toBe(4);
    await denial(limiter.check('ageing', 'hourly')); // 7 > 6: let through, and reported
    expect(storeCalls).toBe(5);
    expect(reports).toEqual([{ creatorId: 'ageing', tier: 'hourly', attempts: 7, threshold: 6, windowSeconds: 300 }]);
  });
});
