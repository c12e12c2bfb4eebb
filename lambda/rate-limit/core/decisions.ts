/**
 * Store outcomes turned into the public shapes: statuses, decisions and denials.
 */
import type { PolicyUsage } from '../store/store';
import { RateLimitError, type RateLimitErrorDetails } from './errors';
import { toPolicyStatuses } from './policies';
import type { RateLimitDecision, RateLimitStatus, ShadowDenial, Tier, TierDefinition } from './types';

export function statusOf(
  creatorId: string,
  tierName: Tier,
  tier: TierDefinition,
  headlineIndex: number,
  now: number,
  usage: readonly PolicyUsage[],
): RateLimitStatus {
  const policies = toPolicyStatuses(tier, usage);
  const headline = policies[headlineIndex];
  return { creatorId, tier: tierName, at: now, limit: headline.limit, remaining: headline.remaining, reset: headline.reset, policies };
}

/** What a caller gets when the backend could not answer and the fail mode let it through. */
export function degradedStatus(creatorId: string, tierName: Tier, tier: TierDefinition, headlineIndex: number): RateLimitStatus {
  const now = Date.now();
  return statusOf(
    creatorId,
    tierName,
    tier,
    headlineIndex,
    now,
    tier.policies.map(() => ({ used: 0, reserved: 0, reset: now })),
  );
}

export function decisionOf(
  status: RateLimitStatus,
  requestId: string,
  details: { reservedTokens: number; degraded: boolean; replayOf?: { admittedAt: number }; shadow?: readonly ShadowDenial[] },
): RateLimitDecision {
  // One object literal: copying a finished decision again (to add the optional fields) was the
  // largest share of the library's own CPU per check.
  return {
    ...status,
    allowed: true,
    requestId,
    reservedTokens: details.reservedTokens,
    duplicate: details.replayOf !== undefined,
    degraded: details.degraded,
    ...(details.shadow && details.shadow.length > 0 && { shadow: details.shadow }),
    ...(details.replayOf && { replayOf: details.replayOf }),
  };
}

/**
 * A denial is an expected answer, not a fault: its stack trace says nothing, and capturing one is
 * most of the cost of a denial served from the local cache.
 */
export function denial(details: RateLimitErrorDetails): RateLimitError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new RateLimitError(details);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
