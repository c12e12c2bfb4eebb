/**
 * The local deny cache: denials served with zero backend commands until the exact retry time,
 * bounded, never caching an allow, cleared by reset and by settle.
 */
import { createRateLimiter, RateLimitError, type RateLimiter, type TierTable } from '../../lambda/rate-limit';
import { MemoryStore } from '../../lambda/rate-limit/store/memory-store';
import type { RateLimitStore } from '../../lambda/rate-limit/store/store';
import { DENIAL_COHERENCE_MS, DenyCache, type CachedDenial } from '../../lambda/rate-limit/resilience/deny-cache';
import { concurrently, REDIS_BACKENDS, sleep, useTestServers, type BackendUnderTest } from '../support/backends';

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
    if (source !== 'lua') seen.push(args[0].toLowerCase());
  });
  await action();
  await sleep(100);
  monitor.disconnect();
  return seen;
}

async function denial(promise: Promise<unknown>): Promise<RateLimitError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RateLimitError);
  return error as RateLimitError;
}

describe('deny cache on the ElastiCache backend', () => {
  let limiter: RateLimiter;
  beforeAll(() => {
    // Anomaly reporting off: crossing its threshold lets one check through on purpose (tested below).
    limiter = servers.limiter('elasticache', { tiers: TIERS, anomalyFactor: 0 });
  });

  it('serves repeated denials with zero Redis commands for up to a second, then re-asks once, until the reset', async () => {
    const [first] = [await limiter.check('cached', 'pair'), await limiter.check('cached', 'pair')];
    const deniedAt = Date.now();
    const original = await denial(limiter.check('cached', 'pair'));
    expect(original.reset).toBe(first.at + 2000);

    const commands = await clientCommands(async () => {
      for (let i = 0; i < 30 && Date.now() - deniedAt < DENIAL_COHERENCE_MS - 200; i += 1) {
        const served = await denial(limiter.check('cached', 'pair'));
        expect(served).toMatchObject({ reset: original.reset, policy: 'per-2s', limit: 2, remaining: 0 });
        expect(served.retryAfter).toBeGreaterThanOrEqual(1);
        expect(served.retryAfter).toBeLessThanOrEqual(original.retryAfter);
      }
    });
    expect(commands).toEqual([]);

    // Past the coherence bound (still inside the 2 s window): one call re-checks, then local again.
    await sleep(deniedAt + DENIAL_COHERENCE_MS + 20 - Date.now());
    const refreshed = await clientCommands(async () => {
      expect((await denial(limiter.check('cached', 'pair'))).reset).toBe(original.reset);
      expect((await denial(limiter.check('cached', 'pair'))).reset).toBe(original.reset);
    });
    expect(refreshed).toEqual(['evalsha']);
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
    checkedAt: 0,
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
    expect(cache.consult('a', 'pro', true, false, 0)).toBe(0); // dropped: nothing cached
    expect(cache.consult('d', 'pro', true, false, 0)).toMatchObject({ policy: 'p' });
  });

  it('covers only the checks the denial applies to', () => {
    const cache = new DenyCache(10, () => 0);
    cache.remember('t', 'pro', denialUntil(1000, 'tokens', 500));
    // Not covered: a number (the count to report) sends the check to the backend.
    expect(cache.consult('t', 'pro', true, true, 499)).toBe(0);
    expect(cache.consult('t', 'pro', true, true, 500)).toMatchObject({ unit: 'tokens' });
    expect(cache.consult('t', 'pro', true, false, 0)).toBe(1);
    cache.remember('c', 'pro', denialUntil(1000, 'concurrent'));
    expect(cache.consult('c', 'pro', true, false, 0)).toBe(0);
    expect(cache.consult('c', 'pro', true, true, 0)).toMatchObject({ unit: 'concurrent' });
    expect(cache.consult('c', 'business', true, true, 0)).toBe(0);
  });

  it('expires exactly at `until` and hands over the count of denials it served', () => {
    let now = 0;
    const cache = new DenyCache(10, () => now);
    cache.remember('x', 'pro', denialUntil(1000));
    now = 999;
    expect(cache.consult('x', 'pro', true, false, 0)).toMatchObject({ policy: 'p' });
    expect(cache.consult('x', 'pro', true, false, 0)).toMatchObject({ policy: 'p' });
    now = 1000;
    // Expired: the check goes to the backend carrying the 2 denials served locally.
    expect(cache.consult('x', 'pro', true, false, 0)).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('lets one check through when serving locally would cross the anomaly threshold unreported', () => {
    const cache = new DenyCache(10, () => 0);
    cache.remember('n', 'pro', { ...denialUntil(1000), anomaly: { attempts: 8, threshold: 10, endsAt: 300_000, warned: false } });
    expect(cache.consult('n', 'pro', true, false, 0)).toMatchObject({ policy: 'p' }); // attempt 9
    expect(cache.consult('n', 'pro', true, false, 0)).toMatchObject({ policy: 'p' }); // attempt 10
    expect(cache.consult('n', 'pro', true, false, 0)).toBe(2); // 11 > 10: to the backend, with the 2 served
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
    expect(cache.consult('t', 'pro', false, true, 500)).toBe(0); // the count was handed over once
  });
});

describe('DenyCache coherence', () => {
  const denial1s = (checkedAt: number): CachedDenial => ({
    until: 3_600_000,
    checkedAt,
    unit: 'requests',
    tokens: 0,
    retryAfter: 3600,
    limit: 1,
    remaining: 0,
    reset: 3_600_000,
    policy: 'p',
    anomaly: { attempts: 0, threshold: 0, endsAt: 0, warned: false },
  });

  it('serves a denial for less than DENIAL_COHERENCE_MS after the call that computed it, then picks one check to re-ask', async () => {
    let now = 0;
    const cache = new DenyCache(10, () => now);
    cache.remember('c', 'pro', denial1s(0));
    now = DENIAL_COHERENCE_MS - 1;
    expect(cache.consult('c', 'pro', true, false, 0)).toMatchObject({ policy: 'p' });
    now = DENIAL_COHERENCE_MS;
    expect(cache.consult('c', 'pro', true, false, 0)).toBe(1); // the refresher, with the 1 served
    let answer!: () => void;
    cache.track('c', 'pro', new Promise<void>((resolve) => (answer = resolve)));
    const waiting = cache.consult('c', 'pro', true, false, 0);
    expect(waiting).toBeInstanceOf(Promise);
    // The refresh is denied again: the new denial serves the checks that waited.
    cache.remember('c', 'pro', denial1s(now));
    answer();
    await waiting;
    expect(cache.consult('c', 'pro', true, false, 0)).toMatchObject({ checkedAt: DENIAL_COHERENCE_MS });
  });

  it('drops a stale denial that its refresh did not renew (admitted, or failed): the waiting checks ask themselves', async () => {
    const now = DENIAL_COHERENCE_MS;
    const cache = new DenyCache(10, () => now);
    cache.remember('c', 'pro', denial1s(0));
    expect(cache.consult('c', 'pro', true, false, 0)).toBe(0);
    cache.track('c', 'pro', Promise.reject(new Error('backend down')));
    const waiting = cache.consult('c', 'pro', true, false, 0);
    await waiting;
    expect(cache.size).toBe(0);
    expect(cache.consult('c', 'pro', true, false, 0)).toBe(0);
  });
});

describe('deny cache and anomaly counting', () => {
  afterEach(() => jest.useRealTimers());

  it('predicts the attempts exactly while a creator is only denied, so the check it lets through reports', async () => {
    // Only the clock is faked: the limiter, its deny cache and the memory store all read Date.now.
    jest.useFakeTimers({
      now: 1_800_000_000_000,
      doNotFake: [
        'nextTick',
        'queueMicrotask',
        'setImmediate',
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
        'hrtime',
        'performance',
      ],
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
      setOverride: (creatorId, override) => memory.setOverride(creatorId, override),
      getOverride: (creatorId) => memory.getOverride(creatorId),
      removeOverride: (creatorId) => memory.removeOverride(creatorId),
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
    // The cached denial is older than the coherence bound (1 s): this check re-asks the store.
    await denial(limiter.check('ageing', 'hourly')); // 5, counted by the store
    expect(storeCalls).toBe(5);
    await denial(limiter.check('ageing', 'hourly')); // 6, served locally
    expect(reports).toHaveLength(0);
    expect(storeCalls).toBe(5);
    await denial(limiter.check('ageing', 'hourly')); // 7 > 6: let through, and reported
    expect(storeCalls).toBe(6);
    expect(reports).toEqual([{ creatorId: 'ageing', tier: 'hourly', attempts: 7, threshold: 6, windowSeconds: 300 }]);
  });
});

/**
 * Deployed, check, settle and reset are separate Lambda functions, each with its own warm
 * containers and deny cache: two limiter instances on one Redis stand for two containers.
 */
describe.each(REDIS_BACKENDS)('deny cache across processes on the %s backend', (backend: BackendUnderTest) => {
  /** Scheduling slack on a loaded 2-core machine, on top of the 1-second guarantee. */
  const MARGIN_MS = 400;
  const HOURLY: TierTable = { hourly: { policies: [{ name: 'per-hour', unit: 'requests', limit: 2, windowSeconds: 3600 }] } };

  /** Polls `attempt` until it resolves; returns the ms from `since` to that success. */
  async function firstSuccessAfter(since: number, attempt: () => Promise<unknown>): Promise<number> {
    for (;;) {
      try {
        await attempt();
        return Date.now() - since;
      } catch (error) {
        if (!(error instanceof RateLimitError)) throw error;
        if (Date.now() - since > 5000) throw new Error('still denied 5 s after the change', { cause: error });
        await sleep(20);
      }
    }
  }

  it('a reset made through another process is honoured within 1 second', async () => {
    const keyPrefix = uniquePrefix();
    const checkContainer = servers.limiter(backend, { tiers: HOURLY, keyPrefix, anomalyFactor: 0 });
    const resetContainer = servers.limiter(backend, { tiers: HOURLY, keyPrefix });
    await checkContainer.check('reset-elsewhere', 'hourly');
    await checkContainer.check('reset-elsewhere', 'hourly');
    const denied = await denial(checkContainer.check('reset-elsewhere', 'hourly'));
    expect(denied.retryAfter).toBeGreaterThan(3500);
    await denial(checkContainer.check('reset-elsewhere', 'hourly')); // served from the cache

    await resetContainer.reset('reset-elsewhere');
    const resetAt = Date.now();
    expect(await firstSuccessAfter(resetAt, () => checkContainer.check('reset-elsewhere', 'hourly'))).toBeLessThanOrEqual(
      DENIAL_COHERENCE_MS + MARGIN_MS,
    );
  });

  it('tokens refunded by settles in another process are honoured within 1 second', async () => {
    const keyPrefix = uniquePrefix();
    const checkContainer = servers.limiter(backend, { keyPrefix });
    const settleContainer = servers.limiter(backend, { keyPrefix });
    // pro: 1M tokens a day. Four reservations of 250k fill it; a fifth is denied for a day.
    const held = [];
    for (let i = 0; i < 4; i += 1) held.push(await checkContainer.check('refunded', 'pro', { tokens: 250_000 }));
    const denied = await denial(checkContainer.check('refunded', 'pro', { tokens: 250_000 }));
    expect(denied.policy).toBe('tokens-per-day');
    // Unsettled reservations are the cause: the wait is bounded by their lease, not the day.
    expect(denied.reservationsInFlight).toBe(true);
    expect(denied.retryAfter).toBeLessThanOrEqual(90);

    for (const reservation of held) await settleContainer.settle('refunded', 'pro', reservation.requestId, 5_000);
    const settledAt = Date.now();
    const ms = await firstSuccessAfter(settledAt, () => checkContainer.check('refunded', 'pro', { tokens: 250_000 }));
    expect(ms).toBeLessThanOrEqual(DENIAL_COHERENCE_MS + MARGIN_MS);
  });

  it('denied traffic costs one backend call per creator and second, however many checks are in flight', async () => {
    const keyPrefix = uniquePrefix();
    const limiter = servers.limiter(backend, { tiers: HOURLY, keyPrefix, anomalyFactor: 0 });
    await limiter.check('busy-denied', 'hourly');
    await limiter.check('busy-denied', 'hourly');
    const deniedAt = Date.now();
    await denial(limiter.check('busy-denied', 'hourly'));
    const calls = await backendCalls(backend, async () => {
      // 2.5 s of denied traffic: bursts of 50 concurrent checks every 50 ms. Each second's first
      // burst after the bound finds a stale denial: one check re-asks, the others wait for it.
      while (Date.now() - deniedAt < 2500) {
        const outcomes = await concurrently(50, () => limiter.check('busy-denied', 'hourly'));
        expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof RateLimitError)).toBe(true);
        await sleep(50);
      }
    });
    // Refreshes at about 1 s and 2 s after the denial (a late burst may push the second past 2.5 s).
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(2);
  });

  let prefixes = 0;
  function uniquePrefix(): string {
    prefixes += 1;
    return `coh${process.pid}${backend[0]}${prefixes}`;
  }

  /** Backend calls made while `action` runs: Redis commands from clients (MONITOR) or REST requests. */
  async function backendCalls(which: BackendUnderTest, action: () => Promise<void>): Promise<number> {
    if (which === 'upstash') {
      servers.upstash.resetStats();
      await action();
      return servers.upstash.stats.httpRequests;
    }
    return (await clientCommands(action)).length;
  }
});
