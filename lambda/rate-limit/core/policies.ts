/**
 * Translating tier definitions into what a store evaluates, and store answers back into the
 * public shapes (PolicyStatus and friends).
 */
import { requestLogName, type PolicySpec, type PolicyUsage } from '../store/store';
import { DEFAULT_LEASE_SECONDS } from './tiers';
import type { Policy, PolicyStatus, TierDefinition, TierTable } from './types';

export function toPolicySpecs(tier: TierDefinition): PolicySpec[] {
  return tier.policies.map((policy) => ({
    name: policy.name,
    kind: policy.unit,
    limit: policy.limit,
    windowMs: windowSecondsOf(policy) * 1000,
    shadow: policy.mode === 'shadow',
  }));
}

export function windowSecondsOf(policy: Policy): number {
  return policy.unit === 'concurrent' ? policy.leaseSeconds : policy.windowSeconds;
}

/** Lease of a reservation: the tier's in-flight lease, else the limiter default. */
export function leaseSecondsOf(tier: TierDefinition, fallback = DEFAULT_LEASE_SECONDS): number {
  const concurrent = tier.policies.find((policy) => policy.unit === 'concurrent');
  return concurrent?.unit === 'concurrent' ? concurrent.leaseSeconds : fallback;
}

/** How long records are kept: long enough to replay any admission still counted, and to settle it. */
export function retentionSecondsOf(tier: TierDefinition, leaseSeconds: number): number {
  return Math.max(leaseSeconds, ...tier.policies.map(windowSecondsOf));
}

/** How long token entries are kept: the longest token window of any tier, so usage carries across plan changes. */
export function tokenHistorySecondsOf(tiers: TierTable): number {
  const windows = Object.values(tiers).flatMap((tier) =>
    tier.policies.flatMap((policy) => (policy.unit === 'tokens' ? [policy.windowSeconds] : [])),
  );
  return Math.max(0, ...windows);
}

/** The log name of every request policy of a table (shadow ones have their own): a reset deletes the log of each. */
export function requestPolicyNamesOf(tiers: TierTable): string[] {
  const specs = Object.values(tiers).flatMap((tier) => toPolicySpecs(tier).filter((spec) => spec.kind === 'requests'));
  return [...new Set(specs.map(requestLogName))];
}

/** The smallest enforcing token budget (a shadow budget never refuses a reservation). */
export function smallestTokenLimit(tier: TierDefinition): number | undefined {
  const limits = tier.policies.filter((policy) => policy.unit === 'tokens' && policy.mode !== 'shadow').map((policy) => policy.limit);
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

export function toPolicyStatuses(tier: TierDefinition, usage: readonly PolicyUsage[]): PolicyStatus[] {
  return tier.policies.map((policy, index) => {
    const { used, reserved, reset } = usage[index];
    // The store answers with the limit it applied: the tier's, or the creator's override.
    const limit = usage[index].limit ?? policy.limit;
    const status: PolicyStatus = {
      name: policy.name,
      unit: policy.unit,
      limit,
      used,
      reserved,
      remaining: Math.max(0, limit - used - reserved),
      reset,
      windowSeconds: windowSecondsOf(policy),
    };
    const shadow = policy.mode === 'shadow' ? { shadow: true as const } : {};
    const overridden = limit !== policy.limit ? { tierLimit: policy.limit } : {};
    return { ...status, ...shadow, ...overridden };
  });
}
