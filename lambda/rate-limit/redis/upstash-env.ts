/**
 * The Upstash backend's connection options from the environment or a Worker's bindings
 * (docs/design.md#environment): the REST URL and token, or a Secrets Manager secret holding both.
 */
import { requireHook, type Environment, type EnvironmentHooks } from '../core/env-config';
import { RateLimitConfigError } from '../core/errors';
import type { UpstashConnectionOptions } from './upstash-client';

export function upstashFromEnv(env: Environment, hooks: EnvironmentHooks): UpstashConnectionOptions {
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
