/**
 * Web-standard Responses for the edge examples, built by the same code as the Lambda API's responses
 * (problem+json bodies, RateLimit and Retry-After headers), so a denial looks the same whichever way
 * a client reaches the limiter.
 */
import type { RateLimitError, RateLimitStatus, TierDefinition } from '../../lambda/rate-limit/upstash';
import { serviceUnavailable, tooManyRequests, type ApiResponse } from '../../lambda/shared/http';
import { statusHeaders } from '../../lambda/shared/rate-limit-headers';

function toWebResponse(response: ApiResponse): Response {
  return new Response(response.body, { status: response.statusCode, headers: response.headers });
}

/** 429 with Retry-After, RateLimit-Policy, RateLimit and X-RateLimit-* headers and a problem+json body. */
export function rateLimitedResponse(error: RateLimitError, tier: TierDefinition | undefined): Response {
  return toWebResponse(tooManyRequests(error, tier));
}

/** 503 with Retry-After: the backend did not answer and the fail mode is closed (never a 429). */
export function unavailableResponse(retryAfter: number): Response {
  return toWebResponse(serviceUnavailable(retryAfter));
}

/** JSON with the creator's usage as RateLimit headers. */
export function jsonWithUsage(body: unknown, status: RateLimitStatus): Response {
  const response = Response.json(body);
  for (const [name, value] of Object.entries(statusHeaders(status))) response.headers.set(name, value);
  response.headers.set('Cache-Control', 'no-store');
  return response;
}

/** 400 problem+json naming what is missing. */
export function badRequest(detail: string): Response {
  return new Response(
    JSON.stringify({ type: 'urn:creator-rate-limit:problem:invalid-request', title: 'Invalid request', status: 400, detail }),
    {
      status: 400,
      headers: { 'Content-Type': 'application/problem+json; charset=utf-8' },
    },
  );
}
