/**
 * Configuration from the environment variables (or a Worker's bindings object, which has the same
 * names). The library has no AWS SDK: reading a
 * Secrets Manager secret or signing an IAM token is supplied by the caller as a hook (the Lambda
 * layer in lambda/shared does so); without the hook, those variables are a clear error.
 */
import type { ElastiCacheConnectionOptions } from '../redis/elasticache-client';
import type { UpstashConnectionOptions } from '../redis/upstash-client';
import { RateLimitConfigError } from './errors';
import type { RateLimiterOptions } from './options';
import { parseTierTableJson } from './tiers';
import type { BackendName, FailMode, LimiterBackendName } from './types';

export type Environment = Readonly<Record<string, string | undefined>>;

/** `process.env` where there is one; an empty environment in runtimes without `process` (Workers). */
export function processEnv(): Environment {
  return typeof process === 'undefined' ? {} : process.env;
}

export interface EnvironmentHooks {
  /** Returns the SecretString of a Secrets Manager secret. */
  readonly readSecret?: (secretArn: string) => Promise<string>;
  /** Returns a fresh ElastiCache IAM authentication token for the user. */
  readonly iamAuthToken?: (user: string) => Promise<string>;
}

const BACKENDS: readonly LimiterBackendName[] = ['elasticache', 'upstash', 'memory', 'http'];
const MAX_TIMEOUT_MS = 60_000;

export function selectBackend(env: Environment): LimiterBackendName {
  const explicit = env.RATE_LIMIT_BACKEND?.trim();
  if (explicit) {
    if (!(BACKENDS as readonly string[]).includes(explicit)) {
      throw new RateLimitConfigError(`RATE_LIMIT_BACKEND must be one of ${BACKENDS.join(', ')}, got "${explicit}"`);
    }
    return explicit as LimiterBackendName;
  }
  if (booleanVariable(env, 'USE_ELASTICACHE')) return 'elasticache';
  // The old system's default import was the Upstash one: keep that when Upstash is configured.
  if (env.UPSTASH_REDIS_REST_URL || env.UPSTASH_REDIS_SECRET_ARN) return 'upstash';
  throw new RateLimitConfigError(
    'No rate-limit backend configured. Set RATE_LIMIT_BACKEND=elasticache with ELASTICACHE_REDIS_HOST ' +
      '(or USE_ELASTICACHE=true), RATE_LIMIT_BACKEND=upstash with UPSTASH_REDIS_REST_URL and ' +
      'UPSTASH_REDIS_REST_TOKEN (or UPSTASH_REDIS_SECRET_ARN), or RATE_LIMIT_BACKEND=memory for local development.',
  );
}

/** The connection readers of the backends an entry module offers (memory needs none). */
export interface BackendEnvReaders {
  readonly elasticache?: (env: Environment, hooks: EnvironmentHooks) => ElastiCacheConnectionOptions;
  readonly upstash?: (env: Environment, hooks: EnvironmentHooks) => UpstashConnectionOptions;
}

export type OptionsFromEnv = (env?: Environment, hooks?: EnvironmentHooks, forceBackend?: BackendName) => RateLimiterOptions;

/**
 * Builds the entry module's rateLimiterOptionsFromEnv: limiter options from the environment, or
 * from any object with the same names (a Worker's bindings). Each entry passes the readers of the
 * backends it bundles, so the Upstash entry carries no ElastiCache parsing (and the reverse);
 * `forceBackend` serves the per-backend entries.
 */
export function optionsFromEnv(readers: BackendEnvReaders): OptionsFromEnv {
  return (env = processEnv(), hooks = {}, forceBackend) => {
    const backend = forceBackend ?? selectBackend(env);
    if (backend === 'http') {
      // The http backend is a client of the deployed API, not a store: the default entry builds it.
      throw new RateLimitConfigError(
        'RATE_LIMIT_BACKEND=http is built by rateLimiterFromEnv of lambda/rate-limit (or lambda/rate-limit/http)',
      );
    }
    const common = {
      failMode: failModeVariable(env),
      timeoutMs: integerVariable(env, 'RATE_LIMIT_TIMEOUT_MS', 1, MAX_TIMEOUT_MS),
      tiers: env.RATE_LIMIT_TIERS?.trim() ? parseTierTableJson(env.RATE_LIMIT_TIERS) : undefined,
    };
    if (backend === 'memory') return { ...common, backend };
    if (backend === 'elasticache' && readers.elasticache) return { ...common, backend, elasticache: readers.elasticache(env, hooks) };
    if (backend === 'upstash' && readers.upstash) return { ...common, backend, upstash: readers.upstash(env, hooks) };
    throw new RateLimitConfigError(
      `RATE_LIMIT_BACKEND=${backend} is not bundled in this entry module; import lambda/rate-limit/${backend} or lambda/rate-limit`,
    );
  };
}

export function requireHook<T>(hook: T | undefined, variable: string, name: string): T {
  if (!hook) {
    throw new RateLimitConfigError(
      `${variable} is set, but no ${name} hook was given: secrets are resolved by the Lambda runtime layer (lambda/shared), not by the library`,
    );
  }
  return hook;
}

export function booleanVariable(env: Environment, name: string): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new RateLimitConfigError(`${name} must be "true" or "false", got "${env[name]}"`);
}

export function integerVariable(env: Environment, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RateLimitConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function failModeVariable(env: Environment): FailMode | undefined {
  const raw = env.RATE_LIMIT_FAIL_MODE?.trim();
  if (!raw) return undefined;
  if (raw !== 'closed' && raw !== 'open') {
    throw new RateLimitConfigError(`RATE_LIMIT_FAIL_MODE must be "closed" or "open", got "${raw}"`);
  }
  return raw;
}
