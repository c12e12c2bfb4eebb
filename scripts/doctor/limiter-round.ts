/**
 * The end-to-end check: the library itself (createRateLimiter with the options the functions would
 * use) admits, reports, settles and resets a throwaway creator on the real backend. The reset
 * removes the creator's usage (a second reset runs if any step failed half-way); its record is
 * retired by the reset generation and expires on its own.
 */
import { randomBytes } from 'node:crypto';

import { createRateLimiter, DEFAULT_TIERS, type RateLimitStatus } from '../../lambda/rate-limit';
import { fail, pass, type CheckOutcome } from './report';
import type { ResolvedTarget } from './target';

/** The round checks behaviour, not speed (the latency check does that): a slow first script load must not fail it. */
const ROUND_DEADLINE_FLOOR_MS = 5000;
const RESERVED_TOKENS = 10;
const ACTUAL_TOKENS = 4;

export function chooseTier(target: ResolvedTarget, requested: string | undefined): string {
  const tiers = Object.keys(target.limiterOptions.tiers ?? DEFAULT_TIERS);
  if (requested !== undefined) {
    if (!tiers.includes(requested)) throw new Error(`--tier ${requested} is not in the tier table (${tiers.join(', ')})`);
    return requested;
  }
  return tiers.includes('pro') ? 'pro' : tiers[0];
}

export async function runLimiterRound(target: ResolvedTarget, tier: string): Promise<CheckOutcome> {
  const warnings: string[] = [];
  const limiter = createRateLimiter({
    ...target.limiterOptions,
    timeoutMs: Math.max(target.timeoutMs, ROUND_DEADLINE_FLOOR_MS),
    failMode: 'closed',
    // Every step must reach the backend: no cached denial, no breaker short-circuit.
    denyCache: false,
    circuitBreaker: false,
    logger: { warn: (message) => warnings.push(message), error: (message) => warnings.push(message) },
  });
  const creatorId = `doctor-${randomBytes(6).toString('hex')}`;
  const requestId = `${creatorId}-request`;
  let cleaned = false;
  try {
    const before = await limiter.status(creatorId, tier);
    const again = await limiter.status(creatorId, tier);
    if (!sameUsage(before, again))
      return fail(`status consumed quota on ${creatorId}: remaining ${before.remaining} then ${again.remaining}`);

    const decision = await limiter.check(creatorId, tier, { tokens: RESERVED_TOKENS, requestId });
    const afterCheck = await limiter.status(creatorId, tier);
    if (decision.degraded) return fail(`the check on ${creatorId} was let through in degraded mode, not decided by the backend`);
    if (!(afterCheck.remaining < before.remaining)) {
      return fail(`check on ${creatorId} was admitted but status still shows remaining ${afterCheck.remaining} (was ${before.remaining})`);
    }

    const settled = await limiter.settle(creatorId, tier, decision.requestId, ACTUAL_TOKENS);
    if (settled.outcome !== 'settled' || settled.chargedTokens !== ACTUAL_TOKENS) {
      return fail(
        `settle of ${requestId} answered ${settled.outcome} charging ${settled.chargedTokens} tokens (expected settled, ${ACTUAL_TOKENS})`,
      );
    }

    await limiter.reset(creatorId);
    cleaned = true;
    const afterReset = await limiter.status(creatorId, tier);
    const unrestored = afterReset.policies.filter((policy) => policy.remaining !== policy.limit);
    if (unrestored.length > 0) {
      return fail(`after reset, ${unrestored.map((policy) => `${policy.name} has ${policy.remaining} of ${policy.limit}`).join(', ')}`);
    }
    const note = warnings.length > 0 ? `; the library logged: ${warnings.join(' | ')}` : '';
    return pass(
      `tier ${tier} on ${creatorId}: check admitted (remaining ${before.remaining} -> ${afterCheck.remaining}), ` +
        `status consumed nothing, settle charged ${ACTUAL_TOKENS} of ${RESERVED_TOKENS} reserved tokens, reset restored every policy (its record is retired and expires on its own)${note}`,
    );
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return fail(`the library could not complete the round on ${creatorId}: ${detail}`);
  } finally {
    if (!cleaned) await limiter.reset(creatorId).catch(() => undefined);
    await limiter.close();
  }
}

function sameUsage(a: RateLimitStatus, b: RateLimitStatus): boolean {
  return a.policies.every((policy, index) => policy.used === b.policies[index]?.used && policy.reserved === b.policies[index]?.reserved);
}
