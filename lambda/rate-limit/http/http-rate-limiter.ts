/**
 * The rate limiter answered by the deployed HTTP API (docs/openapi.yaml), for services that call
 * the service instead of linking a backend: the same interface and errors as the library's
 * limiter, so `checkCreatorRateLimit(creatorId, 'pro')` does not change.
 *
 * Status mapping:
 *   200                         -> the decision / status / settlement
 *   429 quota-exceeded          -> RateLimitError (retryAfter, limit, remaining, reset, policy)
 *   400                         -> RateLimitInputError naming the field
 *   anything else, a connection error, or no answer within `timeoutMs`
 *                               -> the fail mode: `closed` throws RateLimitUnavailableError,
 *                                  `open` answers a degraded decision (as the library does)
 * API Gateway's own throttling (a 429 of another problem type) is the service refusing to answer,
 * not the creator's quota: it follows the fail mode too, with its Retry-After.
 *
 * Retries: at most one, and only when the request failed before any response arrived (a reset
 * keep-alive connection, a refused connection) and the deadline leaves time. It cannot count an
 * admission twice: every check carries a requestId (the caller's, or one generated here), and the
 * service answers a repeated requestId as a replay without consuming anything.
 */
import { randomUUID } from 'node:crypto';
import { CircuitBreaker, type CircuitBreakerOptions } from '../resilience/circuit-breaker';
import { DeadlineExceededError, withDeadline } from '../resilience/deadline';
import { RateLimitConfigError, RateLimitError, RateLimitInputError, RateLimitUnavailableError } from '../core/errors';
import type { RateLimiter } from '../core/limiter';
import type { RateLimitLogger } from '../core/options';
import { toPolicyStatuses } from '../core/policies';
import { DEFAULT_TIERS, headlinePolicyIndex, parseTierTable } from '../core/tiers';
import type {
  CheckOptions,
  CreatorId,
  CreatorOverride,
  FailMode,
  RateLimitDecision,
  RateLimitStatus,
  SettleResult,
  Tier,
  TierTable,
} from '../core/types';
import { normalizeCreatorId, validateRequestId, validateTokens } from '../core/validation';
import { isLoopback, parseApiUrl, regionFromApiUrl } from './api-url';
import type { AwsCredentials, RequestSigner } from './sigv4';
import { DEFAULT_TIMEOUT_MS } from '../../contract/environment';

/** REST calls over the internet through API Gateway and a Lambda function: a wider deadline than Redis. */
export const DEFAULT_HTTP_TIMEOUT_MS = DEFAULT_TIMEOUT_MS.http;
const MAX_TIMEOUT_MS = 60_000;
const DEFAULT_TIER: Tier = 'pro';
const QUOTA_EXCEEDED = 'https://iana.org/assignments/http-problem-types#quota-exceeded';

export interface HttpRateLimiterOptions {
  /** Base URL of the API, stage included: `https://<id>.execute-api.<region>.amazonaws.com/prod`. */
  readonly url: string;
  /** Deadline of one call (signing, connecting, answering), ms. @default 3000 */
  readonly timeoutMs?: number;
  /** @default 'closed' */
  readonly failMode?: FailMode;
  /**
   * `sigv4` signs every request for `execute-api` (the deployed API uses IAM authorization);
   * `none` sends them unsigned (the local server). @default 'none' for a loopback URL, else 'sigv4'
   */
  readonly signing?: 'sigv4' | 'none';
  /** Signing region. @default the region in an execute-api URL, else AWS_REGION */
  readonly region?: string;
  /** Signing credentials. @default the AWS SDK's default provider chain */
  readonly credentials?: AwsCredentials;
  /**
   * The tier table this client reports as `tiers` and uses for the zero usage of a degraded
   * answer. The service's own table decides every real answer. @default DEFAULT_TIERS
   */
  readonly tiers?: TierTable;
  /** Where degraded answers are logged. @default structured JSON on console */
  readonly logger?: RateLimitLogger;
  /** Circuit breaker around calls; `false` disables. @default { failureThreshold: 5, cooldownMs: 500 } */
  readonly circuitBreaker?: false | CircuitBreakerOptions;
  /** Environment read for AWS_REGION. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The library's RateLimiter, answered over HTTP. */
export type HttpRateLimiter = Omit<RateLimiter, 'backend'> & { readonly backend: 'http' };

const consoleLogger: RateLimitLogger = {
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'WARN', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'ERROR', message, ...fields })),
};

/** A JSON object whose fields are checked where they are read. */
type JsonObject = Readonly<Record<string, unknown>>;

/** What one call got back: the status, the problem or body, and Retry-After. */
interface Answer {
  readonly status: number;
  /** The parsed JSON body, checked field by field where it is read (the service's answers are untyped). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly retryAfter: number | undefined;
}

/** The service did not give a usable answer (for the fail mode to decide). */
class ServiceFailure extends Error {
  constructor(
    message: string,
    readonly retryAfter?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export function createHttpRateLimiter(options: HttpRateLimiterOptions): HttpRateLimiter {
  const baseUrl = parseApiUrl(options.url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  if (!(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new RateLimitConfigError(`timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${String(options.timeoutMs)}`);
  }
  const failMode = options.failMode ?? 'closed';
  if (failMode !== 'closed' && failMode !== 'open') {
    throw new RateLimitConfigError(`failMode must be "closed" or "open", got ${JSON.stringify(failMode)}`);
  }
  const tiers = options.tiers ? parseTierTable(options.tiers, 'tiers') : DEFAULT_TIERS;
  const logger = options.logger ?? consoleLogger;
  const breaker = options.circuitBreaker === false ? undefined : new CircuitBreaker(options.circuitBreaker);
  const signer = signerFor(options, baseUrl);

  /** One HTTP exchange within the deadline; retried once if it failed before any response. */
  async function exchange(method: HttpMethod, path: string, body: unknown): Promise<Answer> {
    const url = new URL(`${baseUrl.pathname.replace(/\/$/, '')}${path}`, baseUrl);
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (text !== undefined) headers['content-type'] = 'application/json';
    const controller = new AbortController();
    const attempt = async (): Promise<Response> => {
      const signed = signer ? await signer({ method, url, headers, body: text }) : headers;
      return fetch(url, { method, headers: signed, body: text, signal: controller.signal, redirect: 'manual' });
    };
    const call = async (): Promise<Answer> => {
      let response: Response;
      try {
        response = await attempt();
      } catch (error) {
        // No response at all: nothing was answered, and the requestId makes a resend safe.
        if (controller.signal.aborted) throw error;
        response = await attempt();
      }
      return readAnswer(response);
    };
    try {
      return await withDeadline(call(), timeoutMs);
    } finally {
      controller.abort(); // no-op when the answer is complete; cancels a late one
    }
  }

  /** Runs an exchange through the breaker; returns the answer, or the failure for the fail mode. */
  async function request(operation: string, method: HttpMethod, path: string, body?: unknown): Promise<Answer | ServiceFailure> {
    let isProbe = false;
    try {
      if (breaker) isProbe = breaker.enter();
    } catch (cause) {
      return new ServiceFailure(`${operation}: ${(cause as Error).message}`, undefined, { cause });
    }
    let answer: Answer;
    try {
      answer = await exchange(method, path, body);
    } catch (cause) {
      breaker?.failed(isProbe);
      const reason = cause instanceof DeadlineExceededError ? `no answer within ${timeoutMs} ms` : describeError(cause);
      return new ServiceFailure(`${operation}: ${reason}`, undefined, { cause });
    }
    if (answer.status === 200 || answer.status === 400 || isQuotaDenial(answer)) {
      breaker?.succeeded(isProbe);
      return answer;
    }
    breaker?.failed(isProbe);
    const reported: unknown = (answer.body as JsonObject | undefined)?.detail;
    const detail = typeof reported === 'string' ? `: ${reported}` : '';
    return new ServiceFailure(`${operation}: HTTP ${answer.status}${detail}`, answer.retryAfter);
  }

  /** A failure under fail mode `closed` throws; under `open` it is logged and the caller degrades. */
  function unavailable(failure: ServiceFailure): void {
    if (failMode === 'closed') {
      throw new RateLimitUnavailableError(`rate-limit service ${baseUrl.host} unavailable during ${failure.message}`, {
        cause: failure.cause ?? failure,
        ...(failure.retryAfter === undefined ? {} : { retryAfter: failure.retryAfter }),
      });
    }
    logger.warn('rate-limit service unavailable; allowing (fail mode open)', { backend: 'http', reason: failure.message });
  }

  /** Throws what a 400 or a quota 429 means; returns the 200's body otherwise. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the 200 body of whichever route was called
  function successBody(answer: Answer): any {
    if (answer.status === 400) throw inputError(answer.body);
    if (answer.status === 429) throw quotaError(answer);
    return answer.body;
  }

  function zeroUsage(creatorId: string, tierName: Tier): RateLimitStatus {
    const now = Date.now();
    const tier = Object.prototype.hasOwnProperty.call(tiers, tierName) ? tiers[tierName] : undefined;
    if (!tier) return { creatorId, tier: tierName, at: now, limit: 0, remaining: 0, reset: now, policies: [] };
    const policies = toPolicyStatuses(
      tier,
      tier.policies.map(() => ({ used: 0, reserved: 0, reset: now })),
    );
    const headline = policies[headlinePolicyIndex(tier)];
    return { creatorId, tier: tierName, at: now, limit: headline.limit, remaining: headline.remaining, reset: headline.reset, policies };
  }

  async function settle(rawCreatorId: CreatorId, tierName: Tier, rawRequestId: string, actualTokens: number): Promise<SettleResult> {
    const creatorId = normalizeCreatorId(rawCreatorId);
    const tier = validateTierName(tierName);
    const requestId = validateRequestId(rawRequestId);
    const tokens = validateTokens(actualTokens);
    const answer = await request('settle', 'POST', '/v1/settle', { creatorId, tier, requestId, tokens });
    if (answer instanceof ServiceFailure) {
      unavailable(answer);
      return { creatorId, requestId, outcome: 'unknown', reservedTokens: 0, chargedTokens: 0 };
    }
    return successBody(answer) as SettleResult;
  }

  async function status(rawCreatorId: CreatorId, tierName: Tier = DEFAULT_TIER): Promise<RateLimitStatus> {
    const creatorId = normalizeCreatorId(rawCreatorId);
    const tier = validateTierName(tierName);
    const answer = await request('status', 'GET', `/v1/status/${encodeURIComponent(creatorId)}?tier=${encodeURIComponent(tier)}`);
    if (answer instanceof ServiceFailure) {
      unavailable(answer);
      return zeroUsage(creatorId, tier);
    }
    return successBody(answer) as RateLimitStatus;
  }

  /** One call of /v1/overrides/{creatorId}: it fails whatever the fail mode, as on a direct backend. */
  async function administer(method: HttpMethod, rawCreatorId: CreatorId, body?: unknown): Promise<JsonObject> {
    const creatorId = normalizeCreatorId(rawCreatorId);
    const answer = await request('override', method, `/v1/overrides/${encodeURIComponent(creatorId)}`, body);
    if (answer instanceof ServiceFailure)
      throw new RateLimitUnavailableError(`rate-limit service unavailable during ${answer.message}`, { cause: answer });
    return successBody(answer) as JsonObject;
  }

  return {
    backend: 'http',
    tiers,

    async check(rawCreatorId, tierName = DEFAULT_TIER, checkOptions: CheckOptions = {}) {
      const creatorId = normalizeCreatorId(rawCreatorId);
      const tier = validateTierName(tierName);
      if (checkOptions === null || typeof checkOptions !== 'object') {
        throw new RateLimitInputError('options', 'must be an object with optional "tokens" and "requestId"');
      }
      const tokens = checkOptions.tokens === undefined ? undefined : validateTokens(checkOptions.tokens);
      const callerRequestId = checkOptions.requestId === undefined ? undefined : validateRequestId(checkOptions.requestId);
      // Always sent, so a resend of this check is recognised as the same admission.
      const requestId = callerRequestId ?? randomUUID();
      const body = { creatorId, tier, requestId, ...(tokens === undefined ? {} : { tokens }) };
      const answer = await request('check', 'POST', '/v1/check', body);
      if (answer instanceof ServiceFailure) {
        unavailable(answer);
        const usage = zeroUsage(creatorId, tier);
        return { ...usage, allowed: true, requestId, reservedTokens: 0, duplicate: false, degraded: true };
      }
      const decision = successBody(answer) as RateLimitDecision;
      // A generated id cannot be the caller's replay: `duplicate` can only come from this call's resend.
      return callerRequestId === undefined && decision.duplicate ? { ...decision, duplicate: false } : decision;
    },

    status,
    settle,

    async settleWithStatus(creatorId, tierName, requestId, actualTokens) {
      // The API answers a settlement with its body and the usage as headers; the full usage needs
      // a second call (two round trips, not one atomic read as on a direct backend).
      const result = await settle(creatorId, tierName, requestId, actualTokens);
      return { ...result, status: await status(creatorId, tierName) };
    },

    async reset(rawCreatorId) {
      const creatorId = normalizeCreatorId(rawCreatorId);
      const answer = await request('reset', 'POST', '/v1/reset', { creatorId });
      // Nothing was erased: a reset fails whatever the fail mode, as on a direct backend.
      if (answer instanceof ServiceFailure)
        throw new RateLimitUnavailableError(`rate-limit service unavailable during ${answer.message}`, { cause: answer });
      successBody(answer);
    },

    async setOverride(rawCreatorId, override) {
      return (await administer('PUT', rawCreatorId, override)).override as CreatorOverride;
    },

    async getOverride(rawCreatorId) {
      return ((await administer('GET', rawCreatorId)).override as CreatorOverride | null) ?? undefined;
    },

    async removeOverride(rawCreatorId) {
      return (await administer('DELETE', rawCreatorId)).removed === true;
    },

    async warmUp() {
      // Resolves the credentials and opens the connection; consumes nothing.
      const [tierName] = Object.keys(tiers);
      try {
        const answer = await exchange('GET', `/v1/status/warm-up?tier=${encodeURIComponent(tierName)}`, undefined);
        return answer.status === 200;
      } catch {
        return false;
      }
    },

    // fetch keeps its connections in a process-wide pool: nothing of this client's to close.
    close: async () => undefined,
  };
}

/** The request signer, or undefined when requests go unsigned. Loaded lazily: signing pulls in AWS code. */
function signerFor(options: HttpRateLimiterOptions, url: URL): RequestSigner | undefined {
  const signing = options.signing ?? (isLoopback(url) ? 'none' : 'sigv4');
  if (signing === 'none') return undefined;
  if (signing !== 'sigv4') throw new RateLimitConfigError(`signing must be "sigv4" or "none", got ${JSON.stringify(signing)}`);
  const env = options.env ?? process.env;
  const region = options.region ?? regionFromApiUrl(url) ?? (env.AWS_REGION ?? env.AWS_DEFAULT_REGION)?.trim();
  if (!region) {
    throw new RateLimitConfigError('SigV4 signing needs a region: use an execute-api URL, the "region" option, or AWS_REGION');
  }
  let signer: Promise<RequestSigner> | undefined;
  return async (request) => {
    signer ??= import('./sigv4').then((module) => module.createRequestSigner({ region, credentials: options.credentials }));
    return (await signer)(request);
  };
}

function validateTierName(tier: unknown): string {
  if (typeof tier !== 'string' || tier.length === 0) throw new RateLimitInputError('tier', 'must be a non-empty string (a tier name)');
  return tier;
}

async function readAnswer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.status === 200 && (typeof body !== 'object' || body === null)) {
    throw new ServiceFailure('HTTP 200 without a JSON body');
  }
  const header = response.headers.get('retry-after');
  const retryAfter = header !== null && /^\d+$/.test(header.trim()) ? Math.max(1, Number(header)) : undefined;
  return { status: response.status, body, retryAfter };
}

function isQuotaDenial(answer: Answer): boolean {
  const type: unknown = (answer.body as JsonObject | undefined)?.type;
  return answer.status === 429 && type === QUOTA_EXCEEDED;
}

function quotaError(answer: Answer): RateLimitError {
  const problem = answer.body as Record<string, unknown>;
  const number = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);
  const retryAfter = Math.max(1, number(problem.retryAfter, answer.retryAfter ?? 1));
  return new RateLimitError({
    retryAfter,
    limit: number(problem.limit, 0),
    remaining: number(problem.remaining, 0),
    reset: number(problem.reset, Date.now() + retryAfter * 1000),
    policy: typeof problem.policy === 'string' ? problem.policy : 'unknown',
  });
}

function inputError(problem: unknown): RateLimitInputError {
  const { field, detail } = (problem ?? {}) as { field?: unknown; detail?: unknown };
  const name = typeof field === 'string' && field ? field : 'request';
  let message = typeof detail === 'string' && detail ? detail : 'was rejected by the rate-limit service';
  // The service's detail starts with the field ("tier: must be ..."); the error adds it again.
  if (message.startsWith(`${name}: `)) message = message.slice(name.length + 2);
  return new RateLimitInputError(name, message);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}
