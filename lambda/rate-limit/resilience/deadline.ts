/**
 * Bounding a backend call in time, counting only time the backend could have used.
 *
 * A timer alone gets this wrong in a process whose event loop is sometimes busy (a long-running
 * server doing synchronous work, a burst of thousands of checks issued at once). If the loop is
 * blocked for 400 ms while a check with a 300 ms deadline waits, the timer fires when the loop comes
 * back, and timers run before the loop reads its sockets: the reply that has been waiting there
 * for 399 ms would be discarded, and commands that were queued behind the blocked loop would not
 * even have been sent. Every such "timeout" would also count against the circuit breaker.
 *
 * So the deadline counts wall time minus the time this process's event loop was blocked, as
 * measured by a heartbeat timer that runs while calls are pending: a heartbeat that fires late
 * proves the loop could not run anything (read a reply, send a command) for that long. When the
 * timer fires with budget left, it is re-armed for the rest; a reply that arrived meanwhile is read
 * in the same turn of the loop and used. A backend that is really slow or silent still times out
 * after `timeoutMs` of time in which this process was able to hear from it.
 */

export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
  constructor(readonly timeoutMs: number) {
    super(`backend did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Heartbeat period while calls are pending. A blocked stretch is measured to within one period
 * (the part before the first missed beat is not seen), so a check loses at most this much of its
 * budget to a busy loop; idle, it costs one timer wake-up per period.
 */
export const HEARTBEAT_MS = 10;
/** Lateness a timer shows on an idle loop (millisecond rounding); not counted as blocked time. */
const TIMER_JITTER_MS = 1;

type Timer = ReturnType<typeof setTimeout>;

/**
 * Cumulative time the event loop was blocked, measured while at least one deadline is pending.
 * Web-standard APIs only (performance.now, setTimeout): the Upstash entry runs in edge runtimes.
 */
class LoopStallMeter {
  private blockedMs = 0;
  private nextBeatAt = 0;
  private timer: Timer | undefined;
  private pending = 0;

  /** Registers a pending call; returns the blocked time so far (to subtract at the end). */
  begin(now: number): number {
    this.pending += 1;
    if (this.timer === undefined) {
      this.nextBeatAt = now + HEARTBEAT_MS;
      this.timer = setTimeout(this.beat, HEARTBEAT_MS);
      unref(this.timer);
    }
    return this.blockedAt(now);
  }

  end(): void {
    this.pending -= 1;
    // The heartbeat stops at its next beat: calls made back to back (a Lambda container serving
    // one request after another) do not create and clear a timer each.
  }

  /** Blocked time so far, including a stretch that is ending right now (a beat overdue but not yet run). */
  blockedAt(now: number): number {
    return this.blockedMs + (this.timer === undefined ? 0 : overdue(now, this.nextBeatAt));
  }

  private readonly beat = (): void => {
    const now = performance.now();
    this.blockedMs += overdue(now, this.nextBeatAt);
    if (this.pending === 0) {
      this.timer = undefined;
      return;
    }
    this.nextBeatAt = now + HEARTBEAT_MS;
    this.timer = setTimeout(this.beat, HEARTBEAT_MS);
    unref(this.timer);
  };
}

function overdue(now: number, dueAt: number): number {
  return Math.max(0, now - dueAt - TIMER_JITTER_MS);
}

/** Node: a heartbeat must not keep a process alive. Other runtimes have no such notion. */
function unref(timer: Timer): void {
  (timer as { unref?: () => void }).unref?.();
}

const loopStalls = new LoopStallMeter();

/**
 * Resolves or rejects like `promise`, or rejects with DeadlineExceededError once the call has been
 * pending for `timeoutMs` not counting time the event loop was blocked (see the module comment).
 * The timer is cleared either way, so nothing is left pending when a Lambda handler returns.
 * A late rejection of `promise` is handled here, so it can never become an unhandled rejection.
 */
export function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const startedAt = performance.now();
    const blockedBefore = loopStalls.begin(startedAt);
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      loopStalls.end();
      return true;
    };
    const expire = (): void => {
      const now = performance.now();
      const usable = now - startedAt - (loopStalls.blockedAt(now) - blockedBefore);
      if (usable < timeoutMs) {
        // The loop was blocked for part of the wait: the backend gets the rest of its budget, and
        // a reply already in the socket is read before this timer can fire again.
        timer = setTimeout(expire, timeoutMs - usable);
        return;
      }
      if (settle()) reject(new DeadlineExceededError(timeoutMs));
    };
    let timer = setTimeout(expire, timeoutMs);
    promise.then(
      (value) => {
        if (settle()) resolve(value);
      },
      (error: unknown) => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the call's own rejection, passed on unchanged
        if (settle()) reject(error);
      },
    );
  });
}
