/**
 * The limiters of the Next.js example, one per isolate. Next.js inlines process.env values at build
 * time for the edge runtime; they are read on first use, not at import.
 *
 * Two tier tables on one database: the middleware counts requests per creator; the route reserves
 * and settles LLM tokens (and holds an in-flight slot while the model runs). Their policies have
 * different names, so they never count the same thing twice.
 */
import { createRateLimiter, DEFAULT_TIERS, type RateLimiter, type TierTable } from '../../lambda/rate-limit/upstash';

function upstash(): { url: string; token: string } {
  const url = process.env.UPSTASH_REDIS_REST_URL;
  const token = process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !token) throw new Error('Set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN');
  return { url, token };
}

/** Keeps only the policies of `units` from every tier of the default table. */
function tiersOf(units: readonly string[]): TierTable {
  return Object.fromEntries(
    Object.entries(DEFAULT_TIERS).map(([tier, definition]) => [
      tier,
      { policies: definition.policies.filter((policy) => units.includes(policy.unit)) },
    ]),
  );
}

/** Requests per hour only: what the middleware counts. */
export const REQUEST_TIERS = tiersOf(['requests']);
/** LLM tokens and in-flight calls: what the route reserves and settles. */
export const TOKEN_TIERS = tiersOf(['tokens', 'concurrent']);

let requests: RateLimiter | undefined;
let tokens: RateLimiter | undefined;

/** Requests per hour, checked by the middleware. */
export function requestLimiter(): RateLimiter {
  requests ??= createRateLimiter({ backend: 'upstash', upstash: upstash(), tiers: REQUEST_TIERS, failMode: 'closed', timeoutMs: 1500 });
  return requests;
}

/** LLM tokens and in-flight calls, reserved and settled by the route. */
export function tokenLimiter(): RateLimiter {
  tokens ??= createRateLimiter({ backend: 'upstash', upstash: upstash(), tiers: TOKEN_TIERS, failMode: 'closed', timeoutMs: 1500 });
  return tokens;
}
