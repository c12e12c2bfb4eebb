import { CircuitBreaker, CircuitOpenError } from '../../lambda/rate-limit/resilience/circuit-breaker';

const fail = () => Promise.reject(new Error('down'));
const succeed = () => Promise.resolve('ok');

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures and then fails without calling', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 500, clock: () => now });
    for (let i = 0; i < 3; i += 1) await expect(breaker.run(fail)).rejects.toThrow('down');
    expect(breaker.current).toBe('open');
    const call = jest.fn(succeed);
    await expect(breaker.run(call)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(call).not.toHaveBeenCalled();
    now = 499;
    await expect(breaker.run(call)).rejects.toThrow(/next probe in 1 ms/);
  });

  it('a success resets the count of consecutive failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: () => 0 });
    await expect(breaker.run(fail)).rejects.toThrow();
    await breaker.run(succeed);
    await expect(breaker.run(fail)).rejects.toThrow();
    expect(breaker.current).toBe('closed');
  });

  it('lets one probe through after the cool-down: success closes, failure reopens', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, clock: () => now });
    await expect(breaker.run(fail)).rejects.toThrow();
    now = 100;
    expect(breaker.current).toBe('half-open');
    let release!: () => void;
    const probe = breaker.run(() => new Promise<string>((resolve) => (release = () => resolve('probe'))));
    await expect(breaker.run(succeed)).rejects.toBeInstanceOf(CircuitOpenError); // one probe at a time
    release();
    await expect(probe).resolves.toBe('probe');
    expect(breaker.current).toBe('closed');

    await expect(breaker.run(fail)).rejects.toThrow();
    now = 200;
    await expect(breaker.run(fail)).rejects.toThrow('down');
    expect(breaker.current).toBe('open');
  });
});
