/** Bounding a backend call in time. */

export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
  constructor(readonly timeoutMs: number) {
    super(`backend did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Resolves or rejects like `promise`, or rejects with DeadlineExceededError after `timeoutMs`.
 * The timer is cleared either way, so nothing is left pending when a Lambda handler returns.
 * A late rejection of `promise` is absorbed so it can never become an unhandled rejection.
 */
export function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(timeoutMs)), timeoutMs);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
