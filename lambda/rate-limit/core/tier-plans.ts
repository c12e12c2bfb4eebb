/**
 * What each tier needs on every call, computed once per tier: checks sit on every AI request.
 */
import type { PolicySpec } from '../store/store';
import { leaseSecondsOf, retentionSecondsOf, smallestTokenLimit, toPolicySpecs } from './policies';
import { headlinePolicyIndex } from './tiers';
import type { TierDefinition } from './types';

export interface TierPlan {
  readonly headlineIndex: number;
  /** The smallest token budget: no single reservation may exceed it. */
  readonly tokenCap: number | undefined;
  /** Attempts per anomaly window above which an anomaly is reported; 0 disables. */
  readonly anomalyThreshold: number;
  readonly retentionMs: number;
  readonly leaseMs: number;
  readonly policies: readonly PolicySpec[];
}

export function tierPlanner(defaultLeaseSeconds: number, anomalyFactor: number): (tier: TierDefinition) => TierPlan {
  const plans = new WeakMap<TierDefinition, TierPlan>();
  return (tier) => {
    let plan = plans.get(tier);
    if (!plan) {
      const leaseSeconds = leaseSecondsOf(tier, defaultLeaseSeconds);
      const headlineIndex = headlinePolicyIndex(tier);
      const headline = tier.policies[headlineIndex];
      plan = {
        headlineIndex,
        tokenCap: smallestTokenLimit(tier),
        // Anomalies are counted on request admissions: a tier headlined by another unit has none.
        anomalyThreshold: headline.unit === 'requests' && anomalyFactor > 0 ? Math.ceil(headline.limit * anomalyFactor) : 0,
        retentionMs: retentionSecondsOf(tier, leaseSeconds) * 1000,
        leaseMs: leaseSeconds * 1000,
        policies: toPolicySpecs(tier),
      };
      plans.set(tier, plan);
    }
    return plan;
  };
}
