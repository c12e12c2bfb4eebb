/**
 * A creator's traffic at the limits of its tier, in simulated time: what the steady-state
 * measurements (steady-state.ts) replay through a store on a controlled clock.
 *
 * - Pace: one admission every `intervalMs`, the spacing of the tightest enforcing request policy
 *   plus 1 ms, so that no window (open or closed at its ends) ever holds more than its limit.
 * - Tokens: every reservation reserves (and is settled at) the same share of the smallest daily
 *   budget, sized so that the most admissions a token window can hold use the budget up.
 * - Leases: each reservation is settled `callMs` after it (an LLM call), as long as the in-flight
 *   cap and the lease allow: the in-flight set is never full when the next admission comes.
 *
 * Times are offsets from the simulation's start, in ms; slot i is at i * intervalMs.
 */
import type { PolicySpec } from '../../lambda/rate-limit/store/store';

/** The longest LLM call simulated: the AI endpoint's timeout. */
export const MAX_CALL_MS = 60_000;

export interface TrafficSchedule {
  readonly intervalMs: number;
  /** Tokens reserved by each reservation and charged when it is settled (0: the tier has no token budget). */
  readonly tokensPerReservation: number;
  /** From a reservation to its settle. */
  readonly callMs: number;
  /** Leases held right after a reservation, once the traffic is steady. */
  readonly inFlightAfterReservation: number;
}

export type TrafficEvent =
  | { readonly kind: 'reserve'; readonly at: number; readonly index: number }
  | { readonly kind: 'settle'; readonly at: number; readonly index: number }
  | { readonly kind: 'check'; readonly at: number; readonly index: number };

/** The most admissions spaced `intervalMs` apart that a window of `windowMs` (ends included) can hold. */
export function admissionsPerWindow(windowMs: number, intervalMs: number): number {
  return Math.floor(windowMs / intervalMs) + 1;
}

export function scheduleAtLimits(policies: readonly PolicySpec[], maxCallMs = MAX_CALL_MS): TrafficSchedule {
  const enforcing = policies.filter((policy) => !policy.shadow);
  const requests = enforcing.filter((policy) => policy.kind === 'requests');
  if (requests.length === 0) throw new Error('scheduleAtLimits: the tier needs an enforcing request policy (it sets the pace)');
  // limit admissions spaced more than windowMs / limit apart never fit in one window with a further one.
  const intervalMs = Math.max(...requests.map((policy) => Math.floor(policy.windowMs / policy.limit) + 1));
  const budgets = enforcing.filter((policy) => policy.kind === 'tokens');
  const tokensPerReservation =
    budgets.length === 0
      ? 0
      : Math.min(...budgets.map((policy) => Math.floor(policy.limit / admissionsPerWindow(policy.windowMs, intervalMs))));
  const cap = enforcing.find((policy) => policy.kind === 'concurrent');
  // A settle due at the very moment of the next admission runs first (see reservationEvents), so
  // `cap * intervalMs` would still leave a free slot; one ms less keeps it clear of the edge. The
  // lease (the policy's window) must outlive the call, or the settle would find it expired.
  const callMs = cap ? Math.min(maxCallMs, cap.limit * intervalMs - 1, cap.windowMs - 1) : maxCallMs;
  if (callMs < 1) throw new Error('scheduleAtLimits: no call duration fits the in-flight policy');
  return { intervalMs, tokensPerReservation, callMs, inFlightAfterReservation: Math.ceil(callMs / intervalMs) };
}

export function slotTime(schedule: TrafficSchedule, index: number): number {
  return index * schedule.intervalMs;
}

/** Slots whose time falls within the first `durationMs`. */
export function slotsWithin(schedule: TrafficSchedule, durationMs: number): number {
  return Math.ceil(durationMs / schedule.intervalMs);
}

/** The first slot strictly after `at`. */
export function firstSlotAfter(schedule: TrafficSchedule, at: number): number {
  return Math.floor(at / schedule.intervalMs) + 1;
}

/**
 * Reservations in slots first .. first+count-1, each with its settle, in time order; at equal times
 * a settle comes first (it frees its lease before the next admission asks for one).
 */
export function reservationEvents(schedule: TrafficSchedule, first: number, count: number): TrafficEvent[] {
  const events: TrafficEvent[] = [];
  for (let index = first; index < first + count; index++) {
    const at = slotTime(schedule, index);
    events.push({ kind: 'reserve', at, index }, { kind: 'settle', at: at + schedule.callMs, index });
  }
  const order = (event: TrafficEvent): number => (event.kind === 'settle' ? 0 : 1);
  return events.sort((a, b) => a.at - b.at || order(a) - order(b) || a.index - b.index);
}

/** Plain checks (no tokens, no lease) in slots first .. first+count-1. */
export function checkEvents(schedule: TrafficSchedule, first: number, count: number): TrafficEvent[] {
  return Array.from({ length: count }, (_, offset) => ({ kind: 'check', at: slotTime(schedule, first + offset), index: first + offset }));
}
