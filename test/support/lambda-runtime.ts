/**
 * Runtimes for handler tests: the handlers' own runtime (createApiRuntime) on a given
 * environment, with silent or captured logs and metrics, and a transport that delivers an ApiCall
 * to the handler API Gateway would invoke for it.
 */
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DEFAULT_TIERS } from '../../lambda/rate-limit/exports';
import { createApiHandlers } from '../../lambda/handlers/operations';
import { createLogger } from '../../lambda/shared/logger';
import { createApiRuntime, type ApiRuntime, type ApiRuntimeOptions, type Environment } from '../../lambda/shared/limiter';
import { createMetrics } from '../../lambda/shared/metrics';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import type { UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import type { ApiReply, ApiTransport } from './http-scenarios';
import { apiGatewayEvent, lambdaContext, routeNameFor } from './lambda-events';
import { withContractCheck } from './openapi-contract';

/**
 * The default tiers plus `tiny`, whose limits a test reaches in a few calls: 3 requests a minute,
 * 1,000 tokens a day, 2 in flight; and `dark`, with a shadow policy.
 */
export const TEST_TIERS = {
  ...DEFAULT_TIERS,
  tiny: {
    policies: [
      { name: 'requests-per-minute', unit: 'requests', limit: 3, windowSeconds: 60 },
      { name: 'tokens-per-day', unit: 'tokens', limit: 1000, windowSeconds: 86400 },
      { name: 'in-flight', unit: 'concurrent', limit: 2, leaseSeconds: 30 },
    ],
  },
  /** A tighter per-minute policy dark-launched in shadow mode beside an hourly one. */
  dark: {
    policies: [
      { name: 'requests-per-hour', unit: 'requests', limit: 100, windowSeconds: 3600 },
      { name: 'requests-per-minute', unit: 'requests', limit: 1, windowSeconds: 60, mode: 'shadow' },
    ],
  },
};
export const TEST_TIERS_JSON = JSON.stringify(TEST_TIERS);

/** Environment of the deployed ElastiCache functions, pointed at a test redis-server. */
export function elastiCacheEnv(redis: RedisProcess, extra: Environment = {}): Environment {
  return {
    RATE_LIMIT_BACKEND: 'elasticache',
    ELASTICACHE_REDIS_HOST: redis.host,
    ELASTICACHE_REDIS_PORT: String(redis.port),
    RATE_LIMIT_FAIL_MODE: 'closed',
    RATE_LIMIT_TIMEOUT_MS: '2000',
    RATE_LIMIT_TIERS: TEST_TIERS_JSON,
    ...extra,
  };
}

/** Environment of the Upstash functions (URL and token given directly, as for local use). */
export function upstashEnv(upstash: UpstashCompatibleServer, extra: Environment = {}): Environment {
  return {
    RATE_LIMIT_BACKEND: 'upstash',
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    RATE_LIMIT_FAIL_MODE: 'closed',
    RATE_LIMIT_TIMEOUT_MS: '3000',
    RATE_LIMIT_TIERS: TEST_TIERS_JSON,
    ...extra,
  };
}

/** A Metrics instance that writes nothing (Powertools reads the switch when it is constructed). */
export function silentMetrics(): Metrics {
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  try {
    return createMetrics();
  } finally {
    if (previous === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = previous;
  }
}

/** A Metrics instance that publishes EMF on stdout (capture it with captureStdout). */
export function publishingMetrics(): Metrics {
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  try {
    return createMetrics();
  } finally {
    if (previous !== undefined) process.env.POWERTOOLS_METRICS_DISABLED = previous;
  }
}

export function silentLogger(): Logger {
  return createLogger({ logLevel: 'SILENT' });
}

/** Runtimes created here are closed by closeRuntimes() (call it in afterAll). */
const open: ApiRuntime[] = [];

export function testRuntime(env: Environment, options: Omit<ApiRuntimeOptions, 'env'> = {}): ApiRuntime {
  const runtime = createApiRuntime({ logger: silentLogger(), metrics: silentMetrics(), ...options, env });
  open.push(runtime);
  return runtime;
}

export async function closeRuntimes(): Promise<void> {
  await Promise.all(open.splice(0).map((runtime) => runtime.close()));
}

/** Delivers each call as an API Gateway event to the function serving its route (checked against docs/openapi.yaml). */
export function handlerTransport(runtime: ApiRuntime): ApiTransport {
  const handlers = createApiHandlers(runtime);
  return withContractCheck(async (call) => {
    const route = routeNameFor(call);
    const result = await handlers[route](apiGatewayEvent(call), lambdaContext(`creator-rate-limit-${route}`));
    return replyOf(
      result.statusCode,
      result.headers ?? {},
      result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString('utf8') : result.body,
    );
  });
}

export function replyOf(status: number, headers: Record<string, unknown>, text: string): ApiReply {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = String(value);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status, headers: lower, text, body: body as ApiReply['body'] };
}

/**
 * Captures what Powertools writes (it bypasses console.* outside POWERTOOLS_DEV): EMF records and
 * DEBUG/INFO logs go to stdout, WARN/ERROR logs to stderr.
 */
export function captureOutput(): { lines(): string[]; records(): Record<string, unknown>[]; restore(): void } {
  let captured = '';
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write.bind(stream));
  for (const stream of streams) {
    stream.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const callback = rest.find((item) => typeof item === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
  }
  const lines = () => captured.split('\n').filter((line) => line.trim().length > 0);
  return {
    lines,
    records: () =>
      lines().flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    restore: () => {
      streams.forEach((stream, index) => {
        stream.write = originals[index]!;
      });
    },
  };
}

/** A redis-server and a black hole for the handler tests of one file. */
export interface HandlerTestServers {
  readonly redis: RedisProcess;
  readonly blackHole: BlackHole;
}

/**
 * Starts a redis-server and a black hole before the file's tests; after them, closes every test
 * runtime and stops both. The servers are read from the returned object once the tests run.
 */
export function useHandlerTestServers(): HandlerTestServers {
  let redis: RedisProcess | undefined;
  let blackHole: BlackHole | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    blackHole = await startBlackHole();
  });
  afterAll(async () => {
    await closeRuntimes();
    await blackHole?.stop();
    await redis?.stop();
  });
  return {
    get redis() {
      return redis ?? fail('redis-server not started yet');
    },
    get blackHole() {
      return blackHole ?? fail('black hole not started yet');
    },
  };
}

/** Environment of the ElastiCache functions pointed at a black hole: every call runs into its deadline. */
export function unansweredEnv(blackHole: BlackHole, extra: Environment = {}): Environment {
  return {
    RATE_LIMIT_BACKEND: 'elasticache',
    ELASTICACHE_REDIS_HOST: '127.0.0.1',
    ELASTICACHE_REDIS_PORT: String(blackHole.port),
    RATE_LIMIT_TIMEOUT_MS: '200',
    RATE_LIMIT_TIERS: TEST_TIERS_JSON,
    ...extra,
  };
}

function fail(message: string): never {
  throw new Error(message);
}

export interface BlackHole {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * A backend that accepts TCP connections and never answers: the "did not answer in time" outage
 * that RATE_LIMIT_TIMEOUT_MS exists for (a refused connection fails fast by itself).
 */
export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.resume(); // read and drop everything
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
