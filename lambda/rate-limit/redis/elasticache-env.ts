/**
 * The ElastiCache backend's connection options from the environment (docs/design.md#environment):
 * host, port, TLS, cluster mode, and AUTH / ACL / IAM credentials.
 */
import { booleanVariable, integerVariable, requireHook, type Environment, type EnvironmentHooks } from '../core/env-config';
import { RateLimitConfigError } from '../core/errors';
import type { ElastiCacheConnectionOptions, RedisCredentials } from './elasticache-client';

export function elastiCacheFromEnv(env: Environment, hooks: EnvironmentHooks): ElastiCacheConnectionOptions {
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
