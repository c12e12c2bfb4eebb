/**
 * Exactness under concurrency, for any Redis deployment: thousands of checks in flight at once must
 * admit exactly the limit. Run against single-node Redis (both transports) and a Redis Cluster.
 */
import { RateLimitError, type TierTable } from '../../lambda/rate-limit';
import { concurrently, type LimiterFactory } from './backends';

/** One policy: 100 requests per hour. */
export const SINGLE: TierTable = {
  hundred: { policies: [{ name: 'requests-per-hour', unit: 'requests', limit: 100, windowSeconds: 3600 }] },
};

/** Registers the exactness tests for the backend `newLimiter` builds. */
export function exactnessScenarios(newLimiter: LimiterFactory): void {
  it.each([1, 2, 3])('admits exactly 100 of 2,000 concurrent checks for one creator (run %i)', async (run) => {
    // A deadline far above what 2,000 in-flight calls need on a loaded 2-core machine: this test is
    // about exactness, and every call must come back as an allow or a RateLimitError.
    const limiter = newLimiter({ tiers: SINGLE, timeoutMs: 60_000 });
    const results = await concurrently(2000, () => limiter.check(`crowd-${run}`, 'hundred'));
    const allowed = results.filter((r) => r.status === 'fulfilled');
    const denied = results.filter((r) => r.status === 'rejected' && r.reason instanceof RateLimitError);
    expect(allowed).toHaveLength(100);
    expect(denied).toHaveLength(1900);
    expect((await limiter.status(`crowd-${run}`, 'hundred')).policies[0].used).toBe(100);
  });

  it('admits exactly 100 when checks with and without a requestId (recorded or not) interleave', async () => {
    const limiter = newLimiter({ tiers: SINGLE, timeoutMs: 60_000 });
    const results = await concurrently(2000, (i) =>
      i % 2 === 0 ? limiter.check('mixed', 'hundred') : limiter.check('mixed', 'hundred', { requestId: `mixed-${i}` }),
    );
    const allowed = results.filter((r) => r.status === 'fulfilled');
    expect(allowed).toHaveLength(100);
    expect(results.filter((r) => r.status === 'rejected' && !(r.reason instanceof RateLimitError))).toHaveLength(0);
    const status = await limiter.status('mixed', 'hundred');
    expect(status.policies[0].used).toBe(100);
    // Both kinds report the same reset: when the first admission of the hour leaves it.
    expect(status.reset).toBe(Math.min(...allowed.map((r) => (r as PromiseFulfilledResult<{ at: number }>).value.at)) + 3600_000);
  });

  it('admits exactly the limit across many creators at once', async () => {
    const limiter = newLimiter({ tiers: SINGLE, timeoutMs: 60_000 });
    const results = await concurrently(2000, (i) => limiter.check(`many-${i % 10}`, 'hundred'));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1000);
    for (let c = 0; c < 10; c += 1) {
      expect((await limiter.status(`many-${c}`, 'hundred')).remaining).toBe(0);
    }
  });
}
