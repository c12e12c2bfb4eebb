/**
 * A Cloudflare Worker that rate-limits an AI endpoint per creator with the Upstash backend.
 *
 *   POST /generate   headers: x-creator-id (required), x-creator-tier (default pro), idempotency-key (optional)
 *                    body: the prompt
 *
 * Reserves the estimated tokens at admission, calls the model, then settles with the tokens really
 * used. A denial is a 429 with Retry-After and RateLimit headers; an unreachable backend is a 503
 * (fail mode closed), never a 429.
 *
 * Configure with `wrangler secret put UPSTASH_REDIS_REST_URL` and `... UPSTASH_REDIS_REST_TOKEN`.
 */
import {
  createRateLimiter,
  DEFAULT_TIERS,
  RateLimitError,
  RateLimitInputError,
  RateLimitUnavailableError,
  type RateLimiter,
} from '../../lambda/rate-limit/upstash';
import { badRequest, jsonWithUsage, rateLimitedResponse, unavailableResponse } from '../shared/edge-responses';
import { estimateTokens, generate, MAX_OUTPUT_TOKENS } from '../shared/model';

export interface Env {
  readonly UPSTASH_REDIS_REST_URL: string;
  readonly UPSTASH_REDIS_REST_TOKEN: string;
}

// One limiter per isolate, reused by every request it serves (Workers keep module state warm).
let limiter: RateLimiter | undefined;

function limiterFor(env: Env): RateLimiter {
  limiter ??= createRateLimiter({
    backend: 'upstash',
    upstash: { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN },
    failMode: 'closed',
    timeoutMs: 1500,
  });
  return limiter;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== '/generate' || request.method !== 'POST') return new Response('Not found', { status: 404 });
    const creatorId = request.headers.get('x-creator-id');
    if (!creatorId) return badRequest('x-creator-id header is required');
    const tier = request.headers.get('x-creator-tier') ?? 'pro';
    const prompt = await request.text();
    const rateLimiter = limiterFor(env);

    let requestId: string;
    try {
      const decision = await rateLimiter.check(creatorId, tier, {
        tokens: estimateTokens(prompt) + MAX_OUTPUT_TOKENS,
        requestId: request.headers.get('idempotency-key') ?? undefined,
      });
      requestId = decision.requestId;
    } catch (error) {
      if (error instanceof RateLimitError) return rateLimitedResponse(error, DEFAULT_TIERS[tier]);
      if (error instanceof RateLimitUnavailableError) return unavailableResponse(error.retryAfter);
      if (error instanceof RateLimitInputError) return badRequest(error.message);
      throw error;
    }

    const completion = await generate(prompt);
    const settled = await rateLimiter.settleWithStatus(creatorId, tier, requestId, completion.usedTokens);
    return jsonWithUsage({ text: completion.text, usedTokens: completion.usedTokens, requestId }, settled.status);
  },
};
