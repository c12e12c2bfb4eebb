/**
 * createRateLimiter over a registry of backend factories: each entry module passes the backends it
 * bundles, so the core itself never imports a client (the Upstash entry never reaches ioredis).
 */
import type { RateLimitStore } from '../store/store';
import { RateLimitConfigError } from './errors';
import { createLimiter, type RateLimiter } from './limiter';
import { validateOptions, type RateLimiterOptions } from './options';
import type { BackendName } from './types';

type OptionsOf<B extends BackendName> = Extract<RateLimiterOptions, { readonly backend: B }>;

/** How to build the store of each backend an entry module offers. */
export type BackendFactories = { readonly [B in BackendName]?: (options: OptionsOf<B>) => RateLimitStore };

export function rateLimiterFactory(factories: BackendFactories): (options: RateLimiterOptions) => RateLimiter {
  const offered = Object.keys(factories) as BackendName[];
  return (options) => {
    validateOptions(options);
    return createLimiter(storeOf(factories, offered, options), options);
  };
}

function storeOf(factories: BackendFactories, offered: readonly BackendName[], options: RateLimiterOptions): RateLimitStore {
  if (options.backend === undefined) {
    if ('store' in options && options.store) return options.store;
  } else {
    const factory = factories[options.backend] as ((options: RateLimiterOptions) => RateLimitStore) | undefined;
    if (factory) return factory(options);
  }
  const quoted = offered.map((name) => `"${name}"`);
  const choices = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted.join('');
  throw new RateLimitConfigError(
    `backend must be ${choices} in this entry module (or pass a store), got ${JSON.stringify(options.backend)}`,
  );
}
