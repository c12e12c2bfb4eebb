/**
 * Public types of the rate-limit library. Nothing here depends on a backend.
 */
import type { BackendName } from '../../contract/environment';

/** A plan tier name. The default table has `starter`, `pro` and `business`. */
export type Tier = string;

/** A creator identifier as applications pass it: a string, or a safe integer. */
export type CreatorId = string | number;

/** An exact rolling window over requests or LLM tokens: at most `limit` units in any `windowSeconds`. */
export interface WindowPolicy {
  readonly name: string;
  readonly unit: 'requests' | 'tokens';
  /** `shadow`: evaluated and counted, never denies (would-be denials are reported). @default 'enforce' */
  readonly mode?: PolicyMode;
  readonly limit: number;
  readonly windowSeconds: number;
}

/**
 * `enforce` (the default) denies when the policy is exceeded; `shadow` never denies and reports the
 * requests it would have denied, so a tighter policy can be dark-launched on real traffic.
 */
export type PolicyMode = 'enforce' | 'shadow';

/** A cap on admissions holding an unsettled lease (requests "in flight"). */
export interface ConcurrencyPolicy {
  readonly name: string;
  readonly unit: 'concurrent';
  /** `shadow`: evaluated and counted, never denies (would-be denials are reported). @default 'enforce' */
  readonly mode?: PolicyMode;
  readonly limit: number;
  /** How long a lease holds its slot when it is never settled. */
  readonly leaseSeconds: number;
}

export type Policy = WindowPolicy | ConcurrencyPolicy;
export type PolicyUnit = Policy['unit'];

export interface TierDefinition {
  readonly policies: readonly Policy[];
}

export type TierTable = Readonly<Record<Tier, TierDefinition>>;

/** What one policy looks like right now for one creator. */
export interface PolicyStatus {
  readonly name: string;
  readonly unit: PolicyUnit;
  readonly limit: number;
  /** Units counted in the current window (settled tokens, admitted requests, held leases). */
  readonly used: number;
  /** Tokens held by reservations that have not been settled yet (0 for other units). */
  readonly reserved: number;
  /** `limit - used - reserved`, never below 0. */
  readonly remaining: number;
  /**
   * Epoch milliseconds at which the next unit of this policy frees up: when the oldest counted
   * request or token entry leaves the window, or when the earliest lease expires. Equal to the
   * decision time when nothing is counted.
   */
  readonly reset: number;
  /** Window length (requests and tokens) or lease length (concurrent), in seconds. */
  readonly windowSeconds: number;
  /** Present (true) on a shadow policy: it never denies, and RateLimit headers leave it out. */
  readonly shadow?: true;
  /** Present when a per-creator override replaces the tier's limit: the tier's own limit. */
  readonly tierLimit?: number;
}

/** The summary fields every result carries: they describe the tier's headline policy. */
export interface HeadlineStatus {
  readonly limit: number;
  readonly remaining: number;
  readonly reset: number;
}

export interface RateLimitStatus extends HeadlineStatus {
  readonly creatorId: string;
  readonly tier: Tier;
  /** Backend time the status was computed at (epoch ms). */
  readonly at: number;
  readonly policies: readonly PolicyStatus[];
}

/** A successful admission. Denials are thrown as `RateLimitError`. */
export interface RateLimitDecision extends RateLimitStatus {
  readonly allowed: true;
  /** Present when shadow policies would have denied this admission (they never deny). */
  readonly shadow?: readonly ShadowDenial[];
  /** The idempotency key of this admission: the caller's, or one generated for it. */
  readonly requestId: string;
  /** Tokens reserved against the tier's token policies (to be settled later). */
  readonly reservedTokens: number;
  /**
   * True when this is a replay of an earlier admission with the same `requestId` (answered only
   * within the tier's record retention, on the backend clock). The work was admitted before:
   * do not perform it twice.
   */
  readonly duplicate: boolean;
  /** Set on a replay: when the original admission was made (backend clock, epoch ms). */
  readonly replayOf?: { readonly admittedAt: number };
  /** True when the backend could not answer and the fail mode `open` let the request through. */
  readonly degraded: boolean;
}

/** A shadow policy that would have denied an admitted request. */
export interface ShadowDenial {
  readonly policy: string;
  readonly limit: number;
  /** Whole seconds until the shadow policy would have let the request through (>= 1). */
  readonly retryAfter: number;
}

/** Reported (and logged) for every admission a shadow policy would have denied. */
export interface ShadowDenialReport extends ShadowDenial {
  readonly creatorId: string;
  readonly tier: Tier;
}

/** A per-creator override as `setCreatorOverride` takes it. */
export interface CreatorOverrideInput {
  /** New limits by policy name; names not in the creator's tier are kept for other tiers. */
  readonly policies: Readonly<Record<string, { readonly limit: number }>>;
  /** Epoch ms after which the override no longer applies (omitted: until removed). */
  readonly expiresAt?: number;
  /** Why the limits change (1 to 500 characters): kept with the override and logged. */
  readonly reason: string;
}

/** A per-creator override as stored. */
export interface CreatorOverride extends CreatorOverrideInput {
  readonly creatorId: string;
  /** When it was set (backend clock, epoch ms). */
  readonly setAt: number;
}

export interface CheckOptions {
  /** Estimated LLM tokens to reserve against the tier's token policies. */
  readonly tokens?: number;
  /** Idempotency key: a repeated admission with the same key is answered without consuming again. */
  readonly requestId?: string;
}

export type SettleOutcome =
  /** The reservation was reconciled: unused tokens refunded or overage charged, lease released. */
  | 'settled'
  /** It had been settled before; nothing changed. */
  | 'already-settled'
  /** Its lease had expired: the slot was already free and the reserved charge stays (overage is still charged). */
  | 'expired'
  /** No reservation with this id is known (never made, or older than the retention period). */
  | 'unknown';

export interface SettleResult {
  readonly creatorId: string;
  readonly requestId: string;
  readonly outcome: SettleOutcome;
  readonly reservedTokens: number;
  /** The tokens finally charged for this request (equal to `reservedTokens` when nothing changed). */
  readonly chargedTokens: number;
}

/** A settlement and the tier's usage right after it, read in the same backend call. */
export interface SettleResultWithStatus extends SettleResult {
  readonly status: RateLimitStatus;
}

/** Reported when a creator's attempts exceed the anomaly threshold within 5 minutes. */
export interface AnomalyReport {
  readonly creatorId: string;
  readonly tier: Tier;
  readonly attempts: number;
  readonly threshold: number;
  readonly windowSeconds: number;
}

/** Defined once, in the contract the CDK stacks share. */
export type { FailMode, BackendName } from '../../contract/environment';
/** What answers a limiter: a store's backend, or `http`, the deployed API (lambda/rate-limit/http). */
export type LimiterBackendName = BackendName | 'http';
