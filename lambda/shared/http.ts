/**
 * Response builders: JSON for successes, RFC 9457 problem details for everything else.
 *
 * Every response says `Cache-Control: no-store`: a decision describes one moment and must never be
 * served from a cache.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { RateLimitError, TierDefinition } from './library';
import { deniedHeaders } from './rate-limit-headers';

export type ApiResponse = APIGatewayProxyResult & { headers: Record<string, string> };

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Problem types. Quota-exceeded is the one registered by the RateLimit draft; the others are ours. */
export const PROBLEM_TYPE = Object.freeze({
  quotaExceeded: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
  invalidRequest: 'urn:creator-rate-limit:problem:invalid-request',
  notFound: 'urn:creator-rate-limit:problem:not-found',
  methodNotAllowed: 'urn:creator-rate-limit:problem:method-not-allowed',
  payloadTooLarge: 'urn:creator-rate-limit:problem:payload-too-large',
  unsupportedMediaType: 'urn:creator-rate-limit:problem:unsupported-media-type',
  forbidden: 'urn:creator-rate-limit:problem:forbidden',
  backendUnavailable: 'urn:creator-rate-limit:problem:backend-unavailable',
  creatorDataError: 'urn:creator-rate-limit:problem:creator-data-error',
  misconfigured: 'urn:creator-rate-limit:problem:misconfigured',
  internal: 'urn:creator-rate-limit:problem:internal-error',
});

const COMMON_HEADERS = { 'Cache-Control': 'no-store' };

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    statusCode,
    headers: { 'Content-Type': JSON_CONTENT_TYPE, ...COMMON_HEADERS, ...headers },
    body: JSON.stringify(body),
  };
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly [extension: string]: unknown;
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): ApiResponse {
  return {
    statusCode: problem.status,
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...COMMON_HEADERS, ...headers },
    body: JSON.stringify(problem),
  };
}

export interface FieldError {
  readonly field: string;
  readonly detail: string;
}

/** 400 naming the offending field; `errors` lists every problem found when there are several. */
export function badRequest(errors: readonly [FieldError, ...FieldError[]]): ApiResponse {
  const [first] = errors;
  return problemResponse({
    type: PROBLEM_TYPE.invalidRequest,
    title: 'Invalid request',
    status: 400,
    detail: `${first.field}: ${first.detail}`,
    field: first.field,
    errors,
  });
}

export function notFound(method: string, path: string): ApiResponse {
  return problemResponse({
    type: PROBLEM_TYPE.notFound,
    title: 'Not found',
    status: 404,
    detail: `No route for ${method.slice(0, 16)} ${path.slice(0, 256)}. Routes: POST /v1/check, POST /v1/settle, GET /v1/status/{creatorId}, POST /v1/reset`,
  });
}

/** 405: the path exists, the method does not; `Allow` lists the methods that do. */
export function methodNotAllowed(method: string, path: string, allow: readonly string[]): ApiResponse {
  return problemResponse(
    {
      type: PROBLEM_TYPE.methodNotAllowed,
      title: 'Method not allowed',
      status: 405,
      detail: `${path.slice(0, 256)} does not accept ${method.slice(0, 16)}; allowed: ${allow.join(', ')}`,
      allow,
    },
    { Allow: allow.join(', ') },
  );
}

export function payloadTooLarge(limitBytes: number): ApiResponse {
  return problemResponse({
    type: PROBLEM_TYPE.payloadTooLarge,
    title: 'Payload too large',
    status: 413,
    detail: `body: must be at most ${limitBytes} bytes`,
    field: 'body',
    limitBytes,
  });
}

/** 415 naming the header: the route reads a JSON body. */
export function unsupportedMediaType(contentType: string | undefined): ApiResponse {
  return problemResponse({
    type: PROBLEM_TYPE.unsupportedMediaType,
    title: 'Unsupported media type',
    status: 415,
    detail: `Content-Type: must be application/json, got ${contentType === undefined ? 'none' : JSON.stringify(contentType.slice(0, 100))}`,
    field: 'Content-Type',
  });
}

/** 403 naming the header that shows the request did not come from this server's own pages or a non-browser client. */
export function forbidden(field: string, detail: string): ApiResponse {
  return problemResponse({
    type: PROBLEM_TYPE.forbidden,
    title: 'Forbidden',
    status: 403,
    detail: `${field}: ${detail}`,
    field,
  });
}

export function tooManyRequests(error: RateLimitError, tier: TierDefinition | undefined): ApiResponse {
  return problemResponse(
    {
      type: PROBLEM_TYPE.quotaExceeded,
      title: 'Rate limit exceeded',
      status: 429,
      detail: error.reservationsInFlight
        ? `Policy "${error.policy}" allows ${error.limit}, and reservations still in flight hold part of it; retry after ${error.retryAfter} s, or sooner once they settle.`
        : `Policy "${error.policy}" allows ${error.limit}; retry after ${error.retryAfter} s.`,
      retryAfter: error.retryAfter,
      limit: error.limit,
      remaining: error.remaining,
      reset: error.reset,
      policy: error.policy,
      ...(error.reservationsInFlight ? { reservationsInFlight: true } : {}),
      'violated-policies': [error.policy],
    },
    deniedHeaders(error, tier),
  );
}

/** `reason` and `cause` come from RateLimitUnavailableError: its kind, and the real cause in words. */
export function serviceUnavailable(retryAfter: number, reason?: string, cause?: string): ApiResponse {
  return problemResponse(
    {
      type: PROBLEM_TYPE.backendUnavailable,
      title: 'Rate-limit backend unavailable',
      status: 503,
      detail: `The rate-limit backend is unavailable${cause ? ` (${cause})` : ''} and the fail mode is closed. Retry later.`,
      retryAfter,
      ...(reason ? { reason } : {}),
    },
    { 'Retry-After': String(retryAfter) },
  );
}

/** RateLimitDataError: the backend answered, but this creator's stored data is unusable (WRONGTYPE, ...). */
export function creatorDataError(detail: string): ApiResponse {
  return problemResponse({
    type: PROBLEM_TYPE.creatorDataError,
    title: "Creator's rate-limit data unusable",
    status: 500,
    detail,
  });
}

export function misconfigured(): ApiResponse {
  return problemResponse({
    type: PROBLEM_TYPE.misconfigured,
    title: 'Service misconfigured',
    status: 500,
    detail: 'The rate-limit service configuration is invalid; see the function logs.',
  });
}

export function internalError(): ApiResponse {
  return problemResponse({
    type: PROBLEM_TYPE.internal,
    title: 'Internal error',
    status: 500,
    detail: 'Unexpected error; see the function logs.',
  });
}
