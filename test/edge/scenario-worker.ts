/**
 * A module worker that exposes the Upstash entry's public API one call per request, so the edge
 * tests can drive the library from inside workerd and edge-runtime and see what a caller there
 * sees, `instanceof` included (evaluated in the runtime, against the classes the bundle exports).
 *
 *   POST / {"op": "check" | "status" | "settle" | "reset", creatorId, tier?, tokens?, requestId?, actualTokens?}
 *   -> 200 {"ok": true, "result": ...} or {"ok": false, "error": {...}}
 *
 * Env: UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, RATE_LIMIT_FAIL_MODE, RATE_LIMIT_TIMEOUT_MS,
 * RATE_LIMIT_KEY_PREFIX (so each test file works on its own keys).
 */
import {
  createRateLimiter,
  RateLimitError,
  RateLimitUnavailableError,
  type FailMode,
  type RateLimiter,
} from '../../lambda/rate-limit/upstash';

interface ScenarioEnvironment {
  readonly UPSTASH_REDIS_REST_URL: string;
  readonly UPSTASH_REDIS_REST_TOKEN: string;
  readonly RATE_LIMIT_FAIL_MODE?: string;
  readonly RATE_LIMIT_TIMEOUT_MS?: string;
  readonly RATE_LIMIT_KEY_PREFIX?: string;
}

interface Operation {
  readonly op: 'check' | 'status' | 'settle' | 'reset';
  readonly creatorId: string;
  readonly tier?: string;
  readonly tokens?: number;
  readonly requestId?: string;
  readonly actualTokens?: number;
}

let limiter: RateLimiter | undefined;

function limiterFor(env: ScenarioEnvironment): RateLimiter {
  limiter ??= createRateLimiter({
    backend: 'upstash',
    upstash: { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN },
    failMode: (env.RATE_LIMIT_FAIL_MODE as FailMode | undefined) ?? 'closed',
    timeoutMs: env.RATE_LIMIT_TIMEOUT_MS ? Number(env.RATE_LIMIT_TIMEOUT_MS) : 10_000,
    keyPrefix: env.RATE_LIMIT_KEY_PREFIX,
  });
  return limiter;
}

async function run(rateLimiter: RateLimiter, operation: Operation): Promise<unknown> {
  const tier = operation.tier ?? 'pro';
  switch (operation.op) {
    case 'check':
      return rateLimiter.check(operation.creatorId, tier, { tokens: operation.tokens, requestId: operation.requestId });
    case 'status':
      return rateLimiter.status(operation.creatorId, tier);
    case 'settle':
      return rateLimiter.settle(operation.creatorId, tier, operation.requestId ?? '', operation.actualTokens ?? 0);
    case 'reset':
      await rateLimiter.reset(operation.creatorId);
      return null;
  }
}

function describeError(error: unknown): Record<string, unknown> {
  const base = {
    name: error instanceof Error ? error.name : typeof error,
    message: error instanceof Error ? error.message : String(error),
    isError: error instanceof Error,
    isRateLimitError: error instanceof RateLimitError,
    isUnavailableError: error instanceof RateLimitUnavailableError,
  };
  if (error instanceof RateLimitError) {
    return {
      ...base,
      retryAfter: error.retryAfter,
      limit: error.limit,
      remaining: error.remaining,
      reset: error.reset,
      policy: error.policy,
    };
  }
  if (error instanceof RateLimitUnavailableError) return { ...base, retryAfter: error.retryAfter };
  return base;
}

export default {
  async fetch(request: Request, env: ScenarioEnvironment): Promise<Response> {
    const operation = (await request.json()) as Operation;
    try {
      return Response.json({ ok: true, result: await run(limiterFor(env), operation) });
    } catch (error) {
      return Response.json({ ok: false, error: describeError(error) });
    }
  },
};
