/**
 * The wire codec of the Redis scripts, in one place: which script an operation runs, its keys and
 * arguments (layout described in scripts/base.lua.ts and the scripts' headers), and the decoding of
 * each reply into a typed outcome. The script store and the tests use only this module.
 */
import type {
  AdmissionOutcome,
  AnomalyCount,
  CheckRequest,
  OverrideWrite,
  PolicySpec,
  PolicyUsage,
  ReserveRequest,
  SettleOutcome,
  SettleRequest,
  ShadowVerdict,
  StatusOutcome,
  StatusRequest,
  StoredOverride,
} from '../store/store';
import { requestLogName } from '../store/store';
import { creatorKeys, keyList, scriptKeyList } from './keys';
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
  return usageCall('check', request.creatorId, record?.requestId, request.policies, context, [
    String(request.anomaly.threshold),
    String(request.anomaly.locallyDenied),
    String(record?.retentionMs ?? 0),
    String(record?.leaseMs ?? 0),
  ]);
}

export function encodeReserve(request: ReserveRequest, context: EncodeContext): ScriptCall {
  const { record } = request;
  return usageCall('reserve', request.creatorId, record.requestId, request.policies, context, [
    String(request.anomaly.threshold),
    String(request.anomaly.locallyDenied),
    String(record.retentionMs),
    String(record.leaseMs),
    String(request.tokens),
    String(request.tokenHistoryMs),
  ]);
}

export function encodeStatus(request: StatusRequest, context: EncodeContext): ScriptCall {
  return usageCall('status', request.creatorId, undefined, request.policies, context, []);
}

export function encodeSettle(request: SettleRequest, context: EncodeContext): ScriptCall {
  return usageCall('settle', request.creatorId, request.requestId, request.statusOf ?? [], context, [
    String(request.actualTokens),
    String(request.tokenHistoryMs),
  ]);
}

/** The usage script's call (scripts/usage.lua.ts): the operation's name goes last. */
function usageCall(
  operation: 'check' | 'reserve' | 'status' | 'settle',
  creatorId: string,
  requestId: string | undefined,
  policies: readonly PolicySpec[],
  context: EncodeContext,
  operationArgs: string[],
): ScriptCall {
  const requestLogs = policies.filter((policy) => policy.kind === 'requests').map(requestLogName);
  const args = [clockArg(context), requestId ?? '', String(policies.length)];
  for (const policy of policies) {
    args.push(policy.name, KIND_CODES[policy.kind], String(policy.limit), String(policy.windowMs), policy.shadow ? 's' : 'e');
  }
  const keys = scriptKeyList(creatorKeys(creatorId, context.keyPrefix), requestId, requestLogs);
  return { script: 'usage', keys, args: [...args, ...operationArgs, operation] };
}

/**
 * The reset script's call (scripts/reset.lua.ts): `recordLifetimeMs` bounds how long a record
 * written before the reset may live (the longest retention any tier can have).
 */
export function encodeReset(
  creatorId: string,
  requestLogNames: readonly string[],
  recordLifetimeMs: number,
  context: EncodeContext,
): ScriptCall {
  return { script: 'reset', keys: keyList(creatorKeys(creatorId, context.keyPrefix), requestLogNames), args: [String(recordLifetimeMs)] };
}

function clockArg(context: EncodeContext): string {
  return context.clockMs === undefined ? '' : String(context.clockMs);
}

/** The override script's calls (layout in scripts/override.lua.ts). */
export function encodeSetOverride(creatorId: string, override: OverrideWrite, context: EncodeContext): ScriptCall {
  const limits = Object.entries(override.limits)
    .map(([name, limit]) => `${name}=${limit}`)
    .join(',');
  return overrideCall(creatorId, context, ['set', String(override.expiresAt ?? 0), limits, override.reason]);
}

export function encodeGetOverride(creatorId: string, context: EncodeContext): ScriptCall {
  return overrideCall(creatorId, context, ['get']);
}

export function encodeRemoveOverride(creatorId: string, context: EncodeContext): ScriptCall {
  return overrideCall(creatorId, context, ['remove']);
}

function overrideCall(creatorId: string, context: EncodeContext, operationArgs: string[]): ScriptCall {
  return { script: 'override', keys: [creatorKeys(creatorId, context.keyPrefix).override], args: [clockArg(context), ...operationArgs] };
}

/** The reply of a 'set' or 'get': the override in force, if any. */
export function decodeOverride(reply: unknown): StoredOverride | undefined {
  const text: unknown = Array.isArray(reply) && reply.length === 2 && typeof reply[0] === 'number' ? reply[1] : undefined;
  if (typeof text !== 'string') fail(`malformed override reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  if (text === '') return undefined;
  const match = /^(\d+)\|(\d+)\|([^|]*)\|([\s\S]*)$/.exec(text);
  if (!match) fail(`malformed override value: ${text.slice(0, 200)}`);
  const [, expiresAt, setAt, limitsText, reason] = match as unknown as [string, string, string, string, string];
  const limits: Record<string, number> = {};
  for (const pair of limitsText.split(',').filter((part) => part !== '')) {
    const [name, limit] = pair.split('=') as [string, string];
    limits[name] = Number(limit);
  }
  return { limits, expiresAt: expiresAt === '0' ? undefined : Number(expiresAt), reason, setAt: Number(setAt) };
}

/** The reply of a 'remove': whether an override was in force. */
export function decodeRemoveOverride(reply: unknown): boolean {
  return numbers(reply, 2)[1] === 1;
}

export function decodeAdmission(reply: unknown, policyCount: number): AdmissionOutcome {
  const values = numbers(reply, ADMISSION_HEADER + 5 * policyCount);
  const [outcome, now, deniedPolicy, retryMs, cause, reservedTokens, admittedAt] = values as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const usage = usageFrom(values, ADMISSION_HEADER, policyCount);
  const anomaly = anomalyFrom(values);
  const shadowDenials: ShadowVerdict[] = [];
  const shadowFrom = ADMISSION_HEADER + 4 * policyCount;
  for (let index = 0; index < policyCount; index += 1) {
    const retryMs = values[shadowFrom + index];
    if (retryMs > 0) shadowDenials.push({ index, retryMs });
  }
  switch (outcome) {
    case 0:
      return {
        kind: 'denied',
        now,
        usage,
        anomaly,
        shadowDenials,
        deniedIndex: deniedPolicy - 1,
        retryMs,
        cause: cause === 1 ? 'reservations' : 'usage',
      };
    case 1:
      return { kind: 'admitted', now, usage, anomaly, shadowDenials, reservedTokens };
    case 2:
      return { kind: 'replay', now, usage, anomaly, shadowDenials, reservedTokens, admittedAt };
    default:
      return fail(`unknown admission outcome ${outcome}`);
  }
}

export function decodeStatus(reply: unknown, policyCount: number): StatusOutcome {
  const values = numbers(reply, 1 + 4 * policyCount);
  return { now: values[0], usage: usageFrom(values, 1, policyCount) };
}

export function decodeSettle(reply: unknown, policyCount: number): SettleOutcome {
  const values = numbers(reply, SETTLE_HEADER + 4 * policyCount);
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
  for (let at = offset; at < offset + 4 * policyCount; at += 4) {
    usage.push({ used: values[at], reserved: values[at + 1], reset: values[at + 2], limit: values[at + 3] });
  }
  return usage;
}

function numbers(reply: unknown, expectedLength: number): number[] {
  const valid = Array.isArray(reply) && reply.length === expectedLength && reply.every((value) => typeof value === 'number');
  if (!valid) fail(`malformed script reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  return reply;
}

function fail(message: string): never {
  throw new Error(`rate-limit backend: ${message}`);
}
