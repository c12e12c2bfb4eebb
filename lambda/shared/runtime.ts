/**
 * The rate limiter of an execution environment: built once from the environment
 * (docs/design.md#environment) when the function initialises, readied for the first request during init
 * (prepareForFirstRequest), and reused by every invocation.
 *
 * The runtime is the same for every backend: it receives the LimiterLibrary of the library entry
 * that its function bundles (lambda/handlers/<backend>/library.ts), so a function carries only its
 * own backend's client and settings code.
 *
 * A configuration error does not crash the init: it is logged once and every request is answered
 * with a 500 that says the service is misconfigured, which is easier to diagnose than a function
 * that fails to start.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { DEFAULT_TIMEOUT_MS, ENV } from '../contract/environment';
import { METRIC_DIMENSIONS } from '../contract/metrics';
import { currentInvocation } from './invocation';
import type {
  AnomalyReport,
  LimiterBackendName,
  EnvironmentHooks,
  LimiterLibrary,
  RateLimiter,
  RateLimitLogger,
  ShadowDenialReport,
} from './library';
import { getLogger, registerSecret } from './logger';
import { countOf, getMetrics, METRIC, publishInvocationMetrics } from './metrics';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ApiRuntimeOptions {
  /** The library entry the function bundles: it decides which backends this runtime can build. */
  readonly library: LimiterLibrary;
  /** @default process.env */
  readonly env?: Environment;
  /** Secrets Manager reader for *_SECRET_ARN variables. @default Powertools Parameters (loaded on first use) */
  readonly readSecret?: (secretArn: string) => Promise<string>;
  /** ElastiCache IAM token signer for ELASTICACHE_REDIS_IAM_USER. @default the library's iamAuthTokenFromEnvironment */
  readonly iamAuthToken?: (userId: string) => Promise<string>;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export interface ApiRuntime {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The configured backend, or undefined when the configuration is invalid. */
  readonly backend: LimiterBackendName | undefined;
  /**
   * Resolves once init has readied the backend (prepareForFirstRequest), after at most one backend
   * deadline; rejects with the configuration error if there is one.
   */
  limiter(): Promise<RateLimiter>;
  /** Closes the backend client (the local server and tests; Lambda simply freezes). */
  close(): Promise<void>;
}

/** The default readSecret: imports the Secrets Manager code (and the AWS SDK) only when first needed. */
const readSecretFromSecretsManager = (() => {
  let reader: Promise<(secretArn: string) => Promise<string>> | undefined;
  return async (secretArn: string): Promise<string> => {
    reader ??= import('./secrets').then((module) => module.createSecretReader());
    return (await reader)(secretArn);
  };
})();

export function createApiRuntime(options: ApiRuntimeOptions): ApiRuntime {
  const env = options.env ?? process.env;
  const logger = options.logger ?? getLogger();
  const metrics = options.metrics ?? getMetrics();
  registerSecret(env[ENV.elastiCachePassword]);
  registerSecret(env[ENV.upstashToken]);

  const hooks: EnvironmentHooks = {
    readSecret: options.readSecret ?? readSecretFromSecretsManager,
    iamAuthToken: options.iamAuthToken ?? options.library.iamAuthTokenFromEnvironment?.(env),
  };

  let limiter: RateLimiter | undefined;
  let configError: Error | undefined;
  let timeoutMs = 0;
  try {
    const limiterOptions = options.library.rateLimiterOptionsFromEnv(env, hooks);
    timeoutMs = limiterOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS[limiterOptions.backend ?? 'memory'];
    limiter = options.library.createRateLimiter({
      ...limiterOptions,
      logger: libraryLogger(logger),
      onAnomaly: (report) => reportAnomaly(logger, metrics, report),
      onShadowDenial: (report) => reportShadowDenial(logger, metrics, report),
    });
  } catch (error) {
    configError = error instanceof Error ? error : new Error(String(error));
    logger.error('rate-limit configuration is invalid; every request will be answered 500', { error: configError });
  }

  const ready: Promise<void> = limiter ? prepareForFirstRequest(limiter, logger) : Promise.resolve();

  return {
    logger,
    metrics,
    backend: limiter?.backend,
    async limiter() {
      if (!limiter) throw configError!;
      // Normally init readied the backend. If a warm-up is still running (a request right after a
      // cold start, or a backend that does not answer), the request waits for it, no longer than
      // one backend deadline: its own call is bounded the same way and shares the connection being
      // opened.
      await waitAtMost(ready, timeoutMs);
      return limiter;
    },
    async close() {
      await ready;
      await limiter?.close();
    },
  };
}

/**
 * What init does so that the first request is fast. A backend that holds a connection
 * (ElastiCache) is warmed up: the connection is opened and the usage script loaded, with one
 * status read that writes nothing.
 *
 * Upstash is stateless HTTP, billed per command: a call at init would share nothing with the first
 * request but the process's fetch (the request opens a connection of its own rather than wait for
 * one), so init makes no call. It only loads fetch's implementation, which Node otherwise loads
 * on the first request (15 to 30 ms); the first request after a new script version loads the
 * script.
 */
async function prepareForFirstRequest(limiter: RateLimiter, logger: Logger): Promise<void> {
  if (limiter.backend === 'upstash') {
    loadFetchImplementation();
    return;
  }
  if (!(await limiter.warmUp())) {
    logger.warn('rate-limit backend did not answer the warm-up; requests will fail until it does', { backend: limiter.backend });
  }
}

/** Node defines fetch and its classes as lazy globals: reading one loads them all (undici). */
function loadFetchImplementation(): void {
  void globalThis.Response;
}

let shared: ApiRuntime | undefined;

/**
 * The runtime of this execution environment, configured from process.env on first call. An
 * execution environment runs one function, i.e. one entry: later calls return the same runtime.
 */
export function sharedApiRuntime(library: LimiterLibrary): ApiRuntime {
  shared ??= createApiRuntime({ library });
  return shared;
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; leaves no timer behind. */
async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The library logs degraded-mode and similar events through this, tagged with the request. */
function libraryLogger(logger: Logger): RateLimitLogger {
  return {
    warn: (message, fields) => logger.warn(message, { ...fields, ...correlation() }),
    error: (message, fields) => logger.error(message, { ...fields, ...correlation() }),
  };
}

function reportAnomaly(logger: Logger, metrics: Metrics, report: AnomalyReport): void {
  logger.warn('rate-limit anomaly: attempts above the threshold within the window', { anomaly: { ...report }, ...correlation() });
  const invocation = currentInvocation();
  if (invocation) {
    invocation.metrics.push(countOf(METRIC.anomaly));
  } else {
    // Not expected (the library reports anomalies from inside a check), but never lose one.
    publishInvocationMetrics(metrics, [countOf(METRIC.anomaly)], undefined);
  }
}

/**
 * A shadow policy would have denied: a structured log line, and a ShadowDenied data point in its
 * own EMF record with the {service, policy} dimensions (policy names come from the tier table).
 */
function reportShadowDenial(logger: Logger, metrics: Metrics, report: ShadowDenialReport): void {
  logger.info('rate-limit shadow policy would have denied', { shadow: { ...report }, ...correlation() });
  try {
    metrics.addDimension(METRIC_DIMENSIONS.policy, report.policy);
    metrics.addMetric(METRIC.shadowDenied, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  } catch (error) {
    logger.error('could not publish metrics', { error, ...correlation() });
  }
}

function correlation(): { correlation_id?: string } {
  const id = currentInvocation()?.correlationId;
  return id === undefined ? {} : { correlation_id: id };
}
