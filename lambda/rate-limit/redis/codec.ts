/**
 * The wire codec of the Redis scripts, in one place: which script an operation runs, its keys and
 * arguments (layout described in scripts/base.lua.ts and the scripts' headers), and the decoding of
 * each reply into a typed outcome. The script store and the tests use only this module.
 */
import type {
  AdmissionOutcome,
  AnomalyCount,
  CheckRequest,
  PolicySpec,
  PolicyUsage,
  ReserveRequest,
  SettleOutcome,
  SettleRequest,
  StatusOutcome,
  StatusRequest,
} from '../store/store';
import { creatorKeys, keyList } from './keys';
import type { ScriptName } from './scripts';

export interface ScriptCall {
  readonly script: ScriptName;
  readonly keys: readonly string[];
  readonly args: readonly string[];
}

/**
 * `clockMs` replaces the server's TIME: only the differential tests pass it, to run Redis and the
 * memory store on one controlled clock. Production calls leave it undefined.
 */
export interface EncodeContext {
  readonly keyPrefix: string;
  readonly clockMs?: number | undefined;
}

const KIND_CODES = { requests: 'r', tokens: 't', concurrent: 'c' } as const;
const ADMISSION_HEADER = 12;
const SETTLE_HEADER = 4;
const SETTLE_RESULTS = ['settled', 'already-settled', 'expired', 'unknown'] as const;

export function encodeCheck(request: CheckRequest, context: EncodeContext): ScriptCall {
  const { record } = request;
  return call('check', request.creatorId, request.policies, context, [
    String(request.anomaly.threshold),
    String(request.anomaly.locallyDenied),
    record?.requestId ?? '',
    String(record?.retentionMs ?? 0),
    String(record?.leaseMs ?? 0),
  ]);
}

export function encodeReserve(request: ReserveRequest, context: EncodeContext): ScriptCall {
  const { record } = request;
  return call('reserve', request.creatorId, request.policies, context, [
    String(request.anomaly.threshold),
    String(request.anomaly.locallyDenied),
    record.requestId,
    String(record.retentionMs),
    String(record.leaseMs),
    String(request.tokens),
    String(request.tokenHistoryMs),
  ]);
}

export function encodeStatus(request: StatusRequest, context: EncodeContext): ScriptCall {
  return call('status', request.creatorId, request.policies, context, []);
}

export function encodeSettle(request: SettleRequest, context: EncodeContext): ScriptCall {
  return call('settle', request.creatorId, request.statusOf ?? [], context, [
    request.requestId,
    String(request.actualTokens),
    String(request.tokenHistoryMs),
  ]);
}

function call(script: ScriptName, creatorId: string, policies: readonly PolicySpec[], context: EncodeContext, operationArgs: string[]): ScriptCall {
  const requestPolicies = policies.filter((policy) => policy.kind === 'requests').map((policy) => policy.name);
  const args = [context.clockMs === undefined ? '' : String(context.clockMs), String(policies.length)];
  for (const policy of policies) args.push(policy.name, KIND_CODES[policy.kind], String(policy.limit), String(policy.windowMs));
  return { script, keys: keyList(creatorKeys(creatorId, context.keyPrefix), requestPolicies), args: args.concat(operationArgs) };
}

export function decodeAdmission(reply: unknown, policyCount: number): AdmissionOutcome {
  const values = numbers(reply, ADMISSION_HEADER + 3 * policyCount);
  const [outcome, now, deniedPolicy, retryMs, cause, reservedTokens, admittedAt] = values as [number, number, number, number, number, number, number];
  const usage = usageFrom(values, ADMISSION_HEADER, policyCount);
  const anomaly = anomalyFrom(values);
  switch (outcome) {
    case 0:
      return { kind: 'denied', now, usage, anomaly, deniedIndex: deniedPolicy - 1, retryMs, cause: cause === 1 ? 'reservations' : 'usage' };
    case 1:
      return { kind: 'admitted', now, usage, anomaly, reservedTokens };
    case 2:
      return { kind: 'replay', now, usage, anomaly, reservedTokens, admittedAt };
    default:
      return fail(`unknown admission outcome ${outcome}`);
  }
}

export function decodeStatus(reply: unknown, policyCount: number): StatusOutcome {
  const values = numbers(reply, 1 + 3 * policyCount);
  return { now: values[0]!, usage: usageFrom(values, 1, policyCount) };
}

export function decodeSettle(reply: unknown, policyCount: number): SettleOutcome {
  const values = numbers(reply, SETTLE_HEADER + 3 * policyCount);
  const [code, now, reservedTokens, chargedTokens] = values as [number, number, number, number];
  const result = SETTLE_RESULTS[code - 1] ?? fail(`unknown settle result ${code}`);
  return { result, now, reservedTokens, chargedTokens, usage: policyCount > 0 ? usageFrom(values, SETTLE_HEADER, policyCount) : undefined };
}

function anomalyFrom(values: readonly number[]): AnomalyCount | undefined {
  const [counted, attempts, endsAt, warned, report] = values.slice(7, 12) as [number, number, number, number, number];
  if (counted !== 1) return undefined;
  return { window: { attempts, endsAt, warned: warned === 1 }, report: report > 0 ? report : undefined };
}

function usageFrom(values: readonly number[], offset: number, policyCount: number): PolicyUsage[] {
  const usage: PolicyUsage[] = [];
  for (let at = offset; at < offset + 3 * policyCount; at += 3) usage.push({ used: values[at]!, reserved: values[at + 1]!, reset: values[at + 2]! });
  return usage;
}

function numbers(reply: unknown, expectedLength: number): number[] {
  const valid = Array.isArray(reply) && reply.length === expectedLength && reply.every((value) => typeof value === 'number');
  if (!valid) fail(`malformed script reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  return reply as number[];
}

function fail(message: string): never {
  throw new Error(`rate-limit backend: ${message}`);
}
