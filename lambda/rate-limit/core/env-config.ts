/**
 * Configuration from the environment variables (or a Worker's bindings object, which has the same
 * names). The library has no AWS SDK: reading a
 * Secrets Manager secret or signing an IAM token is supplied by the caller as a hook (the Lambda
 * layer in lambda/shared does so); without the hook, those variables are a clear error.
 */
import type { RedisCredentials } from '../redis/elasticache-client';
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

/**
 * Builds limiter options from the environment, or from any object with the same names (a Worker's
 * bindings); `forceBackend` serves the per-backend entry modules.
 */
export function rateLimiterOptionsFromEnv(
  env: Environment = processEnv(),
  hooks: EnvironmentHooks = {},
  forceBackend?: BackendName,
): RateLimiterOptions {
  const backend = forceBackend ?? selectBackend(env);
  if (backend === 'http') {
    // The http backend is a client of the deployed API, not a store: the default entry builds it.
    throw new RateLimitConfigError('RATE_LIMIT_BACKEND=http is built by rateLimiterFromEnv of lambda/rate-limit (or lambda/rate-limit/http)');
  }
  const common = {
    failMode: failModeVariable(env),
    timeoutMs: integerVariable(env, 'RATE_LIMIT_TIMEOUT_MS', 1, MAX_TIMEOUT_MS),
    tiers: env.RATE_LIMIT_TIERS?.trim() ? parseTierTableJson(env.RATE_LIMIT_TIERS) : undefined,
  };
  switch (backend) {
    case 'memory':
      return { ...common, backend };
    case 'elasticache':
      return { ...common, backend, elasticache: elastiCacheFromEnv(env, hooks) };
    case 'upstash':
      return { ...common, backend, upstash: upstashFromEnv(env, hooks) };
  }
}

function elastiCacheFromEnv(env: Environment, hooks: EnvironmentHooks) {
  const host = env.ELASTICACHE_REDIS_HOST?.trim();
  if (!host) throw new RateLimitConfigError('ELASTICACHE_REDIS_HOST is required for the elasticache backend');
  const secretArn = env.ELASTICACHE_REDIS_AUTH_SECRET_ARN?.trim();
  const iamUser = env.ELASTICACHE_REDIS_IAM_USER?.trim();
  if (secretArn && iamUser) {
    throw new RateLimitConfigError('Set either ELASTICACHE_REDIS_AUTH_SECRET_ARN or ELASTICACHE_REDIS_IAM_USER, not both');
  }
  const tls = booleanVariable(env, 'ELASTICACHE_REDIS_TLS');
  let credentials: (() => Promise<RedisCredentials>) | undefined;
  if (secretArn) {
    const readSecret = requireHook(hooks.readSecret, 'ELASTICACHE_REDIS_AUTH_SECRET_ARN', 'readSecret');
    credentials = async () => parseAuthSecret(await readSecret(secretArn), env.ELASTICACHE_REDIS_USERNAME?.trim());
  } else if (iamUser) {
    if (!tls) throw new RateLimitConfigError('ELASTICACHE_REDIS_IAM_USER requires ELASTICACHE_REDIS_TLS=true (IAM auth needs TLS)');
    const sign = requireHook(hooks.iamAuthToken, 'ELASTICACHE_REDIS_IAM_USER', 'iamAuthToken');
    credentials = async () => ({ username: iamUser, password: await sign(iamUser) });
  }
  return {
    host,
    port: integerVariable(env, 'ELASTICACHE_REDIS_PORT', 1, 65535),
    tls,
    cluster: booleanVariable(env, 'ELASTICACHE_REDIS_CLUSTER'),
    username: env.ELASTICACHE_REDIS_USERNAME?.trim() || undefined,
    password: env.ELASTICACHE_REDIS_PASSWORD || undefined,
    credentials,
  };
}

function upstashFromEnv(env: Environment, hooks: EnvironmentHooks) {
  const secretArn = env.UPSTASH_REDIS_SECRET_ARN?.trim();
  if (secretArn) {
    const readSecret = requireHook(hooks.readSecret, 'UPSTASH_REDIS_SECRET_ARN', 'readSecret');
    return { credentials: async () => parseUpstashSecret(await readSecret(secretArn)) };
  }
  const url = env.UPSTASH_REDIS_REST_URL?.trim();
  const token = env.UPSTASH_REDIS_REST_TOKEN?.trim();
  if (!url || !token) {
    throw new RateLimitConfigError(
      'The upstash backend needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, or UPSTASH_REDIS_SECRET_ARN',
    );
  }
  if (!/^https?:\/\/\S+$/.test(url)) {
    throw new RateLimitConfigError('UPSTASH_REDIS_REST_URL must be an http(s) URL');
  }
  return { url, token };
}

/** An AUTH secret is either the bare token, or JSON with "password" (or "authToken"/"token") and optional "username". */
export function parseAuthSecret(secret: string, fallbackUsername?: string): RedisCredentials {
  const text = secret.trim();
  if (text.startsWith('{')) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new RateLimitConfigError('The Redis AUTH secret looks like JSON but does not parse');
    }
    const password = [parsed.password, parsed.authToken, parsed.token].find((v) => typeof v === 'string' && v.length > 0);
    if (typeof password !== 'string') {
      throw new RateLimitConfigError('The Redis AUTH secret JSON needs a non-empty "password" (or "authToken") field');
    }
    const username = typeof parsed.username === 'string' && parsed.username ? parsed.username : fallbackUsername;
    return username ? { username, password } : { password };
  }
  if (!text) throw new RateLimitConfigError('The Redis AUTH secret is empty');
  return fallbackUsername ? { username: fallbackUsername, password: text } : { password: text };
}

export function parseUpstashSecret(secret: string): { url: string; token: string } {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(secret) as Record<string, unknown>;
  } catch {
    throw new RateLimitConfigError('The Upstash secret must be JSON: {"url": "...", "token": "..."}');
  }
  const url = parsed.url ?? parsed.UPSTASH_REDIS_REST_URL;
  const token = parsed.token ?? parsed.UPSTASH_REDIS_REST_TOKEN;
  if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url) || typeof token !== 'string' || !token) {
    throw new RateLimitConfigError('The Upstash secret must hold an http(s) "url" and a non-empty "token"');
  }
  return { url, token };
}

function requireHook<T>(hook: T | undefined, variable: string, name: string): T {
  if (!hook) {
    throw new RateLimitConfigError(
      `${variable} is set, but no ${name} hook was given: secrets are resolved by the Lambda runtime layer (lambda/shared), not by the library`,
    );
  }
  return hook;
}

function booleanVariable(env: Environment, name: string): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new RateLimitConfigError(`${name} must be "true" or "false", got "${env[name]}"`);
}

function integerVariable(env: Environment, name: string, min: number, max: number): number | undefined {
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
