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
    super(
      `Rate limit exceeded for policy "${details.policy}" (limit ${details.limit}); retry after ${details.retryAfter}s`,
    );
    this.retryAfter = details.retryAfter;
    this.limit = details.limit;
    this.remaining = details.remaining;
    this.reset = details.reset;
    this.policy = details.policy;
    this.policies = details.policies ?? [];
    this.reservationsInFlight = details.reservationsInFlight ?? false;
  }
}

/** The backend could not answer in time (or is failing) and the fail mode is `closed`. Maps to HTTP 503. */
export class RateLimitUnavailableError extends Error {
  override readonly name = 'RateLimitUnavailableError';
  /** Seconds a client should wait before retrying. */
  readonly retryAfter: number;

  constructor(message: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfter = options?.retryAfter ?? 60;
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
