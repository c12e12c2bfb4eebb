/**
 * The API runtime for processes that may serve any backend: the local server and the tests. The
 * backend is the one the environment names (RATE_LIMIT_BACKEND), so every backend's client is
 * loaded; the Lambda functions use lambda/shared/runtime.ts with their own backend's entry instead.
 */
import { createRateLimiter } from '../rate-limit/exports';
import { createApiRuntime as createRuntime, type ApiRuntime, type ApiRuntimeOptions as RuntimeOptions } from './runtime';

export type { ApiRuntime, Environment } from './runtime';

export type ApiRuntimeOptions = Omit<RuntimeOptions, 'createRateLimiter'> & Partial<Pick<RuntimeOptions, 'createRateLimiter'>>;

/** createApiRuntime of runtime.ts, able to build every backend unless told otherwise. */
export function createApiRuntime(options: ApiRuntimeOptions = {}): ApiRuntime {
  return createRuntime({ createRateLimiter, ...options });
}
