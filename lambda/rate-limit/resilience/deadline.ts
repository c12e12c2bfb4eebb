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
 * A late rejection of `promise` is handled here, so it can never become an unhandled rejection.
 * (One promise and one timer per call: this sits on every check.)
 */
export function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineExceededError(timeoutMs)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
