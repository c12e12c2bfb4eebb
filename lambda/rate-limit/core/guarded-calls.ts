/**
 * Every backend call goes through here: a circuit breaker, a deadline, and the fail mode. A call
 * that fails (or is not made, the circuit being open) throws RateLimitUnavailableError when the
 * fail mode is closed, and answers undefined (logged) when it is open. An error the backend
 * answered about one creator's data (a key of the wrong type, a script error on its values) is
 * thrown as RateLimitDataError in either fail mode and counts as an answer, not an outage, so one
 * creator's bad data never opens the breaker for everyone.
 */
import { circuitOpenFailure, classifyBackendFailure, type UnavailableFailure } from '../resilience/backend-failure';
import { CircuitBreaker, type CircuitOpenError } from '../resilience/circuit-breaker';
import { withDeadline } from '../resilience/deadline';
import { RateLimitDataError, RateLimitUnavailableError } from './errors';
import type { LimiterOptions, RateLimitLogger } from './options';
import type { BackendName, FailMode } from './types';

/** Runs one backend call; `mode` overrides the fail mode (a reset that did not happen always throws). */
export type GuardedCall = <T>(operation: string, call: () => Promise<T>, mode?: FailMode) => Promise<T | undefined>;

export function guardedCalls(
  backend: BackendName,
  options: Pick<LimiterOptions, 'circuitBreaker'> & {
    readonly failMode: FailMode;
    readonly timeoutMs: number;
    readonly logger: RateLimitLogger;
  },
): GuardedCall {
  const { failMode, timeoutMs, logger } = options;
  const breaker = options.circuitBreaker === false ? undefined : new CircuitBreaker(options.circuitBreaker);

  function unavailable(operation: string, cause: unknown, failure: UnavailableFailure, mode: FailMode): undefined {
    const reason = cause instanceof Error ? cause.message : String(cause);
    if (mode === 'closed') {
      throw new RateLimitUnavailableError(`rate-limit backend ${backend} unavailable during ${operation}: ${reason}`, {
        cause,
        reason: failure.reason,
        detail: failure.summary,
      });
    }
    logger.warn('rate-limit backend unavailable; allowing (fail mode open)', { backend, operation, reason, cause: failure.reason });
    return undefined;
  }

  return async (operation, call, mode = failMode) => {
    let isProbe = false;
    try {
      if (breaker) isProbe = breaker.enter();
    } catch (cause) {
      return unavailable(operation, cause, circuitOpenFailure(cause as CircuitOpenError), mode);
    }
    try {
      const result = await withDeadline(call(), timeoutMs);
      breaker?.succeeded(isProbe);
      return result;
    } catch (cause) {
      const failure = classifyBackendFailure(cause);
      if (failure.kind === 'data') {
        breaker?.succeeded(isProbe);
        throw new RateLimitDataError(`rate-limit backend ${backend} answered ${operation} with a data error: ${failure.summary}`, {
          cause,
          code: failure.code,
          detail: `The creator's rate-limit data could not be used (${failure.summary}); resetting the creator clears it.`,
        });
      }
      breaker?.failed(isProbe, failure.summary);
      return unavailable(operation, cause, failure, mode);
    }
  };
}
