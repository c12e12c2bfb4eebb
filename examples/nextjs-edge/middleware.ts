/**
 * Next.js middleware (edge runtime): refuses an over-limit creator before the route runs, with a 429
 * carrying Retry-After and RateLimit headers. It counts one request; the route reserves and settles
 * the LLM tokens. Requests it lets through continue to the route (returning nothing = continue).
 *
 * Environment: UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN (Vercel project settings).
 */
import { RateLimitError, RateLimitInputError, RateLimitUnavailableError } from '../../lambda/rate-limit/upstash';
import { badRequest, rateLimitedResponse, unavailableResponse } from '../shared/edge-responses';
import { REQUEST_TIERS, requestLimiter } from './rate-limiters';

export const config = { matcher: '/api/:path*' };

export async function middleware(request: Request): Promise<Response | undefined> {
  const creatorId = request.headers.get('x-creator-id');
  if (!creatorId) return badRequest('x-creator-id header is required');
  const tier = request.headers.get('x-creator-tier') ?? 'pro';
  try {
    await requestLimiter().check(creatorId, tier);
    return undefined;
  } catch (error) {
    if (error instanceof RateLimitError) return rateLimitedResponse(error, REQUEST_TIERS[tier]);
    if (error instanceof RateLimitUnavailableError) return unavailableResponse(error.retryAfter);
    if (error instanceof RateLimitInputError) return badRequest(error.message);
    throw error;
  }
}
