/**
 * Every backend call goes through here: a circuit breaker, a deadline, and the fail mode. A call
 * that fails (or is not made, the circuit being open) throws RateLimitUnavailableError when the
 * fail mode is closed, and answers undefined (logged) when it is open.
 */
import { CircuitBreaker } from '../resilience/circuit-breaker';
import { withDeadline } from '../resilience/deadline';
import { RateLimitUnavailableError } from './errors';
import type { LimiterOptions, RateLimitLogger } from './options';
import type { BackendName, FailMode } from './types';

export type GuardedCall = <T>(operation: string, call: () => Promise<T>) => Promise<T | undefined>;

export function guardedCalls(
  backend: BackendName,
  options: Pick<LimiterOptions, 'circuitBreaker'> & { readonly failMode: FailMode; readonly timeoutMs: number; readonly logger: RateLimitLogger },
): GuardedCall {
  const { failMode, timeoutMs, logger } = options;
  const breaker = options.circuitBreaker === false ? undefined : new CircuitBreaker(options.circuitBreaker);

  function unavailable(operation: string, cause: unknown): undefined {
    const reason = cause instanceof Error ? cause.message : String(cause);
    if (failMode === 'closed') {
      throw new RateLimitUnavailableError(`rate-limit backend ${backend} unavailable during ${operation}: ${reason}`, { cause });
    }
    logger.warn('rate-limit backend unavailable; allowing (fail mode open)', { backend, operation, reason });
    return undefined;
  }

  return async (operation, call) => {
    let isProbe = false;
    try {
      if (breaker) isProbe = breaker.enter();
    } catch (cause) {
      return unavailable(operation, cause);
    }
    try {
      const result = await withDeadline(call(), timeoutMs);
      breaker?.succeeded(isProbe);
      return result;
    } catch (cause) {
      breaker?.failed(isProbe);
      return unavailable(operation, cause);
    }
  };
}
