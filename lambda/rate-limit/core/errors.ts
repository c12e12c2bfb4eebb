/**
 * Errors the library throws. Each one is a distinct class so callers (and the HTTP layer) can map
 * it to a status code without parsing messages: a denial is never confused with an outage.
 */

import type { PolicyStatus } from './types';

export interface RateLimitErrorDetails {
  /** Whole seconds until the request would be allowed (>= 1). */
  readonly retryAfter: number;
  readonly limit: number;
  readonly remaining: number;
  /** Epoch milliseconds at which the request would be allowed. */
  readonly reset: number;
  /** Name of the policy that denied. */
  readonly policy: string;
  /** Every policy of the tier as the backend saw it when it denied (for RateLimit headers). */
  readonly policies?: readonly PolicyStatus[];
  /**
   * True when reservations that have not been settled yet (reserved tokens, held leases) are why
   * the request is denied: `retryAfter` then ends no later than the earliest of their leases.
   */
  readonly reservationsInFlight?: boolean;
}

/** The creator is over a limit of their tier. Maps to HTTP 429. */
export class RateLimitError extends Error {
  override readonly name = 'RateLimitError';
  readonly retryAfter: number;
  readonly limit: number;
  readonly remaining: number;
  readonly reset: number;
  readonly policy: string;
  readonly policies: readonly PolicyStatus[];
  /** Unsettled reservations are why the request is denied (see RateLimitErrorDetails). */
  readonly reservationsInFlight: boolean;

  constructor(details: RateLimitErrorDetails) {
    super(`Rate limit exceeded for policy "${details.policy}" (limit ${details.limit}); retry after ${details.retryAfter}s`);
    this.retryAfter = details.retryAfter;
    this.limit = details.limit;
    this.remaining = details.remaining;
    this.reset = details.reset;
    this.policy = details.policy;
    this.policies = details.policies ?? [];
    this.reservationsInFlight = details.reservationsInFlight ?? false;
  }
}

/**
 * Why the backend counts as unavailable (see backend-failure.ts):
 * - `timeout`: no answer within the deadline (time this process's own event loop was blocked is
 *   not counted against it);
 * - `connection`: the connection could not be made or was lost (refused, reset, closed, TLS);
 * - `credentials`: the backend refused the credentials or their permissions (WRONGPASS, NOAUTH, NOPERM);
 * - `server-error`: the backend answered every caller with an error (LOADING, OOM, READONLY, an
 *   HTTP 5xx, a reply that is not one at all);
 * - `circuit-open`: recent calls failed for one of the reasons above, so this one was not made.
 */
export type UnavailableReason = 'timeout' | 'connection' | 'credentials' | 'server-error' | 'circuit-open';

/** The backend failed or is too slow, and the fail mode is `closed`. Maps to HTTP 503. */
export class RateLimitUnavailableError extends Error {
  override readonly name = 'RateLimitUnavailableError';
  /** Seconds a client should wait before retrying. */
  readonly retryAfter: number;
  readonly reason: UnavailableReason;
  /**
   * One sentence naming the real cause, safe to show to a caller: no address, key or credential
   * (e.g. "no answer within 300 ms", "connection refused (ECONNREFUSED)", "WRONGPASS ...").
   */
  readonly detail: string;

  constructor(message: string, options?: { cause?: unknown; retryAfter?: number; reason?: UnavailableReason; detail?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfter = options?.retryAfter ?? 60;
    this.reason = options?.reason ?? 'server-error';
    this.detail = options?.detail ?? message;
  }
}

/**
 * The backend answered, with an error about this creator's stored data or this one call: a key of
 * the wrong type under the creator's prefix (WRONGTYPE), or a script runtime error caused by what a
 * key holds. The backend itself is healthy, so this is not an outage: it never opens the circuit
 * breaker, other creators keep being served, and it is thrown in either fail mode (fail open never
 * admits a creator unmetered while the backend answers). Resetting the creator deletes every key the
 * limiter reads for them. Maps to HTTP 500.
 */
export class RateLimitDataError extends Error {
  override readonly name = 'RateLimitDataError';
  /** The backend's error code: `WRONGTYPE`, or `ERR` for a script runtime error. */
  readonly code: string;
  /** One sentence naming the cause, safe to show to a caller (no key names or script hashes). */
  readonly detail: string;

  constructor(message: string, options: { cause: unknown; code: string; detail: string }) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.detail = options.detail;
  }
}

/** A caller passed something the library cannot accept. Maps to HTTP 400; `field` names the culprit. */
export class RateLimitInputError extends Error {
  override readonly name = 'RateLimitInputError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** The configuration (environment or options) is invalid. Thrown at construction, never per request. */
export class RateLimitConfigError extends Error {
  override readonly name = 'RateLimitConfigError';
}
