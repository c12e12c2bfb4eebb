/**
 * A circuit breaker for backend calls. After `failureThreshold` consecutive failures it opens: calls
 * fail at once for `cooldownMs` instead of each waiting for a deadline. Then one probe call is let
 * through (half-open); its success closes the circuit, its failure opens it again.
 *
 * Only failures that mean the backend is unavailable may be reported to it. An error the backend
 * answered about one creator's data (WRONGTYPE) is an answer: it proves the backend is up, so it is
 * reported as a success, and one creator's bad keys can never make the limiter fail for everyone.
 */

export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  /**
   * @param lastFailure what the failure that opened the circuit was (e.g. "connection refused
   *   (ECONNREFUSED)"), so the errors of the calls it stops still name the real cause.
   */
  constructor(
    readonly retryInMs: number,
    readonly lastFailure?: string,
  ) {
    super(
      `backend circuit open after repeated failures; next probe in ${retryInMs} ms${lastFailure ? `; last failure: ${lastFailure}` : ''}`,
    );
  }
}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. @default 5 */
  readonly failureThreshold?: number;
  /** How long the circuit stays open before a probe. @default 500 */
  readonly cooldownMs?: number;
  readonly clock?: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private state: CircuitState = 'closed';
  private probing = false;
  private lastFailure: string | undefined;
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly clock: () => number;

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? 5;
    this.cooldownMs = options.cooldownMs ?? 500;
    this.clock = options.clock ?? Date.now;
  }

  get current(): CircuitState {
    if (this.state === 'open' && this.clock() - this.openedAt >= this.cooldownMs) return 'half-open';
    return this.state;
  }

  /**
   * A call goes through the breaker in three steps, around the caller's own await: `enter` throws
   * CircuitOpenError when no call may go through; otherwise it tells whether this call is the
   * half-open probe, which `succeeded` or `failed` must then be given.
   */
  enter(): boolean {
    const state = this.current;
    if (state === 'open' || (state === 'half-open' && this.probing)) {
      throw new CircuitOpenError(Math.max(0, this.openedAt + this.cooldownMs - this.clock()), this.lastFailure);
    }
    const isProbe = state === 'half-open';
    if (isProbe) this.probing = true;
    return isProbe;
  }

  succeeded(isProbe: boolean): void {
    if (isProbe) this.probing = false;
    this.failures = 0;
    this.state = 'closed';
  }

  /** @param reason what failed, named by the CircuitOpenErrors while the circuit is open. */
  failed(isProbe: boolean, reason?: string): void {
    if (isProbe) this.probing = false;
    this.failures += 1;
    this.lastFailure = reason;
    if (isProbe || this.failures >= this.failureThreshold) {
      this.state = 'open';
      this.openedAt = this.clock();
    }
  }
}
