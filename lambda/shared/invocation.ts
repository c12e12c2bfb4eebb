/**
 * Per-invocation state, reachable from library callbacks (onAnomaly, the library's logger) that
 * know nothing about the request. AsyncLocalStorage rather than module variables, so concurrent
 * requests in the local server each see their own correlation id and metric buffer.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MetricPoint } from './metrics';
import type { RouteName } from './routes';

export interface Invocation {
  /** API Gateway request id (requestContext.requestId), else the Lambda request id. */
  readonly correlationId: string;
  readonly route: RouteName;
  /** The validated tier of the request, once known: the `tier` metric dimension. */
  tier: string | undefined;
  readonly metrics: MetricPoint[];
}

const storage = new AsyncLocalStorage<Invocation>();

export function runInvocation<T>(invocation: Invocation, body: () => Promise<T>): Promise<T> {
  return storage.run(invocation, body);
}

export function currentInvocation(): Invocation | undefined {
  return storage.getStore();
}
