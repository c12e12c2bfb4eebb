/**
 * The memory store forgets what no longer matters: with a fake clock, a million distinct creators
 * over time leave a bounded number of entries (counted in the store's map, not measured on the heap).
 */
import { MemoryStore } from '../../../lambda/rate-limit/store/memory-store';
import type { PolicySpec } from '../../../lambda/rate-limit/store/store';

const POLICIES: PolicySpec[] = [
  { name: 'per-second', kind: 'requests', limit: 5, windowMs: 1000 },
  { name: 'tokens', kind: 'tokens', limit: 1000, windowMs: 2000 },
  { name: 'in-flight', kind: 'concurrent', limit: 2, windowMs: 1500 },
];
const anomaly = { threshold: 10, locallyDenied: 0 };

it('a million distinct creators over time leave a bounded number of entries', async () => {
  let now = 1_900_000_000_000;
  const store = new MemoryStore(() => now);
  let largest = 0;
  for (let i = 0; i < 1_000_000; i += 1) {
    const creatorId = `creator-${i}`;
    now += 1;
    if (i % 10 === 0) {
      const record = { requestId: `r-${i}`, retentionMs: 2000, leaseMs: 1500 };
      await store.reserve({ creatorId, policies: POLICIES, anomaly, record, tokens: 10, tokenHistoryMs: 2000 });
    } else if (i % 10 === 1) {
      await store.status({ creatorId, policies: POLICIES });
    } else {
      await store.check({ creatorId, policies: POLICIES, anomaly, record: undefined });
    }
    largest = Math.max(largest, store.creatorCount);
  }
  // Creators whose state still matters: those of the last 2 seconds (2,000 at 1 ms apart), minus
  // the status readers (who leave nothing), plus what the sweep has not reached yet.
  expect(largest).toBeLessThanOrEqual(2 * 2000);
  // Much later, a few calls clear everything that is left.
  now += 60_000;
  for (let i = 0; i < 2000; i += 1) await store.status({ creatorId: 'late-reader', policies: POLICIES });
  expect(store.creatorCount).toBe(0);
}, 120_000);

it('a status read of a creator with no state leaves nothing behind', async () => {
  const store = new MemoryStore(() => 1_900_000_000_000);
  for (let i = 0; i < 1000; i += 1) await store.status({ creatorId: `reader-${i}`, policies: POLICIES });
  expect(store.creatorCount).toBe(0);
});
