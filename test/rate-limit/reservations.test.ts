/**
 * Reserve at admission, settle after the LLM call: token budgets and in-flight caps, on every
 * backend, with real servers.
 */
import { RateLimitError, type RateLimiter, type TierTable } from '../../lambda/rate-limit';
import { ALL_BACKENDS, concurrently, sleep, useTestServers } from '../support/backends';

const servers = useTestServers();

const TIERS: TierTable = {
  budget: {
    policies: [
      { name: 'requests', unit: 'requests', limit: 10_000, windowSeconds: 3600 },
      { name: 'tokens', unit: 'tokens', limit: 10_000, windowSeconds: 3600 },
    ],
  },
  capped: {
    policies: [
      { name: 'requests', unit: 'requests', limit: 10_000, windowSeconds: 3600 },
      { name: 'in-flight', unit: 'concurrent', limit: 5, leaseSeconds: 60 },
    ],
  },
  shortLease: {
    policies: [
      { name: 'tokens', unit: 'tokens', limit: 1000, windowSeconds: 3600 },
      { name: 'in-flight', unit: 'concurrent', limit: 1, leaseSeconds: 1 },
    ],
  },
  shortWindow: {
    policies: [{ name: 'tokens-2s', unit: 'tokens', limit: 1000, windowSeconds: 2 }],
  },
};

function tokensOf(status: { policies: readonly { name: string; used: number; reserved: number; remaining: number }[] }) {
  const policy = status.policies.find((p) => p.name.startsWith('tokens'))!;
  return { used: policy.used, reserved: policy.reserved, remaining: policy.remaining };
}

async function expectDenied(promise: Promise<unknown>): Promise<RateLimitError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RateLimitError);
  return error as RateLimitError;
}

describe.each(ALL_BACKENDS)('%s backend', (backend) => {
  let limiter: RateLimiter;
  beforeAll(() => {
    limiter = servers.limiter(backend, { tiers: TIERS, timeoutMs: 60_000 });
  });

  it('reserves tokens at admission and refunds exactly what was not used', async () => {
    const decision = await limiter.check('refund', 'budget', { tokens: 3000, requestId: 'r-1' });
    expect(decision).toMatchObject({ requestId: 'r-1', reservedTokens: 3000, duplicate: false });
    expect(tokensOf(decision)).toEqual({ used: 0, reserved: 3000, remaining: 7000 });
    const settled = await limiter.settle('refund', 'budget', 'r-1', 1200);
    expect(settled).toMatchObject({ outcome: 'settled', reservedTokens: 3000, chargedTokens: 1200 });
    expect(tokensOf(await limiter.status('refund', 'budget'))).toEqual({ used: 1200, reserved: 0, remaining: 8800 });
  });

  it('charges overage: the balance may go past the budget and the next admission waits', async () => {
    await limiter.check('over', 'budget', { tokens: 9000, requestId: 'o-1' });
    await limiter.settle('over', 'budget', 'o-1', 10_500);
    const status = await limiter.status('over', 'budget');
    expect(tokensOf(status)).toEqual({ used: 10_500, reserved: 0, remaining: 0 });
    const denied = await expectDenied(limiter.check('over', 'budget', { tokens: 0 }));
    expect(denied.policy).toBe('tokens');
    expect(denied.retryAfter).toBeGreaterThan(3500);
  });

  it('denies a reservation that does not fit and reserves nothing anywhere', async () => {
    await limiter.check('fit', 'budget', { tokens: 8000 });
    const denied = await expectDenied(limiter.check('fit', 'budget', { tokens: 2001 }));
    expect(denied).toMatchObject({ policy: 'tokens', limit: 10_000, remaining: 0 });
    const status = await limiter.status('fit', 'budget');
    expect(tokensOf(status)).toEqual({ used: 0, reserved: 8000, remaining: 2000 });
    expect(status.policies[0].used).toBe(1); // the denied request was not counted either
    await limiter.check('fit', 'budget', { tokens: 2000 });
  });

  it('settling twice changes nothing the second time', async () => {
    await limiter.check('twice', 'budget', { tokens: 500, requestId: 't-1' });
    await limiter.settle('twice', 'budget', 't-1', 100);
    const again = await limiter.settle('twice', 'budget', 't-1', 0);
    expect(again).toMatchObject({ outcome: 'already-settled', reservedTokens: 500, chargedTokens: 100 });
    expect(tokensOf(await limiter.status('twice', 'budget'))).toEqual({ used: 100, reserved: 0, remaining: 9900 });
  });

  it('a repeated admission with the same requestId returns the original decision and consumes nothing', async () => {
    const first = await limiter.check('retry', 'budget', { tokens: 700, requestId: 'dup-1' });
    for (let i = 0; i < 5; i += 1) {
      const replay = await limiter.check('retry', 'budget', { tokens: 700, requestId: 'dup-1' });
      expect(replay).toMatchObject({ requestId: 'dup-1', duplicate: true, reservedTokens: 700, allowed: true });
    }
    const status = await limiter.status('retry', 'budget');
    expect(status.policies[0].used).toBe(1);
    expect(tokensOf(status)).toEqual({ used: 0, reserved: 700, remaining: 9300 });
    expect(first.duplicate).toBe(false);
  });

  it('a settle answers with the usage right after it (tokens, in-flight slot), as a status read then would', async () => {
    for (const tier of ['budget', 'capped'] as const) {
      const creator = `after-${tier}`;
      await limiter.check(creator, tier, { tokens: 2500, requestId: 'a' });
      await limiter.check(creator, tier, { tokens: 400, requestId: 'b' });
      const { status } = await limiter.settleWithStatus(creator, tier, 'a', 1000);
      const read = await limiter.status(creator, tier);
      // Everything but the instant of the read.
      expect({ ...status, at: 0 }).toEqual({ ...read, at: 0 });
      expect(status.at).toBeLessThanOrEqual(read.at);
    }
    // 'a' settled at 1,000 tokens, 'b' still reserved; settling 'b' frees the last in-flight slot.
    const { status: budget } = await limiter.settleWithStatus('after-budget', 'budget', 'never-made', 1);
    expect(tokensOf(budget)).toEqual({ used: 1000, reserved: 400, remaining: 8600 });
    const { status: capped } = await limiter.settleWithStatus('after-capped', 'capped', 'b', 0);
    expect(capped.policies.find((p) => p.name === 'in-flight')).toMatchObject({ used: 0, remaining: 5 });
    expect(capped.policies[0]).toMatchObject({ name: 'requests', used: 2 });
  });

  it('unknown reservations settle as "unknown" and change nothing', async () => {
    const result = await limiter.settle('nobody', 'budget', 'never-made', 100);
    expect(result).toMatchObject({ outcome: 'unknown', chargedTokens: 0 });
    expect(tokensOf(await limiter.status('nobody', 'budget'))).toEqual({ used: 0, reserved: 0, remaining: 10_000 });
  });

  it('under concurrent reserve/settle the settled total never exceeds the budget', async () => {
    const outcomes = await concurrently(300, async (i) => {
      const decision = await limiter.check('race', 'budget', { tokens: 700, requestId: `race-${i}` });
      const actual = (i * 37) % 701; // deterministic spread of 0..700
      await limiter.settle('race', 'budget', decision.requestId, actual);
      return actual;
    });
    const charged = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failures = outcomes.filter((o) => o.status === 'rejected');
    expect(failures.map((f) => f.reason as unknown).filter((reason) => !(reason instanceof RateLimitError))).toEqual([]);
    const total = charged.reduce((sum, value) => sum + value, 0);
    expect(total).toBeLessThanOrEqual(10_000);
    expect(charged.length).toBeGreaterThanOrEqual(14); // 10,000 / 700
    expect(tokensOf(await limiter.status('race', 'budget'))).toEqual({ used: total, reserved: 0, remaining: 10_000 - total });
  });

  it('holds the in-flight cap exactly under 2,000 concurrent admissions, and settling frees a slot', async () => {
    const results = await concurrently(2000, (i) => limiter.check('flight', 'capped', { tokens: 0, requestId: `f-${i}` }));
    const allowed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(allowed).toHaveLength(5);
    const denials = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    expect(denials).toHaveLength(1995);
    expect(denials.filter((d) => !(d instanceof RateLimitError && d.policy === 'in-flight' && d.retryAfter === 1))).toEqual([]);

    await limiter.settle('flight', 'capped', allowed[0].requestId, 0);
    await limiter.check('flight', 'capped', { tokens: 0 });
    await expectDenied(limiter.check('flight', 'capped', { tokens: 0 }));
    // Plain checks (no reservation) hold no lease and are not held to the in-flight cap.
    await limiter.check('flight', 'capped');
  });

  it('an expired lease frees its slot and keeps its reserved charge, even when settled late', async () => {
    const held = await limiter.check('lease', 'shortLease', { tokens: 400, requestId: 'l-1' });
    expect(held.policies[1]).toMatchObject({ used: 1, remaining: 0 });
    await expectDenied(limiter.check('lease', 'shortLease', { tokens: 100 }));
    await sleep(held.policies[1].reset - Date.now() + 100);
    const next = await limiter.check('lease', 'shortLease', { tokens: 100, requestId: 'l-2' });
    expect(tokensOf(next)).toEqual({ used: 0, reserved: 500, remaining: 500 });
    const late = await limiter.settle('lease', 'shortLease', 'l-1', 50);
    expect(late).toMatchObject({ outcome: 'expired', reservedTokens: 400, chargedTokens: 400 });
    expect(tokensOf(await limiter.status('lease', 'shortLease'))).toEqual({ used: 400, reserved: 100, remaining: 500 });
  });

  it('token usage leaves the rolling window exactly, and retryAfter points at that moment', async () => {
    const first = await limiter.check('roll', 'shortWindow', { tokens: 600, requestId: 'w-1' });
    await sleep(500);
    await limiter.check('roll', 'shortWindow', { tokens: 300, requestId: 'w-2' });
    await limiter.settle('roll', 'shortWindow', 'w-2', 400);
    const denied = await expectDenied(limiter.check('roll', 'shortWindow', { tokens: 100 }));
    expect(denied.reset).toBe(first.at + 2000);
    await sleep(first.at + 2000 - Date.now() + 100);
    const after = await limiter.check('roll', 'shortWindow', { tokens: 100 });
    expect(tokensOf(after)).toEqual({ used: 400, reserved: 100, remaining: 500 });
  });
});
