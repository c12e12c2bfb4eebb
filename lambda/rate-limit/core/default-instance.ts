/**
 * The module-level functions of the public API, bound to a limiter created on first use from the
 * environment (so importing the library never throws, and one client serves every call).
 */
import type { RateLimiter } from './limiter';
import type { CheckOptions, CreatorId, RateLimitDecision, RateLimitStatus, SettleResult, Tier } from './types';

export interface BoundRateLimitFunctions {
  checkCreatorRateLimit(creatorId: CreatorId, tier?: Tier, options?: CheckOptions): Promise<RateLimitDecision>;
  getRateLimitStatus(creatorId: CreatorId, tier?: Tier): Promise<RateLimitStatus>;
  settleCreatorUsage(creatorId: CreatorId, tier: Tier, requestId: string, actualTokens: number): Promise<SettleResult>;
  resetCreatorRateLimit(creatorId: CreatorId): Promise<void>;
  /** The limiter behind these functions (created on first call). */
  getDefaultRateLimiter(): RateLimiter;
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
    getDefaultRateLimiter: instance,
  };
}
