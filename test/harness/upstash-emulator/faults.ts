/**
 * - `http500`: answer 500 with a JSON error;
 * - `hang`: never answer while the fault is active (the request resumes
 *   normally once `mode` moves away from `hang`; `stop()` destroys it);
 * - `close`: destroy the socket without answering;
 * - `malformed`: answer 200 with a body that is not JSON.
 */
export type FaultMode = 'none' | 'http500' | 'hang' | 'close' | 'malformed';

export type ActiveFault = Exclude<FaultMode, 'none'>;

/**
 * Runtime-switchable failure behaviour for the emulator, so tests can make the
 * "network" misbehave without a proxy. Assign `mode` / `remaining` directly
 * or use `set()` / `clear()`.
 */
export class FaultInjector {
  /** How many more requests to affect; `undefined` affects every request until cleared. */
  remaining: number | undefined = undefined;
  private current: FaultMode = 'none';
  private readonly hung = new Set<(outcome: 'released' | 'stopped') => void>();

  get mode(): FaultMode {
    return this.current;
  }

  set mode(mode: FaultMode) {
    this.current = mode;
    if (mode !== 'hang') this.settleHung('released');
  }

  set(mode: FaultMode, remaining?: number): void {
    this.remaining = remaining;
    this.mode = mode;
  }

  clear(): void {
    this.set('none');
  }

  /** Decides the fault for one incoming request, consuming one unit of `remaining`. */
  take(): ActiveFault | null {
    if (this.current === 'none') return null;
    if (this.remaining !== undefined) {
      if (this.remaining <= 0) return null;
      this.remaining--;
    }
    return this.current;
  }

  /** Parks a request until the hang is lifted or the server stops. */
  waitWhileHung(): Promise<'released' | 'stopped'> {
    if (this.current !== 'hang') return Promise.resolve('released');
    return new Promise((resolve) => {
      const settle = (outcome: 'released' | 'stopped'): void => {
        this.hung.delete(settle);
        resolve(outcome);
      };
      this.hung.add(settle);
    });
  }

  /** Called on server stop so parked requests end instead of leaking. */
  stopHung(): void {
    this.settleHung('stopped');
  }

  private settleHung(outcome: 'released' | 'stopped'): void {
    for (const settle of [...this.hung]) settle(outcome);
  }
}
