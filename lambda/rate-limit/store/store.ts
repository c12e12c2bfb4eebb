/**
 * The contract between the limiter and a storage backend. A store evaluates a whole tier in one
 * atomic step; the limiter above it owns validation, error mapping and fail modes.
 */
import type { BackendName } from '../core/types';

/** Policy as sent to a store: compact unit code and milliseconds. */
export interface PolicySpec {
  readonly name: string;
  /** r = request window, t = token window, c = concurrency (in-flight). */
  readonly unit: 'r' | 't' | 'c';
  readonly limit: number;
  /** Window length for r and t, lease length for c. */
  readonly windowMs: number;
}

export interface EvaluationRequest {
  readonly creatorId: string;
  /** Idempotency key; always set for checks (generated when the caller gave none). */
  readonly requestId: string;
  /** Tokens to reserve (check only). */
  readonly tokens: number;
  /** Remember the admission under requestId (for replay detection and settlement). */
  readonly keepRecord: boolean;
  /** Reserve tokens and take an in-flight lease (the reserve/settle flow). */
  readonly reserve: boolean;
  /** Attempts in 5 minutes above which an anomaly is reported; 0 disables. */
  readonly anomalyThreshold: number;
  /** Attempts answered locally (deny cache) since the last backend call, to include in the count. */
  readonly extraAttempts: number;
  /** How long a record is kept for replays and late settlement. */
  readonly retentionMs: number;
  /** Lease length of a reservation. */
  readonly leaseMs: number;
  readonly policies: readonly PolicySpec[];
}

export interface PolicyUsage {
  readonly used: number;
  readonly reserved: number;
  readonly reset: number;
}

export interface Evaluation {
  readonly code: 'allowed' | 'denied' | 'duplicate' | 'status';
  /** Backend clock, epoch ms. */
  readonly now: number;
  /** Index into policies of the policy that denied, or -1. */
  readonly deniedIndex: number;
  /** Milliseconds until the request would pass (denied only). */
  readonly retryMs: number;
  /** Attempts counted when the anomaly threshold was first crossed in this window; 0 otherwise. */
  readonly anomalyAttempts: number;
  /** Tokens held by this admission (or by the original one, for a replay). */
  readonly reservedTokens: number;
  /** The creator's anomaly window after this call: attempts so far, its end (backend ms), warned yet. */
  readonly anomalyWindow: AnomalyWindow;
  readonly usage: readonly PolicyUsage[];
}

/**
 * An evaluation with nothing to tell beyond usage: no denial, no reservation, no anomaly (a plain
 * admission, or the empty status of a degraded call). A non-denial's anomaly window is never read.
 */
export function quietEvaluation(code: 'allowed' | 'status', now: number, usage: readonly PolicyUsage[]): Evaluation {
  return {
    code,
    now,
    deniedIndex: -1,
    retryMs: 0,
    anomalyAttempts: 0,
    reservedTokens: 0,
    anomalyWindow: { attempts: 0, endsAt: now, warned: false },
    usage,
  };
}

export interface AnomalyWindow {
  readonly attempts: number;
  readonly endsAt: number;
  readonly warned: boolean;
}

export interface SettleEvaluation {
  readonly outcome: 'settled' | 'already-settled' | 'expired' | 'unknown';
  readonly now: number;
  readonly reserved: number;
  readonly charged: number;
  /** The tier's usage right after the settlement, read in the same atomic step (when asked). */
  readonly status: Evaluation | undefined;
}

export interface RateLimitStore {
  readonly backend: BackendName;
  /** True when a call may reach the backend twice; the limiter then records every admission. */
  readonly mayResend: boolean;
  evaluate(op: 'check' | 'status', request: EvaluationRequest): Promise<Evaluation>;
  /** Settles a reservation; given `status` (the tier's policies), then evaluates it as a status call would. */
  settle(creatorId: string, requestId: string, actualTokens: number, status?: EvaluationRequest): Promise<SettleEvaluation>;
  /** Forgets everything about a creator; `requestPolicies` names every request window to delete. */
  reset(creatorId: string, requestPolicies: readonly string[]): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

export const EVALUATION_CODES = ['denied', 'allowed', 'duplicate', 'status'] as const;
export const SETTLE_OUTCOMES = ['settled', 'already-settled', 'expired', 'unknown'] as const;
