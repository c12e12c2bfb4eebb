/**
 * The rate limiter: validates input, asks the store for one atomic evaluation, and turns the answer
 * into a decision, a RateLimitError, or (when the backend fails) the configured fail mode.
 */
import { randomUUID } from 'node:crypto';
import { createElastiCacheClient, type ElastiCacheConnectionOptions } from '../redis/elasticache-client';
import { IoredisTransport } from '../redis/ioredis-transport';
import { MemoryStore } from '../store/memory-store';
import { RedisScriptStore } from '../redis/script-store';
import { quietEvaluation, type Evaluation, type EvaluationRequest, type PolicySpec, type RateLimitStore } from '../store/store';
import { createUpstashClient, type UpstashConnectionOptions } from '../redis/upstash-client';
import { UpstashTransport } from '../redis/upstash-transport';
import { CircuitBreaker, type CircuitBreakerOptions } from '../resilience/circuit-breaker';
import { withDeadline } from '../resilience/deadline';
import { DenyCache, DEFAULT_DENY_CACHE_SIZE } from '../resilience/deny-cache';
import { RateLimitConfigError, RateLimitError, RateLimitInputError, RateLimitUnavailableError, type RateLimitErrorDetails } from './errors';
import { DEFAULT_KEY_PREFIX } from '../redis/keys';
import {
  leaseSecondsOf,
  retentionSecondsOf,
  smallestTokenLimit,
  toPolicySpecs,
  toPolicyStatuses,
} from './policies';
import { DEFAULT_LEASE_SECONDS, DEFAULT_TIERS, headlinePolicyIndex, parseTierTable, TIER_LIMITS } from './tiers';
import type {
  AnomalyReport,
  BackendName,
  CheckOptions,
  CreatorId,
  FailMode,
  RateLimitDecision,
  RateLimitStatus,
  SettleResult,
  SettleResultWithStatus,
  Tier,
  TierDefinition,
  TierTable,
} from './types';
import { normalizeCreatorId, resolveTier, validateRequestId, validateTokens } from './validation';

/** Per-call deadlines suited to each backend: in-VPC TCP is fast, REST over the internet is not. */
export const DEFAULT_TIMEOUT_MS: Readonly<Record<BackendName, number>> = {
  elasticache: 300,
  upstash: 1500,
  memory: 1000,
};

export const DEFAULT_TIER: Tier = 'pro';
const ANOMALY_WINDOW_SECONDS = 300;

export interface RateLimitLogger {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

interface CommonOptions {
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

export type RateLimiterOptions = CommonOptions &
  (
    | { readonly backend: 'memory'; readonly clock?: () => number }
    | { readonly backend: 'elasticache'; readonly elasticache: ElastiCacheConnectionOptions }
    | { readonly backend: 'upstash'; readonly upstash: UpstashConnectionOptions }
    | { readonly backend?: undefined; readonly store: RateLimitStore }
  );

/** What a tier needs on every call, computed once per tier. */
interface TierPlan {
  readonly headlineIndex: number;
  /** The smallest token budget: no single reservation may exceed it. */
  readonly tokenCap: number | undefined;
  readonly anomalyThreshold: number;
  readonly retentionMs: number;
  readonly leaseMs: number;
  readonly policies: PolicySpec[];
}

export interface RateLimiter {
  readonly backend: BackendName;
  readonly tiers: TierTable;
  /** Admits one request (reserving `tokens` when given) or throws RateLimitError. */
  check(creatorId: CreatorId, tier?: Tier, options?: CheckOptions): Promise<RateLimitDecision>;
  /** Current usage; consumes nothing. */
  status(creatorId: CreatorId, tier?: Tier): Promise<RateLimitStatus>;
  /** Reconciles a reservation with the tokens actually used, and releases its lease. Idempotent. */
  settle(creatorId: CreatorId, tier: Tier, requestId: string, actualTokens: number): Promise<SettleResult>;
  /**
   * `settle`, plus the tier's usage right after the settlement, read in the same backend call (one
   * round trip; the HTTP API uses it for the response's rate-limit headers).
   */
  settleWithStatus(creatorId: CreatorId, tier: Tier, requestId: string, actualTokens: number): Promise<SettleResultWithStatus>;
  /** Forgets all usage of a creator (administrative). */
  reset(creatorId: CreatorId): Promise<void>;
  /**
   * Connects and loads the admission script without consuming anything, so the first real check
   * pays no connection set-up. Call it during Lambda init; it never throws (failures are reported
   * by the checks that follow).
   */
  warmUp(): Promise<boolean>;
  close(): Promise<void>;
}

export const consoleLogger: RateLimitLogger = {
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'WARN', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'ERROR', message, ...fields })),
};

/**
 * A denial is an expected answer, not a fault: its stack trace says nothing, and capturing one is
 * most of the cost of a denial served from the local cache.
 */
function denial(details: RateLimitErrorDetails): RateLimitError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new RateLimitError(details);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Rejects bad options before any client is created, naming the option and what it accepts. */
function validateOptions(options: RateLimiterOptions): void {
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

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  validateOptions(options);
  const tiers = options.tiers ? parseTierTable(options.tiers, 'tiers') : DEFAULT_TIERS;
  const store = createStore(options);
  const failMode = options.failMode ?? 'closed';
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS[store.backend];
  const defaultLease = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const anomalyFactor = options.anomalyFactor ?? 2;
  const logger = options.logger ?? consoleLogger;
  const onAnomaly = options.onAnomaly ?? ((report: AnomalyReport) => logger.warn('rate-limit anomaly', { ...report }));
  const denyCache =
    options.denyCache === false ? undefined : new DenyCache(options.denyCache?.maxEntries ?? DEFAULT_DENY_CACHE_SIZE);
  const breaker = options.circuitBreaker === false ? undefined : new CircuitBreaker(options.circuitBreaker);
  // Request windows live on one key per policy name: a reset deletes those of every tier.
  const requestPolicyNames = [
    ...new Set(Object.values(tiers).flatMap((tier) => tier.policies.filter((p) => p.unit === 'requests').map((p) => p.name))),
  ];

  async function callStore<T>(operation: string, call: () => Promise<T>): Promise<T | undefined> {
    let isProbe = false;
    try {
      if (breaker) isProbe = breaker.enter();
    } catch (cause) {
      return unavailable(operation, cause);
    }
    try {
      const result = await withDeadline(call(), timeoutMs);
      breaker?.succeeded(isProbe);
      return result;
    } catch (cause) {
      breaker?.failed(isProbe);
      return unavailable(operation, cause);
    }
  }

  /** A backend call failed or was not made (circuit open): fail closed (throw) or open (undefined). */
  function unavailable(operation: string, cause: unknown): undefined {
    const reason = cause instanceof Error ? cause.message : String(cause);
    if (failMode === 'closed') {
      throw new RateLimitUnavailableError(`rate-limit backend ${store.backend} unavailable during ${operation}: ${reason}`, {
        cause,
      });
    }
    logger.warn('rate-limit backend unavailable; allowing (fail mode open)', {
      backend: store.backend,
      operation,
      reason,
    });
    return undefined;
  }

  function anomalyThreshold(tier: TierDefinition): number {
    const headline = tier.policies[headlinePolicyIndex(tier)]!;
    return headline.unit === 'requests' && anomalyFactor > 0 ? Math.ceil(headline.limit * anomalyFactor) : 0;
  }

  // What a tier needs per call, computed once per tier: checks sit on every AI request.
  const plans = new WeakMap<TierDefinition, TierPlan>();
  function planOf(tier: TierDefinition): TierPlan {
    let plan = plans.get(tier);
    if (!plan) {
      const leaseSeconds = leaseSecondsOf(tier, defaultLease);
      plan = {
        headlineIndex: headlinePolicyIndex(tier),
        tokenCap: smallestTokenLimit(tier),
        anomalyThreshold: anomalyThreshold(tier),
        retentionMs: retentionSecondsOf(tier, leaseSeconds) * 1000,
        leaseMs: leaseSeconds * 1000,
        policies: toPolicySpecs(tier),
      };
      plans.set(tier, plan);
    }
    return plan;
  }

  // The hot path builds its objects as plain literals: on Node 20, a spread followed by more
  // properties (`{ ...a, b }`) costs about a microsecond per property, more than the rest of a check.
  function evaluationRequest(
    creatorId: string,
    tier: TierDefinition,
    requestId: string,
    tokens: number,
    keepRecord: boolean,
    reserve: boolean,
    extraAttempts = 0,
  ): EvaluationRequest {
    const plan = planOf(tier);
    return {
      creatorId,
      requestId,
      tokens,
      keepRecord,
      reserve,
      anomalyThreshold: plan.anomalyThreshold,
      extraAttempts,
      retentionMs: plan.retentionMs,
      leaseMs: plan.leaseMs,
      policies: plan.policies,
    };
  }

  function statusOf(creatorId: string, tierName: Tier, tier: TierDefinition, evaluation: Evaluation): RateLimitStatus {
    const policies = toPolicyStatuses(tier, evaluation.usage);
    const headline = policies[planOf(tier).headlineIndex]!;
    return { creatorId, tier: tierName, at: evaluation.now, limit: headline.limit, remaining: headline.remaining, reset: headline.reset, policies };
  }

  function decisionOf(status: RateLimitStatus, requestId: string, reservedTokens: number, duplicate: boolean, degraded: boolean): RateLimitDecision {
    return {
      creatorId: status.creatorId,
      tier: status.tier,
      at: status.at,
      limit: status.limit,
      remaining: status.remaining,
      reset: status.reset,
      policies: status.policies,
      allowed: true,
      requestId,
      reservedTokens,
      duplicate,
      degraded,
    };
  }

  /** Settles a reservation; with `withStatus`, the same backend call reads the tier's usage after it. */
  async function settleReservation(
    rawCreatorId: CreatorId,
    tierName: Tier,
    rawRequestId: string,
    actualTokens: number,
    withStatus: boolean,
  ): Promise<{ result: SettleResult; status: RateLimitStatus | undefined }> {
    const creatorId = normalizeCreatorId(rawCreatorId);
    const tier = resolveTier(tiers, tierName);
    const requestId = validateRequestId(rawRequestId);
    const tokens = validateTokens(actualTokens);
    const statusRequest = withStatus ? evaluationRequest(creatorId, tier, '', 0, false, false) : undefined;
    const settled = await callStore('settle', () => store.settle(creatorId, requestId, tokens, statusRequest));
    if (!settled) {
      const result: SettleResult = { creatorId, requestId, outcome: 'unknown', reservedTokens: 0, chargedTokens: 0 };
      return { result, status: withStatus ? degradedStatus(creatorId, tierName, tier) : undefined };
    }
    // A settle releases a lease and may refund tokens: denials cached here may no longer hold.
    if (settled.outcome === 'settled') denyCache?.forget(creatorId);
    const result: SettleResult = { creatorId, requestId, outcome: settled.outcome, reservedTokens: settled.reserved, chargedTokens: settled.charged };
    return { result, status: settled.status && statusOf(creatorId, tierName, tier, settled.status) };
  }

  function degradedStatus(creatorId: string, tierName: Tier, tier: TierDefinition): RateLimitStatus {
    const now = Date.now();
    const usage = tier.policies.map(() => ({ used: 0, reserved: 0, reset: now }));
    return statusOf(creatorId, tierName, tier, quietEvaluation('status', now, usage));
  }

  return {
    backend: store.backend,
    tiers,

    async check(rawCreatorId, tierName = DEFAULT_TIER, checkOptions = {}) {
      const creatorId = normalizeCreatorId(rawCreatorId);
      const tier = resolveTier(tiers, tierName);
      if (checkOptions === null || typeof checkOptions !== 'object') {
        throw new RateLimitInputError('options', 'must be an object with optional "tokens" and "requestId"');
      }
      const reserve = checkOptions.tokens !== undefined;
      const tokens = reserve ? validateTokens(checkOptions.tokens) : 0;
      const { tokenCap } = planOf(tier);
      if (tokenCap !== undefined && tokens > tokenCap) {
        throw new RateLimitInputError('tokens', `must not exceed ${tokenCap}, the smallest token budget of tier "${tierName}"`);
      }
      const callerRequestId = checkOptions.requestId === undefined ? undefined : validateRequestId(checkOptions.requestId);
      const requestId = callerRequestId ?? randomUUID();
      const keepRecord = callerRequestId !== undefined || reserve || store.mayResend;
      // A check with the caller's requestId always reaches the backend (it may be a replay).
      const cached = denyCache ? denyCache.consult(creatorId, tierName, callerRequestId === undefined, reserve, tokens) : 0;
      if (typeof cached !== 'number') {
        throw denial({
          retryAfter: Math.max(1, Math.ceil((cached.until - Date.now()) / 1000)),
          limit: cached.limit,
          remaining: 0,
          reset: cached.reset,
          policy: cached.policy,
          policies: cached.policies,
        });
      }
      // Not answered locally: `cached` is the count of local denials this backend call must report.
      const request = evaluationRequest(creatorId, tier, requestId, tokens, keepRecord, reserve, cached);

      const evaluation = await callStore('check', () => store.evaluate('check', request));
      if (!evaluation) {
        return decisionOf(degradedStatus(creatorId, tierName, tier), requestId, 0, false, true);
      }
      if (evaluation.anomalyAttempts > 0) {
        onAnomaly({
          creatorId,
          tier: tierName,
          attempts: evaluation.anomalyAttempts,
          threshold: request.anomalyThreshold,
          windowSeconds: ANOMALY_WINDOW_SECONDS,
        });
      }
      if (evaluation.code === 'denied') {
        const policy = tier.policies[evaluation.deniedIndex]!;
        const details: RateLimitErrorDetails = {
          retryAfter: Math.max(1, Math.ceil(evaluation.retryMs / 1000)),
          limit: policy.limit,
          remaining: 0,
          reset: evaluation.now + evaluation.retryMs,
          policy: policy.name,
          policies: toPolicyStatuses(tier, evaluation.usage),
        };
        // Cached against the local clock for the duration the backend computed, so clock skew
        // between this container and Redis cannot stretch or shorten it.
        const localNow = Date.now();
        const window = evaluation.anomalyWindow;
        denyCache?.remember(creatorId, tierName, {
          retryAfter: details.retryAfter,
          limit: details.limit,
          remaining: 0,
          reset: details.reset,
          policy: details.policy,
          policies: details.policies,
          until: localNow + evaluation.retryMs,
          unit: policy.unit,
          tokens,
          anomaly: {
            attempts: window.attempts,
            threshold: request.anomalyThreshold,
            endsAt: localNow + (window.endsAt - evaluation.now),
            warned: window.warned,
          },
        });
        throw denial(details);
      }
      return decisionOf(statusOf(creatorId, tierName, tier, evaluation), requestId, evaluation.reservedTokens, evaluation.code === 'duplicate', false);
    },

    async status(rawCreatorId, tierName = DEFAULT_TIER) {
      const creatorId = normalizeCreatorId(rawCreatorId);
      const tier = resolveTier(tiers, tierName);
      const request = evaluationRequest(creatorId, tier, '', 0, false, false);
      const evaluation = await callStore('status', () => store.evaluate('status', request));
      return evaluation ? statusOf(creatorId, tierName, tier, evaluation) : degradedStatus(creatorId, tierName, tier);
    },

    async settle(creatorId, tierName, requestId, actualTokens) {
      return (await settleReservation(creatorId, tierName, requestId, actualTokens, false)).result;
    },

    async settleWithStatus(creatorId, tierName, requestId, actualTokens) {
      const { result, status } = await settleReservation(creatorId, tierName, requestId, actualTokens, true);
      if (!status) throw new Error('rate-limit backend: a settle answered without the status it was asked for');
      return { ...result, status };
    },

    async reset(rawCreatorId) {
      const creatorId = normalizeCreatorId(rawCreatorId);
      denyCache?.forget(creatorId);
      const done = await callStore('reset', () => store.reset(creatorId, requestPolicyNames).then(() => true));
      if (!done) throw new RateLimitUnavailableError(`rate-limit backend ${store.backend} unavailable during reset`);
    },

    async warmUp() {
      const [tierName] = Object.keys(tiers);
      const tier = tiers[tierName!]!;
      try {
        await withDeadline(store.evaluate('status', evaluationRequest('warm-up', tier, '', 0, false, false)), Math.max(timeoutMs, 2000));
        return true;
      } catch {
        return false;
      }
    },

    close: () => store.close(),
  };
}

function createStore(options: RateLimiterOptions): RateLimitStore {
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  switch (options.backend) {
    case 'memory':
      return new MemoryStore(options.clock);
    case 'elasticache': {
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS.elasticache;
      const client = createElastiCacheClient(options.elasticache, timeoutMs);
      return new RedisScriptStore('elasticache', new IoredisTransport(client, Math.max(timeoutMs, 1000)), prefix);
    }
    case 'upstash': {
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS.upstash;
      const { url, token, credentials, retries = 0 } = options.upstash;
      if (!credentials && (!url || !token)) {
        throw new RateLimitConfigError('upstash needs "url" and "token", or a "credentials" function');
      }
      const resolve = credentials ?? (async () => ({ url: url!, token: token! }));
      const connect = async () => createUpstashClient(await resolve(), timeoutMs, retries);
      return new RedisScriptStore('upstash', new UpstashTransport(connect, retries > 0), prefix);
    }
    default:
      if ('store' in options && options.store) return options.store;
      throw new RateLimitConfigError('backend must be "elasticache", "upstash" or "memory" (or pass a store)');
  }
}
