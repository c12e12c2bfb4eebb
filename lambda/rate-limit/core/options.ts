/**
 * Options of createRateLimiter, their defaults, and their validation (at construction, naming the
 * option and what it accepts).
 */
import type { ElastiCacheConnectionOptions } from '../redis/elasticache-client';
import type { UpstashConnectionOptions } from '../redis/upstash-client';
import type { CircuitBreakerOptions } from '../resilience/circuit-breaker';
import type { RateLimitStore } from '../store/store';
import { RateLimitConfigError } from './errors';
import { TIER_LIMITS } from './tiers';
import type { AnomalyReport, FailMode, ShadowDenialReport, Tier, TierTable } from './types';

/** Per-call deadlines suited to each backend (defined once, in the contract the stacks share). */
export { DEFAULT_TIMEOUT_MS } from '../../contract/environment';

export const DEFAULT_TIER: Tier = 'pro';

export interface RateLimitLogger {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export const consoleLogger: RateLimitLogger = {
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'WARN', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'ERROR', message, ...fields })),
};

/** Everything but the backend: how the limiter behaves over whatever store it is given. */
export interface LimiterOptions {
  /** Tier table. @default DEFAULT_TIERS (starter 50, pro 100, business 500 requests per hour, ...) */
  readonly tiers?: TierTable;
  /** What to do when the backend fails or is too slow. @default 'closed' */
  readonly failMode?: FailMode;
  /** Deadline for one backend call, ms. @default DEFAULT_TIMEOUT_MS[backend] */
  readonly timeoutMs?: number;
  /** Prefix of every Redis key. @default 'rl' */
  readonly keyPrefix?: string;
  /** Lease of a reservation when the tier has no in-flight policy. @default 90 */
  readonly leaseSeconds?: number;
  /** Anomaly threshold as a multiple of the headline request limit per 5 minutes; 0 disables. @default 2 */
  readonly anomalyFactor?: number;
  /** Called once per creator and 5-minute window when attempts exceed the anomaly threshold. */
  readonly onAnomaly?: (report: AnomalyReport) => void;
  /**
   * Called for each shadow policy that would have denied an admission (the HTTP API publishes a
   * ShadowDenied metric per policy). @default a structured warning on `logger`
   */
  readonly onShadowDenial?: (report: ShadowDenialReport) => void;
  /** Where degraded-mode and anomaly events are logged. @default structured JSON on console */
  readonly logger?: RateLimitLogger;
  /**
   * Local cache of denials (zero backend commands until the exact retry time); `false` disables.
   * Checks that carry a caller `requestId` always ask the backend, so a retried admission is
   * recognised as such. @default { maxEntries: 10000 }
   */
  readonly denyCache?: false | { readonly maxEntries?: number };
  /** Circuit breaker around backend calls; `false` disables. @default { failureThreshold: 5, cooldownMs: 500 } */
  readonly circuitBreaker?: false | CircuitBreakerOptions;
}

/**
 * The options of createRateLimiter: a backend with its connection, or a ready store. Each entry
 * module accepts the backends it bundles (index: all; elasticache.ts: elasticache and memory;
 * upstash.ts: upstash only; memory.ts: memory).
 */
export type RateLimiterOptions = LimiterOptions &
  (
    | { readonly backend: 'memory'; readonly clock?: () => number }
    | { readonly backend: 'elasticache'; readonly elasticache: ElastiCacheConnectionOptions }
    | { readonly backend: 'upstash'; readonly upstash: UpstashConnectionOptions }
    | { readonly backend?: undefined; readonly store: RateLimitStore }
  );

/** Rejects bad options before any client is created, naming the option and what it accepts. */
export function validateOptions(options: LimiterOptions): void {
  const { failMode, timeoutMs, leaseSeconds, anomalyFactor, keyPrefix } = options;
  if (failMode !== undefined && failMode !== 'closed' && failMode !== 'open') {
    throw new RateLimitConfigError(`failMode must be "closed" or "open", got ${JSON.stringify(failMode)}`);
  }
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= 60_000)) {
    throw new RateLimitConfigError(`timeoutMs must be an integer from 1 to 60000, got ${String(timeoutMs)}`);
  }
  if (leaseSeconds !== undefined && !(Number.isInteger(leaseSeconds) && leaseSeconds >= 1 && leaseSeconds <= TIER_LIMITS.maxLeaseSeconds)) {
    throw new RateLimitConfigError(`leaseSeconds must be an integer from 1 to ${TIER_LIMITS.maxLeaseSeconds}, got ${String(leaseSeconds)}`);
  }
  if (anomalyFactor !== undefined && !(Number.isFinite(anomalyFactor) && anomalyFactor >= 0)) {
    throw new RateLimitConfigError(`anomalyFactor must be a number >= 0 (0 disables), got ${String(anomalyFactor)}`);
  }
  if (keyPrefix !== undefined && !/^[A-Za-z0-9:_.-]{1,64}$/.test(keyPrefix)) {
    throw new RateLimitConfigError('keyPrefix must be 1-64 characters of letters, digits, ":", "_", "." or "-"');
  }
}
