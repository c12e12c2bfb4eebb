/**
 * The API runtime for processes that may serve any backend: the local server and the tests. The
 * backend is the one the environment names (RATE_LIMIT_BACKEND), so every backend's client is
 * loaded; the Lambda functions use lambda/shared/runtime.ts with their own backend's entry instead.
 */
import { createRateLimiter, rateLimiterOptionsFromEnv } from '../rate-limit/exports';
import { iamAuthTokenFromEnvironment } from './elasticache-iam-auth';
import type { LimiterLibrary } from './library';
import { createApiRuntime as createRuntime, type ApiRuntime, type ApiRuntimeOptions as RuntimeOptions } from './runtime';

export type { ApiRuntime, Environment } from './runtime';

/** The whole library: every backend, chosen at run time by RATE_LIMIT_BACKEND. */
export const EVERY_BACKEND: LimiterLibrary = { createRateLimiter, rateLimiterOptionsFromEnv, iamAuthTokenFromEnvironment };

export type ApiRuntimeOptions = Omit<RuntimeOptions, 'library'> & Partial<Pick<RuntimeOptions, 'library'>>;

/** createApiRuntime of runtime.ts, able to build every backend unless told otherwise. */
export function createApiRuntime(options: ApiRuntimeOptions = {}): ApiRuntime {
  return createRuntime({ library: EVERY_BACKEND, ...options });
}
