/**
 * The tier of an administrative route (reset, overrides): it only chooses the policies the response's
 * rate-limit headers describe, and it is checked before anything changes, so a mistyped tier never
 * erases or overrides and then fails.
 */
import type { OperationContext } from '../../shared/api-handler';
import { BadRequestError } from '../../shared/request';

export function headerTier({ limiter, useTier }: OperationContext, tier: string): string {
  if (!Object.prototype.hasOwnProperty.call(limiter.tiers, tier)) {
    const names = Object.keys(limiter.tiers).map((name) => `"${name}"`);
    throw new BadRequestError('tier', `must be one of ${names.join(', ')}`);
  }
  useTier(tier);
  return tier;
}
