/**
 * Turns a route operation into a Lambda handler for API Gateway proxy events.
 *
 * The wrapper owns what every route shares: checking that the event is for this route (404
 * otherwise), waiting for the limiter, the correlation id, mapping library errors to statuses,
 * one log line per request, and publishing the invocation's metrics before returning. An
 * operation only parses its input, calls the library and shapes the 200.
 *
 * Status mapping (docs/design.md#http-api):
 *   RateLimitError            -> 429 problem+json, Retry-After, rate-limit headers
 *   RateLimitInputError       -> 400 naming the field (as do this layer's own BadRequestErrors,
 *                                unknown query parameters included)
 *   PayloadTooLargeError      -> 413
 *   another route's method    -> 405 with Allow; another route's path -> 404
 *   RateLimitUnavailableError -> 503, Retry-After (UNAVAILABLE_RETRY_AFTER_SECONDS of the contract,
 *                                as the library sets it), `reason` and a detail naming the real cause
 *   RateLimitDataError        -> 500 "creator-data-error" (one creator's keys unusable; logged as an error)
 *   RateLimitConfigError      -> 500 "misconfigured" (a deployment fault, never caused by input)
 *   anything else             -> 500, logged as a bug
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import {
  RateLimitConfigError,
  RateLimitError,
  RateLimitDataError,
  RateLimitInputError,
  RateLimitUnavailableError,
  type LimiterLibrary,
  type RateLimiter,
} from './library';
import {
  badRequest,
  creatorDataError,
  internalError,
  methodNotAllowed,
  misconfigured,
  notFound,
  payloadTooLarge,
  serviceUnavailable,
  tooManyRequests,
  type ApiResponse,
} from './http';
import { runInvocation, type Invocation } from './invocation';
import { sharedApiRuntime, type ApiRuntime } from './runtime';
import { countOf, METRIC, millisecondsOf, publishInvocationMetrics } from './metrics';
import { BadRequestError, parseEvent, PayloadTooLargeError, rejectUnknownQueryParameters, type ApiRequest } from './request';
import { allowedMethods, matchResource, PathDecodingError, ROUTES, type RouteName } from './routes';

export interface OperationContext {
  readonly request: ApiRequest;
  readonly limiter: RateLimiter;
  /** Records the request's tier for metric dimensions and 429 headers, if it is a configured tier. */
  readonly useTier: (tier: string | undefined) => void;
  /** Runs one library call that may reach the backend, recording BackendLatency when it did. */
  readonly call: <T>(operation: () => Promise<T>) => Promise<T>;
  readonly count: (metric: typeof METRIC.allowed | typeof METRIC.degraded) => void;
  /** Logs an administrative change with who made it (the caller's IAM principal) and the request's correlation id. */
  readonly audit: (message: string, fields: Record<string, unknown>) => void;
}

export interface Operation {
  readonly route: RouteName;
  run(context: OperationContext): Promise<ApiResponse>;
}

export type ApiHandler = (event: unknown, context?: Context) => Promise<APIGatewayProxyResult>;

export function createApiHandler(operation: Operation, runtime: ApiRuntime): ApiHandler {
  const route = ROUTES[operation.route];
  const { logger, metrics } = runtime;

  return async (event, context) => {
    const started = performance.now();
    if (isLambdaContext(context)) logger.addContext(context);
    const invocation: Invocation = {
      correlationId: requestIdOf(event) ?? context?.awsRequestId ?? randomUUID(),
      route: route.name,
      tier: undefined,
      metrics: [],
    };
    return runInvocation(invocation, async () => {
      let response: ApiResponse;
      let failure: unknown;
      let tiers: RateLimiter['tiers'] | undefined;
      try {
        const request = parseEvent(event);
        if (request.method !== route.method || !servesRoute(route.resource, request)) {
          response = misrouted(request);
        } else {
          rejectUnknownQueryParameters(request, route.queryParameters);
          const limiter = await runtime.limiter();
          tiers = limiter.tiers;
          response = await operation.run(operationContext(request, limiter, invocation, runtime));
        }
      } catch (error) {
        failure = error;
        response = errorResponse(error, invocation, tiers);
      }
      try {
        publishInvocationMetrics(metrics, invocation.metrics, invocation.tier);
      } catch (error) {
        // Metrics must never turn an answer into a failure.
        logger.error('could not publish metrics', { error, correlation_id: invocation.correlationId });
      }
      logRequest(runtime, invocation, response, performance.now() - started, failure);
      return response;
    });
  };
}

/** Not this function's route: 405 when another method is served at this path, else 404. */
function misrouted(request: ApiRequest): ApiResponse {
  const allow = allowedMethods(request.path, request.resource);
  return allow.length > 0 && !allow.includes(request.method)
    ? methodNotAllowed(request.method, request.path, allow)
    : notFound(request.method, request.path);
}

/** API Gateway sets `resource` to the route's template; without one (hand-made events) the path must fit it. */
function servesRoute(resource: string, request: ApiRequest): boolean {
  if (request.resource !== undefined) return request.resource === resource;
  try {
    return matchResource(resource, request.path) !== undefined;
  } catch (error) {
    if (error instanceof PathDecodingError) throw new BadRequestError(error.parameter, 'is not valid percent-encoding');
    throw error;
  }
}

function operationContext(request: ApiRequest, limiter: RateLimiter, invocation: Invocation, runtime: ApiRuntime): OperationContext {
  // Without API Gateway's pathParameters (hand-made events), take them from the path.
  const pathParameters =
    Object.keys(request.pathParameters).length > 0 || request.resource !== undefined
      ? request.pathParameters
      : (matchResource(ROUTES[invocation.route].resource, request.path) ?? {});
  return {
    // Object.assign, not a spread with a trailing property: that form is slow on Node 20.
    request: Object.assign({}, request, { pathParameters }),
    limiter,
    useTier(tier) {
      if (tier !== undefined && Object.prototype.hasOwnProperty.call(limiter.tiers, tier)) invocation.tier = tier;
    },
    async call(operation) {
      const started = performance.now();
      const record = () => invocation.metrics.push(millisecondsOf(METRIC.backendLatency, performance.now() - started));
      try {
        const result = await operation();
        record();
        return result;
      } catch (error) {
        // Input errors are raised before the backend is asked: no latency to report.
        if (!(error instanceof RateLimitInputError)) record();
        throw error;
      }
    },
    count(metric) {
      invocation.metrics.push(countOf(metric));
    },
    audit(message, fields) {
      runtime.logger.info(message, {
        audit: { ...fields, caller: request.caller ?? 'unsigned' },
        correlation_id: invocation.correlationId,
        route: invocation.route,
      });
    },
  };
}

function errorResponse(error: unknown, invocation: Invocation, tiers: RateLimiter['tiers'] | undefined): ApiResponse {
  if (error instanceof BadRequestError) return badRequest(error.errors);
  if (error instanceof PayloadTooLargeError) return payloadTooLarge(error.limitBytes);
  if (error instanceof RateLimitInputError) {
    return badRequest([{ field: error.field, detail: error.message.slice(error.field.length + 2) || error.message }]);
  }
  if (error instanceof RateLimitError) {
    invocation.metrics.push(countOf(METRIC.denied));
    return tooManyRequests(error, invocation.tier === undefined ? undefined : tiers?.[invocation.tier]);
  }
  if (error instanceof RateLimitUnavailableError) {
    invocation.metrics.push(countOf(METRIC.unavailable));
    return serviceUnavailable(error.retryAfter, error.reason, error.detail);
  }
  if (error instanceof RateLimitDataError) return creatorDataError(error.detail);
  if (error instanceof RateLimitConfigError) return misconfigured();
  return internalError();
}

function logRequest(runtime: ApiRuntime, invocation: Invocation, response: ApiResponse, durationMs: number, failure: unknown): void {
  const fields = {
    correlation_id: invocation.correlationId,
    route: invocation.route,
    statusCode: response.statusCode,
    durationMs: Math.round(durationMs * 100) / 100,
    ...(invocation.tier === undefined ? {} : { tier: invocation.tier }),
  };
  const { logger } = runtime;
  const status = response.statusCode;
  if (status >= 500 && !(failure instanceof RateLimitUnavailableError)) {
    logger.error('request failed', { ...fields, error: failure });
  } else if (status === 503) {
    logger.warn('rate-limit backend unavailable', { ...fields, reason: failure instanceof Error ? failure.message : undefined });
  } else if (status === 200) {
    logger.debug('request handled', fields);
  } else {
    logger.info('request rejected', { ...fields, detail: detailOf(response) });
  }
}

function detailOf(response: ApiResponse): unknown {
  try {
    return (JSON.parse(response.body) as { detail?: unknown }).detail;
  } catch {
    return undefined;
  }
}

function requestIdOf(event: unknown): string | undefined {
  const id = (event as { requestContext?: { requestId?: unknown } } | null)?.requestContext?.requestId;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : undefined;
}

function isLambdaContext(context: unknown): context is Context {
  return typeof context === 'object' && context !== null && typeof (context as Context).functionName === 'string';
}

/**
 * The exported `handler` of a function: the operation bound to the execution environment's
 * runtime, whose limiter the function's library entry (`library`) builds. Inside Lambda (AWS_LAMBDA_FUNCTION_NAME is set) the runtime is created, and the backend
 * warmed up, while the module loads, i.e. during the init phase, not on the first request.
 * Elsewhere (the local server, tests importing an operation) importing a handler module has no
 * side effects and the runtime is created on the first invocation.
 */
export function lambdaHandler(operation: Operation, library: LimiterLibrary): ApiHandler {
  let bound: ApiHandler | undefined;
  const bind = (): ApiHandler => (bound ??= createApiHandler(operation, sharedApiRuntime(library)));
  if (process.env.AWS_LAMBDA_FUNCTION_NAME) bind();
  return (event, context) => bind()(event, context);
}
