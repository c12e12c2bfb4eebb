/**
 * Next.js route handler on the edge runtime: POST /api/generate with the prompt as body. The
 * middleware has already counted the request; this reserves the estimated LLM tokens, calls the
 * model and settles with what it used. Over the token budget (or too many calls in flight): 429.
 */
import { RateLimitError, RateLimitInputError, RateLimitUnavailableError } from '../../../../../lambda/rate-limit/upstash';
import { badRequest, jsonWithUsage, rateLimitedResponse, unavailableResponse } from '../../../../shared/edge-responses';
import { estimateTokens, generate, MAX_OUTPUT_TOKENS } from '../../../../shared/model';
import { TOKEN_TIERS, tokenLimiter } from '../../../rate-limiters';

export const runtime = 'edge';

export async function POST(request: Request): Promise<Response> {
  const creatorId = request.headers.get('x-creator-id');
  if (!creatorId) return badRequest('x-creator-id header is required');
  const tier = request.headers.get('x-creator-tier') ?? 'pro';
  const prompt = await request.text();
  const limiter = tokenLimiter();

  let requestId: string;
  try {
    const decision = await limiter.check(creatorId, tier, {
      tokens: estimateTokens(prompt) + MAX_OUTPUT_TOKENS,
      requestId: request.headers.get('idempotency-key') ?? undefined,
    });
    requestId = decision.requestId;
  } catch (error) {
    if (error instanceof RateLimitError) return rateLimitedResponse(error, TOKEN_TIERS[tier]);
    if (error instanceof RateLimitUnavailableError) return unavailableResponse(error.retryAfter);
    if (error instanceof RateLimitInputError) return badRequest(error.message);
    throw error;
  }

  const completion = await generate(prompt);
  const settled = await limiter.settleWithStatus(creatorId, tier, requestId, completion.usedTokens);
  return jsonWithUsage({ text: completion.text, usedTokens: completion.usedTokens, requestId }, settled.status);
}
