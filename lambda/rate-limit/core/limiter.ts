/**
 * The rate limiter over any store: validates input, asks the store for one atomic evaluation, and
 * turns the answer into a decision, a RateLimitError, or (when the backend fails) the fail mode.
 * It knows only the store interface; the entry modules choose and wire the store.
 */
import { withDeadline } from '../resilience/deadline';
import { DenyCache, DEFAULT_DENY_CACHE_SIZE } from '../resilience/deny-cache';
import type { AdmissionOutcome, RateLimitStore } from '../store/store';
import { decisionOf, degradedStatus, denial, statusOf } from './decisions';
import { RateLimitInputError, type RateLimitErrorDetails } from './errors';
import { guardedCalls } from './guarded-calls';
import { overridableLimits, parseOverride, toCreatorOverride } from './overrides';
import { consoleLogger, DEFAULT_TIER, DEFAULT_TIMEOUT_MS, validateOptions, type LimiterOptions } from './options';
import { requestPolicyNamesOf, tokenHistorySecondsOf, toPolicyStatuses } from './policies';
import { tierPlanner, type TierPlan } from './tier-plans';
import { DEFAULT_LEASE_SECONDS, DEFAULT_TIERS, parseTierTable } from './tiers';
import type {
  AnomalyReport,
  LimiterBackendName,
  CheckOptions,
  CreatorId,
  CreatorOverride,
  CreatorOverrideInput,
  RateLimitDecision,
  RateLimitStatus,
  SettleResult,
  SettleResultWithStatus,
  ShadowDenial,
  ShadowDenialReport,
  Tier,
  TierDefinition,
  TierTable,
} from './types';
import { normalizeCreatorId, resolveTier, validateRequestId, validateTokens } from './validation';

const ANOMALY_WINDOW_SECONDS = 300;

export interface RateLimiter {
  readonly backend: LimiterBackendName;
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
  /** Forgets all usage of a creator (administrative; the creator's override stays). */
  reset(creatorId: CreatorId): Promise<void>;
  /**
   * Replaces the creator's override (administrative): the named policies take these limits on every
   * tier that has them, from the next check on (every process within 1 second), until `expiresAt`.
   */
  setOverride(creatorId: CreatorId, override: CreatorOverrideInput): Promise<CreatorOverride>;
  /** The creator's override in force, if any. */
  getOverride(creatorId: CreatorId): Promise<CreatorOverride | undefined>;
  /** Deletes the creator's override; true when one was in force. */
  removeOverride(creatorId: CreatorId): Promise<boolean>;
  /**
   * Connects and loads the scripts without consuming anything, so the first real check pays no
   * connection set-up. Call it during Lambda init; it never throws (failures are reported by the
   * checks that follow).
   */
  warmUp(): Promise<boolean>;
  close(): Promise<void>;
}

/** A limiter over `store`; `options` are validated here (the entry modules validate before creating clients). */
export function createLimiter(store: RateLimitStore, options: LimiterOptions): RateLimiter {
  validateOptions(options);
  const tiers = options.tiers ? parseTierTable(options.tiers, 'tiers') : DEFAULT_TIERS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS[store.backend];
  const logger = options.logger ?? consoleLogger;
  const onAnomaly = options.onAnomaly ?? ((report: AnomalyReport) => logger.warn('rate-limit anomaly', { ...report }));
  const onShadowDenial =
    options.onShadowDenial ??
    ((report: ShadowDenialReport) => logger.warn('rate-limit shadow policy would deny', { shadow: { ...report } }));
  const overrideLimits = overridableLimits(tiers);
  const denyCache = options.denyCache === false ? undefined : new DenyCache(options.denyCache?.maxEntries ?? DEFAULT_DENY_CACHE_SIZE);
  const guarded = guardedCalls(store.backend, {
    failMode: options.failMode ?? 'closed',
    timeoutMs,
    logger,
    circuitBreaker: options.circuitBreaker,
  });
  const planOf = tierPlanner(options.leaseSeconds ?? DEFAULT_LEASE_SECONDS, options.anomalyFactor ?? 2);
  const requestPolicyNames = requestPolicyNamesOf(tiers);
  const tokenHistoryMs = tokenHistorySecondsOf(tiers) * 1000;

  function resolve(rawCreatorId: CreatorId, tierName: Tier): { creatorId: string; tier: TierDefinition; plan: TierPlan } {
    const creatorId = normalizeCreatorId(rawCreatorId);
    const tier = resolveTier(tiers, tierName);
    return { creatorId, tier, plan: planOf(tier) };
  }

  /** Reports an anomaly the store counted, and turns a denial into a (cached) RateLimitError. */
  function answer(
    creatorId: string,
    tierName: Tier,
    tier: TierDefinition,
    plan: TierPlan,
    requestId: string,
    tokens: number,
    outcome: AdmissionOutcome,
    askedAt: number,
  ): RateLimitDecision {
    if (outcome.anomaly?.report !== undefined) {
      onAnomaly({
        creatorId,
        tier: tierName,
        attempts: outcome.anomaly.report,
        threshold: plan.anomalyThreshold,
        windowSeconds: ANOMALY_WINDOW_SECONDS,
      });
    }
    if (outcome.kind === 'denied') throw rememberedDenial(creatorId, tierName, tier, plan, tokens, outcome, askedAt);
    const status = statusOf(creatorId, tierName, tier, plan.headlineIndex, outcome.now, outcome.usage);
    const replayOf = outcome.kind === 'replay' ? { admittedAt: outcome.admittedAt } : undefined;
    // A replay was counted (and reported) when first admitted.
    const shadow = outcome.kind === 'admitted' ? shadowDenialsOf(creatorId, tierName, tier, outcome) : [];
    return decisionOf(status, requestId, { reservedTokens: outcome.reservedTokens, degraded: false, replayOf, shadow });
  }

  /** The shadow policies that would have denied an admission, each reported once. */
  function shadowDenialsOf(creatorId: string, tierName: Tier, tier: TierDefinition, outcome: AdmissionOutcome): ShadowDenial[] {
    return outcome.shadowDenials.map(({ index, retryMs }) => {
      const shadow: ShadowDenial = {
        policy: tier.policies[index].name,
        limit: outcome.usage[index].limit ?? tier.policies[index].limit,
        retryAfter: Math.max(1, Math.ceil(retryMs / 1000)),
      };
      onShadowDenial({ creatorId, tier: tierName, ...shadow });
      return shadow;
    });
  }

  function rememberedDenial(
    creatorId: string,
    tierName: Tier,
    tier: TierDefinition,
    plan: TierPlan,
    tokens: number,
    outcome: Extract<AdmissionOutcome, { kind: 'denied' }>,
    askedAt: number,
  ) {
    const policy = tier.policies[outcome.deniedIndex];
    const details: RateLimitErrorDetails = {
      retryAfter: Math.max(1, Math.ceil(outcome.retryMs / 1000)),
      limit: outcome.usage[outcome.deniedIndex]?.limit ?? policy.limit,
      remaining: 0,
      reset: outcome.now + outcome.retryMs,
      policy: policy.name,
      policies: toPolicyStatuses(tier, outcome.usage),
      reservationsInFlight: outcome.cause === 'reservations',
    };
    // Cached against the local clock for the duration the backend computed, so clock skew between
    // this container and the backend cannot stretch or shorten it.
    const localNow = Date.now();
    const window = outcome.anomaly?.window ?? { attempts: 0, endsAt: outcome.now, warned: false };
    denyCache?.remember(creatorId, tierName, {
      ...details,
      policies: details.policies!,
      until: localNow + outcome.retryMs,
      checkedAt: askedAt,
      unit: policy.unit,
      tokens,
      anomaly: {
        attempts: window.attempts,
        threshold: plan.anomalyThreshold,
        endsAt: localNow + (window.endsAt - outcome.now),
        warned: window.warned,
      },
    });
    return denial(details);
  }

  async function settleReservation(
    rawCreatorId: CreatorId,
    tierName: Tier,
    rawRequestId: string,
    actualTokens: number,
    withStatus: boolean,
  ) {
    const { creatorId, tier, plan } = resolve(rawCreatorId, tierName);
    const requestId = validateRequestId(rawRequestId);
    const tokens = validateTokens(actualTokens);
    const settled = await guarded('settle', () =>
      store.settle({ creatorId, requestId, actualTokens: tokens, tokenHistoryMs, statusOf: withStatus ? plan.policies : undefined }),
    );
    if (!settled) {
      const result: SettleResult = { creatorId, requestId, outcome: 'unknown', reservedTokens: 0, chargedTokens: 0 };
      return { result, status: withStatus ? degradedStatus(creatorId, tierName, tier, plan.headlineIndex) : undefined };
    }
    // A settle releases a lease and may refund tokens: denials cached here may no longer hold.
    if (settled.result === 'settled') denyCache?.forget(creatorId);
    const result: SettleResult = {
      creatorId,
      requestId,
      outcome: settled.result,
      reservedTokens: settled.reservedTokens,
      chargedTokens: settled.chargedTokens,
    };
    const status = settled.usage && statusOf(creatorId, tierName, tier, plan.headlineIndex, settled.now, settled.usage);
    return { result, status };
  }

  return {
    backend: store.backend,
    tiers,

    async check(rawCreatorId, tierName = DEFAULT_TIER, checkOptions = {}) {
      const { creatorId, tier, plan } = resolve(rawCreatorId, tierName);
      if (checkOptions === null || typeof checkOptions !== 'object') {
        throw new RateLimitInputError('options', 'must be an object with optional "tokens" and "requestId"');
      }
      const reserve = checkOptions.tokens !== undefined;
      const tokens = reserve ? validateTokens(checkOptions.tokens) : 0;
      if (plan.tokenCap !== undefined && tokens > plan.tokenCap) {
        throw new RateLimitInputError('tokens', `must not exceed ${plan.tokenCap}, the smallest token budget of tier "${tierName}"`);
      }
      const callerRequestId = checkOptions.requestId === undefined ? undefined : validateRequestId(checkOptions.requestId);
      const requestId = callerRequestId ?? crypto.randomUUID();
      // A check with the caller's requestId always reaches the backend (it may be a replay).
      const mayServe = callerRequestId === undefined;
      let cached = denyCache ? denyCache.consult(creatorId, tierName, mayServe, reserve, tokens) : 0;
      // Another check is re-asking the backend about this creator's denial: share its answer.
      while (cached instanceof Promise) {
        await cached;
        cached = denyCache!.consult(creatorId, tierName, mayServe, reserve, tokens);
      }
      if (typeof cached !== 'number') {
        throw denial({ ...cached, retryAfter: Math.max(1, Math.ceil((cached.until - Date.now()) / 1000)), remaining: 0 });
      }
      // Not answered locally: `cached` is the count of local denials this backend call must report.
      const anomaly = { threshold: plan.anomalyThreshold, locallyDenied: cached };
      const keepRecord = callerRequestId !== undefined || reserve || store.mayResend;
      const record = keepRecord ? { requestId, retentionMs: plan.retentionMs, leaseMs: plan.leaseMs } : undefined;
      const common = { creatorId, policies: plan.policies, anomaly };
      // The deny cache measures a cached denial's age from the moment the backend was asked.
      const askedAt = Date.now();
      const call = guarded('check', () =>
        reserve ? store.reserve({ ...common, record: record!, tokens, tokenHistoryMs }) : store.check({ ...common, record }),
      );
      denyCache?.track(creatorId, tierName, call);
      const outcome = await call;
      if (!outcome)
        return decisionOf(degradedStatus(creatorId, tierName, tier, plan.headlineIndex), requestId, { reservedTokens: 0, degraded: true });
      return answer(creatorId, tierName, tier, plan, requestId, tokens, outcome, askedAt);
    },

    async status(rawCreatorId, tierName = DEFAULT_TIER) {
      const { creatorId, tier, plan } = resolve(rawCreatorId, tierName);
      const outcome = await guarded('status', () => store.status({ creatorId, policies: plan.policies }));
      if (!outcome) return degradedStatus(creatorId, tierName, tier, plan.headlineIndex);
      return statusOf(creatorId, tierName, tier, plan.headlineIndex, outcome.now, outcome.usage);
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
      // A reset that did not happen must say so in either fail mode.
      await guarded('reset', () => store.reset(creatorId, requestPolicyNames), 'closed');
    },

    async setOverride(rawCreatorId, input) {
      const creatorId = normalizeCreatorId(rawCreatorId);
      const override = parseOverride(input, overrideLimits, Date.now());
      // Denials cached here were computed under the old limits; other processes re-ask within 1 s.
      denyCache?.forget(creatorId);
      const stored = await guarded('override', () => store.setOverride(creatorId, override), 'closed');
      denyCache?.forget(creatorId);
      return toCreatorOverride(creatorId, stored!);
    },

    async getOverride(rawCreatorId) {
      const creatorId = normalizeCreatorId(rawCreatorId);
      const stored = await guarded('override', () => store.getOverride(creatorId), 'closed');
      return stored && toCreatorOverride(creatorId, stored);
    },

    async removeOverride(rawCreatorId) {
      const creatorId = normalizeCreatorId(rawCreatorId);
      denyCache?.forget(creatorId);
      const removed = await guarded('override', () => store.removeOverride(creatorId), 'closed');
      denyCache?.forget(creatorId);
      return removed!;
    },

    async warmUp() {
      const tier = Object.values(tiers)[0];
      try {
        await withDeadline(store.warmUp(planOf(tier).policies), Math.max(timeoutMs, 2000));
        return true;
      } catch {
        return false;
      }
    },

    close: () => store.close(),
  };
}
