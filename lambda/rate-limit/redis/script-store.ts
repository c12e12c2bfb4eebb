/**
 * A store that runs the admission script through any Redis transport (ioredis over TCP, or the
 * Upstash REST client). Everything backend-specific lives in the transport; the encoding of
 * arguments and replies lives here, once.
 */
import { createHash } from 'node:crypto';
import { ADMISSION_SCRIPT } from './scripts/admission.lua';
import { creatorKeyBase, creatorKeys, keyList, requestLogKey, DEFAULT_KEY_PREFIX } from './keys';
import type { BackendName } from '../core/types';
import {
  EVALUATION_CODES,
  SETTLE_OUTCOMES,
  type Evaluation,
  type EvaluationRequest,
  type PolicySpec,
  type PolicyUsage,
  type RateLimitStore,
  type SettleEvaluation,
  quietEvaluation,
} from '../store/store';

/** The few Redis operations a script store needs. */
export interface ScriptTransport {
  /** True when the transport may send one call twice (retries), so admissions must be idempotent. */
  readonly mayResend: boolean;
  evalsha(sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  del(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

export const ADMISSION_SCRIPT_SHA = createHash('sha1').update(ADMISSION_SCRIPT).digest('hex');

const HEADER_LENGTH = 9;
/** The script's short reply: a plain admission of a one-policy tier (now, used, reset). */
const SHORT_REPLY_LENGTH = 3;
/** A settle's fields (after the status reply, when it reads one): code, reserved, charged. */
const SETTLE_FIELDS = 3;

export class RedisScriptStore implements RateLimitStore {
  constructor(
    readonly backend: BackendName,
    private readonly transport: ScriptTransport,
    private readonly keyPrefix: string = DEFAULT_KEY_PREFIX,
  ) {}

  get mayResend(): boolean {
    return this.transport.mayResend;
  }

  async evaluate(op: 'check' | 'status', request: EvaluationRequest): Promise<Evaluation> {
    const encoded = encodePolicies(request.policies);
    const needsShared = encoded.usesShared || request.reserve || request.keepRecord;
    if (op === 'check' && !needsShared) {
      // The plain check (request windows only, no reservation, no record): the lean script path.
      let args = plainArgs(encoded, request.anomalyThreshold);
      if (request.extraAttempts > 0) args = args.concat(String(request.extraAttempts));
      const raw = await this.run(this.logKeys(request.creatorId, encoded.logPolicies), args);
      if (Array.isArray(raw) && raw.length === SHORT_REPLY_LENGTH && request.policies.length === 1) {
        const [now, used, reset] = numbers(raw, SHORT_REPLY_LENGTH) as [number, number, number];
        return quietEvaluation('allowed', now, [{ used, reserved: 0, reset }]);
      }
      return parseEvaluation(numbers(raw, evaluationLength(request)), request);
    }
    const keys = needsShared ? this.sharedAndLogKeys(request.creatorId, encoded) : this.logKeys(request.creatorId, encoded.logPolicies);
    const raw = await this.run(keys, generalArgs(op, request, request.requestId, request.tokens, encoded));
    return parseEvaluation(numbers(raw, evaluationLength(request)), request);
  }

  /** The settlement, and when `status` is given the tier's usage after it, in one script call. */
  async settle(creatorId: string, requestId: string, actualTokens: number, status?: EvaluationRequest): Promise<SettleEvaluation> {
    if (!status) {
      const reply = numbers(await this.run(keyList(creatorKeys(creatorId, this.keyPrefix)), ['settle', requestId, String(actualTokens)]), 1 + SETTLE_FIELDS);
      return settleEvaluation(reply[0]!, reply[1]!, reply.slice(2), undefined);
    }
    const encoded = encodePolicies(status.policies);
    const quiet = { ...status, keepRecord: false, reserve: false, anomalyThreshold: 0, extraAttempts: 0 };
    const raw = await this.run(this.sharedAndLogKeys(creatorId, encoded), generalArgs('settle', quiet, requestId, actualTokens, encoded));
    const length = evaluationLength(status);
    const reply = numbers(raw, length + SETTLE_FIELDS);
    return settleEvaluation(reply[length]!, reply[1]!, reply.slice(length + 1), parseEvaluation(reply.slice(0, length), status));
  }

  async reset(creatorId: string, requestPolicies: readonly string[]): Promise<void> {
    await this.transport.del(keyList(creatorKeys(creatorId, this.keyPrefix), requestPolicies));
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /** The five shared keys of a creator, then its request policies' log keys (the general shape). */
  private sharedAndLogKeys(creatorId: string, encoded: EncodedPolicies): string[] {
    return keyList(creatorKeys(creatorId, this.keyPrefix), encoded.logPolicies);
  }

  /** The log keys of a creator's request policies (a plain check sends only these). */
  private logKeys(creatorId: string, requestPolicies: readonly string[]): string[] {
    const base = creatorKeyBase(creatorId, this.keyPrefix);
    if (requestPolicies.length === 1) return [requestLogKey(base, requestPolicies[0]!)];
    return requestPolicies.map((name) => requestLogKey(base, name));
  }

  /** EVALSHA first (one round trip once the script is cached); EVAL only when the server says NOSCRIPT. */
  private run(keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.transport.evalsha(ADMISSION_SCRIPT_SHA, keys, args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error;
      return this.transport.eval(ADMISSION_SCRIPT, keys, args);
    });
  }
}

/** Script arguments of a policy list, computed once per list (the limiter reuses one list per tier). */
interface EncodedPolicies {
  /** The general shape: name, unit, limit, window per policy. */
  readonly policyArgs: string[];
  /** The plain check's shape: limit, window per request policy. */
  readonly windowArgs: string[];
  /** The request policies, whose logs are keys of every call. */
  readonly logPolicies: string[];
  /** Token or in-flight policies: the script then needs the shared keys. */
  readonly usesShared: boolean;
  /** The plain check's arguments for the last anomaly threshold asked (a tier has one). */
  plain?: { readonly threshold: number; readonly args: readonly string[] };
}
const encodedPolicies = new WeakMap<readonly PolicySpec[], EncodedPolicies>();
function encodePolicies(policies: readonly PolicySpec[]): EncodedPolicies {
  let encoded = encodedPolicies.get(policies);
  if (!encoded) {
    const requestPolicies = policies.filter((policy) => policy.unit === 'r');
    encoded = {
      policyArgs: policies.flatMap((policy) => [policy.name, policy.unit, String(policy.limit), String(policy.windowMs)]),
      windowArgs: requestPolicies.flatMap((policy) => [String(policy.limit), String(policy.windowMs)]),
      logPolicies: requestPolicies.map((policy) => policy.name),
      usesShared: requestPolicies.length !== policies.length,
    };
    encodedPolicies.set(policies, encoded);
  }
  return encoded;
}

/** Window arguments and threshold, built once per tier and shared by its calls (read-only). */
function plainArgs(encoded: EncodedPolicies, threshold: number): readonly string[] {
  if (encoded.plain?.threshold !== threshold) {
    encoded.plain = { threshold, args: encoded.windowArgs.concat(String(threshold)) };
  }
  return encoded.plain.args;
}

/** A settle's reply fields: code, then (from `amounts`) reserved and charged tokens. */
function settleEvaluation(code: number, now: number, amounts: readonly number[], status: Evaluation | undefined): SettleEvaluation {
  return {
    outcome: SETTLE_OUTCOMES[code - 1] ?? fail(`unknown settle code ${code}`),
    now,
    reserved: amounts[0]!,
    charged: amounts[1]!,
    status,
  };
}

/** The general call shape's arguments (see admission.lua.ts). */
function generalArgs(op: 'check' | 'status' | 'settle', request: EvaluationRequest, requestId: string, tokens: number, encoded: EncodedPolicies): string[] {
  return [
    op,
    requestId,
    String(tokens),
    request.keepRecord ? '1' : '0',
    request.reserve ? '1' : '0',
    String(request.anomalyThreshold),
    String(request.extraAttempts),
    String(request.retentionMs),
    String(request.leaseMs),
    String(request.policies.length),
  ].concat(encoded.policyArgs);
}

function evaluationLength(request: EvaluationRequest): number {
  return HEADER_LENGTH + 3 * request.policies.length;
}

/** The script's full reply: header, then used, reserved, reset per policy. */
function parseEvaluation(reply: readonly number[], request: EvaluationRequest): Evaluation {
  const usage: PolicyUsage[] = [];
  for (let i = HEADER_LENGTH; i < HEADER_LENGTH + 3 * request.policies.length; i += 3) {
    usage.push({ used: reply[i]!, reserved: reply[i + 1]!, reset: reply[i + 2]! });
  }
  return {
    code: EVALUATION_CODES[reply[0]!] ?? fail(`unknown reply code ${reply[0]}`),
    now: reply[1]!,
    deniedIndex: reply[2]! - 1,
    retryMs: reply[3]!,
    anomalyAttempts: reply[4]!,
    reservedTokens: reply[5]!,
    anomalyWindow: { attempts: reply[6]!, endsAt: reply[7]!, warned: reply[8] === 1 },
    usage,
  };
}

export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes('NOSCRIPT');
}

function numbers(reply: unknown, expectedLength: number): number[] {
  let valid = Array.isArray(reply) && reply.length === expectedLength;
  for (let i = 0; valid && i < expectedLength; i += 1) valid = typeof (reply as unknown[])[i] === 'number';
  if (!valid) fail(`malformed script reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  return reply as number[];
}

function fail(message: string): never {
  throw new Error(`rate-limit backend: ${message}`);
}
