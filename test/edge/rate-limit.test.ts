/**
 * The Upstash entry of the library inside the edge runtimes it promises to support: bundled for a
 * browser-like platform and run in Cloudflare's workerd and in Vercel's edge-runtime, against the
 * Upstash-compatible server (and a real redis-server) on loopback. Same scenarios in each runtime.
 */

import { EDGE_RUNTIMES, startWorker, type EdgeHost, type EdgeRuntimeName } from '../harness/edge-runtimes';
import { useUpstashTestServers } from '../support/upstash-servers';

const TOKEN = 'edge-scenario-token-4f2e';
const WORKER = 'test/edge/scenario-worker.ts';

interface ErrorView {
  name: string;
  message: string;
  isError: boolean;
  isRateLimitError: boolean;
  isUnavailableError: boolean;
  retryAfter?: number;
  limit?: number;
  remaining?: number;
  reset?: number;
  policy?: string;
}
type Reply<T> = { ok: true; result: T } | { ok: false; error: ErrorView };
interface PolicyView {
  name: string;
  used: number;
  reserved: number;
  remaining: number;
  limit: number;
}
interface StatusView {
  limit: number;
  remaining: number;
  reset: number;
  policies: PolicyView[];
}

/** A TCP server that accepts connections and never answers: a backend that hangs. */
let creatorCounter = 0;

const freshCreator = (label: string): string => `edge-${label}-${process.pid}-${(creatorCounter += 1)}`;

const servers = useUpstashTestServers(TOKEN);

function call<T>(host: EdgeHost, operation: Record<string, unknown>): Promise<Reply<T>> {
  return host
    .fetch('/', { method: 'POST', body: JSON.stringify(operation), headers: { 'content-type': 'application/json' } })
    .then((response) => {
      if (response.status !== 200) throw new Error(`worker answered ${response.status}: ${response.body}`);
      return JSON.parse(response.body) as Reply<T>;
    });
}

function policy(status: StatusView, name: string): PolicyView {
  const found = status.policies.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no policy ${name} in ${JSON.stringify(status)}`);
  return found;
}

describe.each(EDGE_RUNTIMES)('Upstash entry inside %s', (runtime: EdgeRuntimeName) => {
  let host: EdgeHost;

  beforeAll(async () => {
    host = await startWorker(runtime, WORKER, {
      UPSTASH_REDIS_REST_URL: servers.upstash.url,
      UPSTASH_REDIS_REST_TOKEN: TOKEN,
      RATE_LIMIT_KEY_PREFIX: `edge-${runtime}`,
    });
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('admits exactly 100 of 120 concurrent pro checks, then throws RateLimitError the caller can catch', async () => {
    const creatorId = freshCreator('exact');
    const before = Date.now();
    const replies = await Promise.all(Array.from({ length: 120 }, () => call<unknown>(host, { op: 'check', creatorId, tier: 'pro' })));
    const denied = replies.flatMap((reply) => (reply.ok ? [] : [reply.error]));
    expect(replies.filter((reply) => reply.ok)).toHaveLength(100);
    expect(denied).toHaveLength(20);
    for (const error of denied) {
      expect(error).toMatchObject({ name: 'RateLimitError', isError: true, isRateLimitError: true, isUnavailableError: false });
      expect(error).toMatchObject({ limit: 100, remaining: 0, policy: 'requests-per-hour' });
      // The oldest admission leaves the hour window in about an hour: retryAfter is that, in whole seconds.
      expect(error.retryAfter).toBeGreaterThanOrEqual(3590);
      expect(error.retryAfter).toBeLessThanOrEqual(3600);
      expect(error.reset).toBeGreaterThan(before + 3_500_000);
    }
    const status = await call<StatusView>(host, { op: 'status', creatorId, tier: 'pro' });
    expect(status.ok && status.result.remaining).toBe(0);
  });

  it('reserves tokens at check, then settles them: refund and lease released', async () => {
    const creatorId = freshCreator('settle');
    const requestId = `${creatorId}-r1`;
    const checked = await call<{ requestId: string; reservedTokens: number }>(host, {
      op: 'check',
      creatorId,
      tier: 'pro',
      tokens: 5000,
      requestId,
    });
    expect(checked).toMatchObject({ ok: true, result: { requestId, reservedTokens: 5000 } });

    const held = await call<StatusView>(host, { op: 'status', creatorId, tier: 'pro' });
    if (!held.ok) throw new Error(held.error.message);
    expect(policy(held.result, 'tokens-per-day')).toMatchObject({ reserved: 5000, used: 0, remaining: 995_000 });
    expect(policy(held.result, 'in-flight')).toMatchObject({ used: 1, remaining: 3 });

    const settled = await call(host, { op: 'settle', creatorId, tier: 'pro', requestId, actualTokens: 1200 });
    expect(settled).toMatchObject({ ok: true, result: { outcome: 'settled', reservedTokens: 5000, chargedTokens: 1200 } });
    const again = await call(host, { op: 'settle', creatorId, tier: 'pro', requestId, actualTokens: 1200 });
    expect(again).toMatchObject({ ok: true, result: { outcome: 'already-settled' } });

    const after = await call<StatusView>(host, { op: 'status', creatorId, tier: 'pro' });
    if (!after.ok) throw new Error(after.error.message);
    expect(policy(after.result, 'tokens-per-day')).toMatchObject({ reserved: 0, used: 1200, remaining: 998_800 });
    expect(policy(after.result, 'in-flight')).toMatchObject({ used: 0, remaining: 4 });
  });

  it('status consumes nothing', async () => {
    const creatorId = freshCreator('status');
    for (let index = 0; index < 3; index += 1) {
      expect(await call(host, { op: 'status', creatorId, tier: 'pro' })).toMatchObject({
        ok: true,
        result: { limit: 100, remaining: 100 },
      });
    }
    await call(host, { op: 'check', creatorId, tier: 'pro' });
    expect(await call(host, { op: 'status', creatorId, tier: 'pro' })).toMatchObject({ ok: true, result: { remaining: 99 } });
    expect(await call(host, { op: 'status', creatorId, tier: 'pro' })).toMatchObject({ ok: true, result: { remaining: 99 } });
  });

  it('fails closed with RateLimitUnavailableError within the deadline when the backend hangs', async () => {
    const timeoutMs = 300;
    // The bound is the deadline plus a margin for a loaded machine (the worker and runtime dispatch
    // are on the same 2 cores); a miss is retried once on a fresh creator before it counts.
    const marginMs = 2000;
    const down = await startWorker(runtime, WORKER, {
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${servers.blackHole.port}`,
      UPSTASH_REDIS_REST_TOKEN: TOKEN,
      RATE_LIMIT_FAIL_MODE: 'closed',
      RATE_LIMIT_TIMEOUT_MS: String(timeoutMs),
    });
    try {
      const attempt = async (): Promise<{ elapsed: number; reply: Reply<unknown> }> => {
        const started = performance.now();
        const reply = await call(down, { op: 'check', creatorId: freshCreator('down'), tier: 'pro' });
        return { elapsed: performance.now() - started, reply };
      };
      let result = await attempt();
      if (result.elapsed > timeoutMs + marginMs) result = await attempt();
      expect(result.reply).toMatchObject({
        ok: false,
        error: { name: 'RateLimitUnavailableError', isUnavailableError: true, isRateLimitError: false, retryAfter: 60 },
      });
      expect(result.elapsed).toBeLessThan(timeoutMs + marginMs);
    } finally {
      await down.stop();
    }
  });

  it('reports a wrong token as a clear error that does not echo the token, never as a denial', async () => {
    const wrongToken = 'wrong-edge-token-9a7c';
    const wrong = await startWorker(runtime, WORKER, { UPSTASH_REDIS_REST_URL: servers.upstash.url, UPSTASH_REDIS_REST_TOKEN: wrongToken });
    try {
      const reply = await call(wrong, { op: 'check', creatorId: freshCreator('token'), tier: 'pro' });
      expect(reply.ok).toBe(false);
      if (reply.ok) return;
      expect(reply.error).toMatchObject({ isRateLimitError: false, isUnavailableError: true });
      expect(reply.error.message).toMatch(/WRONGPASS|token|unauthori[sz]ed/i);
      expect(reply.error.message).not.toContain(wrongToken);
    } finally {
      await wrong.stop();
    }
  });
});
