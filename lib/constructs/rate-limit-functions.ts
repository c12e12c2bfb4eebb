import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  DEFAULT_FAIL_MODE,
  DEFAULT_METRICS_NAMESPACE,
  DEFAULT_SERVICE_NAME,
  DEFAULT_TIMEOUT_MS,
  ENV,
  ROUTE_LIST,
  type FailMode,
  type RouteName,
} from '../../lambda/contract';
import type { IRateLimitBackend } from './rate-limit-backend';
import { RateLimitFunction } from './rate-limit-function';

/**
 * Lambda caps the environment of a function at 4 KB in total; leave room for the other variables
 * when passing the tier table.
 */
const MAX_TIERS_JSON_BYTES = 3072;

/** One handler per backend and route: `lambda/handlers/<backend>/<route name>.ts`, exporting `handler`. */
const HANDLERS_DIR = path.join(__dirname, '..', '..', 'lambda', 'handlers');

export function handlerEntry(route: RouteName, backend: 'elasticache' | 'upstash'): string {
  // Each backend has its own entries, so a function's bundle carries only its backend's client.
  return path.join(HANDLERS_DIR, backend, `${route}.ts`);
}

export interface RateLimitFunctionsProps {
  /** Which Redis the functions use; decides the environment, VPC placement and grants. */
  readonly backend: IRateLimitBackend;
  /**
   * Powertools service name, and the `service` dimension of the custom metrics.
   * @default DEFAULT_SERVICE_NAME of the contract
   */
  readonly serviceName?: string;
  /**
   * CloudWatch namespace of the custom metrics.
   * @default DEFAULT_METRICS_NAMESPACE of the contract
   */
  readonly metricsNamespace?: string;
  /**
   * `RATE_LIMIT_FAIL_MODE`: `closed` answers 503 when Redis does not answer in time, `open`
   * admits the request and counts it as Degraded.
   * @default DEFAULT_FAIL_MODE of the contract ('closed')
   */
  readonly failMode?: FailMode;
  /**
   * `RATE_LIMIT_TIMEOUT_MS`, the deadline of one backend call.
   * @default the contract's DEFAULT_TIMEOUT_MS for the backend
   */
  readonly backendTimeout?: Duration;
  /**
   * Tier table passed as `RATE_LIMIT_TIERS` (at most 3 KB of JSON).
   * @default - the library's built-in tiers
   */
  readonly tiers?: unknown;
  /**
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;
  /**
   * Reserved concurrency per function; it bounds Redis connections (one client per execution
   * environment).
   * @default { check: 50, settle: 50, status: 20, reset: 5, setOverride: 2, getOverride: 2, removeOverride: 2 }
   */
  readonly reservedConcurrency?: Readonly<Partial<Record<RouteName, number>>>;
  /**
   * Provisioned concurrency on the check function's `live` alias.
   * @default 0
   */
  readonly checkProvisionedConcurrency?: number;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

const DEFAULT_RESERVED_CONCURRENCY: Readonly<Record<RouteName, number>> = {
  check: 50,
  settle: 50,
  status: 20,
  reset: 5,
  setOverride: 2,
  getOverride: 2,
  removeOverride: 2,
};

/**
 * One function per route of the contract, wired to one backend. The same construct builds the
 * VPC-attached ElastiCache variant and the Upstash variant; only the backend differs.
 */
export class RateLimitFunctions extends Construct {
  /** The functions by route name. */
  public readonly functions: Readonly<Record<RouteName, RateLimitFunction>>;

  constructor(scope: Construct, id: string, props: RateLimitFunctionsProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(5);
    const backendTimeout = props.backendTimeout ?? Duration.millis(DEFAULT_TIMEOUT_MS[props.backend.kind]);
    validateTimeouts(timeout, backendTimeout);

    const environment: Record<string, string> = {
      ...props.backend.environment,
      [ENV.failMode]: props.failMode ?? DEFAULT_FAIL_MODE,
      [ENV.timeoutMs]: String(backendTimeout.toMilliseconds()),
      [ENV.serviceName]: props.serviceName ?? DEFAULT_SERVICE_NAME,
      [ENV.metricsNamespace]: props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
    };
    if (props.tiers !== undefined) environment[ENV.tiers] = serializeTiers(props.tiers);

    const reserved = { ...DEFAULT_RESERVED_CONCURRENCY, ...props.reservedConcurrency };
    const functions = {} as Record<RouteName, RateLimitFunction>;
    for (const route of ROUTE_LIST) {
      const fn = new RateLimitFunction(this, pascalCase(route.name), {
        entry: handlerEntry(route.name, props.backend.kind),
        description: `${route.description} [${props.backend.kind}]`,
        environment,
        timeout,
        memorySize: props.memorySize,
        reservedConcurrentExecutions: reserved[route.name],
        provisionedConcurrency: route.name === 'check' ? props.checkProvisionedConcurrency : undefined,
        logRetention: props.logRetention,
        vpcPlacement: props.backend.vpcPlacement,
      });
      props.backend.grantAccess(fn.function);
      functions[route.name] = fn;
    }
    this.functions = functions;
  }
}

function validateTimeouts(timeout: Duration, backendTimeout: Duration): void {
  const backendMs = backendTimeout.toMilliseconds();
  if (backendMs < 10) {
    throw new Error(`RateLimitFunctions: backendTimeout must be at least 10 ms, got ${backendMs} ms`);
  }
  // A cold start reads the secret and opens the connection before the first backend call; keep a
  // second of headroom so the function answers (503 or fail-open) instead of being killed by its
  // own timeout.
  if (backendMs > timeout.toMilliseconds() - 1000) {
    throw new Error(
      `RateLimitFunctions: backendTimeout (${backendMs} ms) must leave at least 1 s of the function timeout (${timeout.toMilliseconds()} ms)`,
    );
  }
}

function serializeTiers(tiers: unknown): string {
  const json = JSON.stringify(tiers);
  if (Buffer.byteLength(json, 'utf8') > MAX_TIERS_JSON_BYTES) {
    throw new Error(
      `RateLimitFunctions: the tier table (${ENV.tiers}) is ${Buffer.byteLength(json, 'utf8')} bytes of JSON; Lambda environments are limited to 4 KB, so keep it under ${MAX_TIERS_JSON_BYTES} bytes`,
    );
  }
  return json;
}

export function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
