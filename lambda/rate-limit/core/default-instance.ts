/**
 * The module-level functions of the public API, bound to a limiter created on first use from the
 * environment (so importing the library never throws, and one client serves every call).
 */
import type { RateLimiter } from './limiter';
import type {
  CheckOptions,
  CreatorId,
  CreatorOverride,
  CreatorOverrideInput,
  RateLimitDecision,
  RateLimitStatus,
  SettleResult,
  Tier,
} from './types';

/** Function properties, not methods: the entry modules export them destructured. */
export interface BoundRateLimitFunctions {
  readonly checkCreatorRateLimit: (creatorId: CreatorId, tier?: Tier, options?: CheckOptions) => Promise<RateLimitDecision>;
  readonly getRateLimitStatus: (creatorId: CreatorId, tier?: Tier) => Promise<RateLimitStatus>;
  readonly settleCreatorUsage: (creatorId: CreatorId, tier: Tier, requestId: string, actualTokens: number) => Promise<SettleResult>;
  readonly resetCreatorRateLimit: (creatorId: CreatorId) => Promise<void>;
  /** Per-creator limits at runtime (administrative): see RateLimiter.setOverride. */
  readonly setCreatorOverride: (creatorId: CreatorId, override: CreatorOverrideInput) => Promise<CreatorOverride>;
  readonly getCreatorOverride: (creatorId: CreatorId) => Promise<CreatorOverride | undefined>;
  readonly removeCreatorOverride: (creatorId: CreatorId) => Promise<boolean>;
  /** The limiter behind these functions (created on first call). */
  readonly getDefaultRateLimiter: () => RateLimiter;
}

/** `fromEnvironment` builds the entry's limiter from the environment, on the first call. */
export function bindDefaultRateLimiter(fromEnvironment: () => RateLimiter): BoundRateLimitFunctions {
  let limiter: RateLimiter | undefined;
  const instance = (): RateLimiter => (limiter ??= fromEnvironment());
  return {
    // async, so a configuration error surfaces as a rejection like every other failure.
    checkCreatorRateLimit: async (creatorId, tier, options) => instance().check(creatorId, tier, options),
    getRateLimitStatus: async (creatorId, tier) => instance().status(creatorId, tier),
    settleCreatorUsage: async (creatorId, tier, requestId, actualTokens) => instance().settle(creatorId, tier, requestId, actualTokens),
    resetCreatorRateLimit: async (creatorId) => instance().reset(creatorId),
    setCreatorOverride: async (creatorId, override) => instance().setOverride(creatorId, override),
    getCreatorOverride: async (creatorId) => instance().getOverride(creatorId),
    removeCreatorOverride: async (creatorId) => instance().removeOverride(creatorId),
    getDefaultRateLimiter: instance,
  };
}
