/** The Upstash backend: the scripts over the official REST client (fetch; Web-standard APIs only). */
import { RateLimitConfigError } from '../core/errors';
import { DEFAULT_TIMEOUT_MS, type RateLimiterOptions } from '../core/options';
import type { RateLimitStore } from '../store/store';
import { RedisScriptStore } from './script-store';
import { createUpstashClient } from './upstash-client';
import { UpstashTransport } from './upstash-transport';

export function upstashStore(options: Extract<RateLimiterOptions, { readonly backend: 'upstash' }>): RateLimitStore {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS.upstash;
  const { url, token, credentials, retries = 0 } = options.upstash;
  if (!credentials && (!url || !token)) {
    throw new RateLimitConfigError('upstash needs "url" and "token", or a "credentials" function');
  }
  const resolve = credentials ?? (async () => ({ url: url!, token: token! }));
  const connect = async () => createUpstashClient(await resolve(), timeoutMs, retries);
  return new RedisScriptStore('upstash', new UpstashTransport(connect, retries > 0), { keyPrefix: options.keyPrefix });
}
