/**
 * The contract between the limiter and a storage backend. A store evaluates every policy of a tier
 * in one atomic step, on its own clock; the limiter above it owns validation, error mapping and fail
 * modes. Requests and outcomes are typed per operation: nothing is told apart by counting fields.
 */
import type { BackendName } from '../core/types';

export type PolicyKind = 'requests' | 'tokens' | 'concurrent';

/** A policy as a store evaluates it. A policy name means one window: usage is stored by name. */
export interface PolicySpec {
  readonly name: string;
  readonly kind: PolicyKind;
  readonly limit: number;
  /** Window length (requests, tokens) or lease length (concurrent), ms. */
  readonly windowMs: number;
  /** A shadow policy is evaluated and counted like any other but never denies. @default false */
  readonly shadow?: boolean;
}

/**
 * The name a request policy's admissions are kept under. A shadow policy keeps its own log, so
 * shadow usage never counts against an enforcing policy of the same name in another tier (the
 * prefix cannot clash: policy names hold no ":").
 */
export function requestLogName(policy: Pick<PolicySpec, 'name' | 'shadow'>): string {
  return policy.shadow ? `shadow:${policy.name}` : policy.name;
}

/**
 * A creator's limits set at runtime, by policy name. Every store reads it in the same atomic step
 * as the admission (or status) it changes: a policy of that name is evaluated with the override's
 * limit instead of the tier's, on every tier that has it.
 */
export interface OverrideWrite {
  readonly limits: Readonly<Record<string, number>>;
  /** Store clock, epoch ms; undefined: until removed. */
  readonly expiresAt: number | undefined;
  readonly reason: string;
}

export interface StoredOverride extends OverrideWrite {
  /** When it was written (store clock). */
  readonly setAt: number;
}

/** Anomaly detection for an admission attempt. */
export interface AnomalyRule {
  /** Attempts within the anomaly window above which an anomaly is reported; 0 disables. */
  readonly threshold: number;
  /** Attempts denied locally (deny cache) since the last backend call: they count too. */
  readonly locallyDenied: number;
}

/** Where an admission is remembered, so a replay of its requestId is recognised and it can be settled. */
export interface AdmissionRecord {
  readonly requestId: string;
  /** How long the record answers replays and settlements (store clock, from the admission). */
  readonly retentionMs: number;
  /** How long the admission holds its in-flight lease (a plain check holds none, but may be settled). */
  readonly leaseMs: number;
}

/** One more request, reserving nothing. */
export interface CheckRequest {
  readonly creatorId: string;
  readonly policies: readonly PolicySpec[];
  readonly anomaly: AnomalyRule;
  /** Remember the admission (the caller gave a requestId, or the transport may re-send a call). */
  readonly record: AdmissionRecord | undefined;
}

/** One more request, reserving tokens and an in-flight lease until it is settled. */
export interface ReserveRequest {
  readonly creatorId: string;
  readonly policies: readonly PolicySpec[];
  readonly anomaly: AnomalyRule;
  readonly record: AdmissionRecord;
  readonly tokens: number;
  /** How long settled and reserved token entries are kept: the longest token window of the tier table. */
  readonly tokenHistoryMs: number;
}

export interface StatusRequest {
  readonly creatorId: string;
  readonly policies: readonly PolicySpec[];
}

export interface SettleRequest {
  readonly creatorId: string;
  readonly requestId: string;
  readonly actualTokens: number;
  readonly tokenHistoryMs: number;
  /** When given, the tier's usage right after the settlement is read in the same atomic step. */
  readonly statusOf: readonly PolicySpec[] | undefined;
}

export interface PolicyUsage {
  readonly used: number;
  readonly reserved: number;
  /** Epoch ms at which the next unit frees up (the decision time when nothing is counted). */
  readonly reset: number;
  /** The limit the store applied: the creator's override, else the policy's (absent on degraded answers). */
  readonly limit?: number;
}

/** A shadow policy that did not pass: how long until it would have. */
export interface ShadowVerdict {
  /** Index into the policies. */
  readonly index: number;
  /** Milliseconds until the request would pass it (>= 1). */
  readonly retryMs: number;
}

/** The creator's anomaly counter after a call: what a deny cache needs to keep counting locally. */
export interface AnomalyWindow {
  readonly attempts: number;
  /** When the counter's window ends (store clock, ms); equal to `now` when none is open. */
  readonly endsAt: number;
  readonly warned: boolean;
}

export interface AnomalyCount {
  readonly window: AnomalyWindow;
  /** Attempts to report: set once per counter window, when the threshold is first crossed. */
  readonly report: number | undefined;
}

interface OutcomeBase {
  /** Store clock, epoch ms. */
  readonly now: number;
  readonly usage: readonly PolicyUsage[];
  /** Undefined when the request disabled anomaly detection (or the tier has no request policy). */
  readonly anomaly: AnomalyCount | undefined;
  /** The shadow policies that would have denied this request, in policy order. */
  readonly shadowDenials: readonly ShadowVerdict[];
}

/** Why a request was denied: its own usage, or reservations that have not been settled yet. */
export type DenialCause = 'usage' | 'reservations';

export type AdmissionOutcome =
  | (OutcomeBase & { readonly kind: 'admitted'; readonly reservedTokens: number })
  | (OutcomeBase & {
      readonly kind: 'replay';
      /** Tokens the original admission reserved. */
      readonly reservedTokens: number;
      /** When the original admission was made (store clock, ms). */
      readonly admittedAt: number;
    })
  | (OutcomeBase & {
      readonly kind: 'denied';
      /** Index into the policies of the enforcing policy that denied (the one that frees last). */
      readonly deniedIndex: number;
      /** Milliseconds until the request would pass (>= 1). */
      readonly retryMs: number;
      readonly cause: DenialCause;
    });

export interface StatusOutcome {
  readonly now: number;
  readonly usage: readonly PolicyUsage[];
}

export type SettleResultKind = 'settled' | 'already-settled' | 'expired' | 'unknown';

export interface SettleOutcome {
  readonly result: SettleResultKind;
  readonly now: number;
  readonly reservedTokens: number;
  readonly chargedTokens: number;
  /** The tier's usage after the settlement (only when `statusOf` was given). */
  readonly usage: readonly PolicyUsage[] | undefined;
}

export interface RateLimitStore {
  readonly backend: BackendName;
  /** True when a call may reach the backend twice; the limiter then records every admission. */
  readonly mayResend: boolean;
  check(request: CheckRequest): Promise<AdmissionOutcome>;
  reserve(request: ReserveRequest): Promise<AdmissionOutcome>;
  status(request: StatusRequest): Promise<StatusOutcome>;
  settle(request: SettleRequest): Promise<SettleOutcome>;
  /**
   * Prepares for the first calls without consuming anything (connects, loads scripts); `policies`
   * is a tier to read, as a status would.
   */
  warmUp(policies: readonly PolicySpec[]): Promise<void>;
  /**
   * Forgets a creator's usage; `requestPolicies` names every request log to delete (requestLogName).
   * The creator's override is configuration, not usage: it stays.
   */
  reset(creatorId: string, requestPolicies: readonly string[]): Promise<void>;
  /** Replaces the creator's override (one key under the creator's hash tag; it lapses at `expiresAt`). */
  setOverride(creatorId: string, override: OverrideWrite): Promise<StoredOverride>;
  /** The creator's override, unless none was set or it has lapsed. */
  getOverride(creatorId: string): Promise<StoredOverride | undefined>;
  /** Deletes the creator's override; true when one was in force. */
  removeOverride(creatorId: string): Promise<boolean>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}
