import * as apigateway from 'aws-cdk-lib/aws-apigateway';

/**
 * Problem types of the errors API Gateway produces itself, before any function runs. Stable:
 * callers branch on them. The 400 and 404 types are the ones the handlers use for the same
 * situations; the throttling type is deliberately different from a creator's quota denial
 * (`https://iana.org/assignments/http-problem-types#quota-exceeded`): a throttled caller should
 * slow down, a denied creator should wait for its window.
 */
export const GATEWAY_PROBLEM_TYPE = Object.freeze({
  throttled: 'urn:creator-rate-limit:problem:gateway-throttled',
  forbidden: 'urn:creator-rate-limit:problem:forbidden',
  invalidRequest: 'urn:creator-rate-limit:problem:invalid-request',
  notFound: 'urn:creator-rate-limit:problem:not-found',
  payloadTooLarge: 'urn:creator-rate-limit:problem:payload-too-large',
  gatewayTimeout: 'urn:creator-rate-limit:problem:gateway-timeout',
  clientError: 'urn:creator-rate-limit:problem:client-error',
  gatewayError: 'urn:creator-rate-limit:problem:gateway-error',
});

/**
 * Seconds a throttled caller should wait. API Gateway throttles with a token bucket refilled every
 * second, so one second is when the next request can succeed.
 */
export const THROTTLED_RETRY_AFTER_SECONDS = 1;

/** One gateway response: which API Gateway error types it covers and what the caller gets. */
export interface GatewayProblem {
  readonly id: string;
  readonly types: readonly apigateway.ResponseType[];
  readonly status: number;
  readonly problemType: string;
  readonly title: string;
  /** Extra response headers (header name -> literal value). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Fixed detail text; when absent, API Gateway's own message (`$context.error.messageString`,
   * already a quoted JSON string) is used.
   */
  readonly detail?: string;
}

const R = apigateway.ResponseType;

/**
 * Every gateway-generated error, most specific first. DEFAULT_4XX and DEFAULT_5XX catch the
 * types not listed (UNSUPPORTED_MEDIA_TYPE, API_CONFIGURATION_ERROR, ...), so no gateway error
 * ever answers API Gateway's bare `{"message": ...}`.
 */
export const GATEWAY_PROBLEMS: readonly GatewayProblem[] = [
  {
    id: 'Throttled',
    // Stage, method and usage-plan limits: the caller's request rate, not a creator's quota.
    types: [R.THROTTLED, R.QUOTA_EXCEEDED],
    status: 429,
    problemType: GATEWAY_PROBLEM_TYPE.throttled,
    title: 'Too many requests to the rate-limit API',
    headers: { 'Retry-After': String(THROTTLED_RETRY_AFTER_SECONDS) },
  },
  {
    id: 'Forbidden',
    // Unsigned, wrongly signed or expired requests, and principals the IAM or resource policy denies.
    types: [R.MISSING_AUTHENTICATION_TOKEN, R.INVALID_SIGNATURE, R.EXPIRED_TOKEN, R.ACCESS_DENIED, R.INVALID_API_KEY, R.WAF_FILTERED],
    status: 403,
    problemType: GATEWAY_PROBLEM_TYPE.forbidden,
    title: 'Forbidden',
  },
  {
    id: 'BadRequestBody',
    types: [R.BAD_REQUEST_BODY],
    status: 400,
    problemType: GATEWAY_PROBLEM_TYPE.invalidRequest,
    title: 'Invalid request body',
    detail: 'The request body must be a JSON object.',
  },
  {
    id: 'BadRequestParameters',
    types: [R.BAD_REQUEST_PARAMETERS],
    status: 400,
    problemType: GATEWAY_PROBLEM_TYPE.invalidRequest,
    title: 'Invalid request parameters',
    detail: 'A required path parameter is missing.',
  },
  {
    id: 'NotFound',
    types: [R.RESOURCE_NOT_FOUND],
    status: 404,
    problemType: GATEWAY_PROBLEM_TYPE.notFound,
    title: 'Not Found',
    detail: 'Unknown route',
  },
  {
    id: 'PayloadTooLarge',
    types: [R.REQUEST_TOO_LARGE],
    status: 413,
    problemType: GATEWAY_PROBLEM_TYPE.payloadTooLarge,
    title: 'Payload too large',
  },
  {
    id: 'IntegrationTimeout',
    types: [R.INTEGRATION_TIMEOUT],
    status: 504,
    problemType: GATEWAY_PROBLEM_TYPE.gatewayTimeout,
    title: 'The rate-limit function did not answer in time',
  },
  {
    id: 'Default4xx',
    types: [R.DEFAULT_4XX],
    status: 400, // nominal: API Gateway keeps the real status
    problemType: GATEWAY_PROBLEM_TYPE.clientError,
    title: 'Request refused by API Gateway',
  },
  {
    id: 'Default5xx',
    types: [R.DEFAULT_5XX],
    status: 500, // nominal: API Gateway keeps the real status
    problemType: GATEWAY_PROBLEM_TYPE.gatewayError,
    title: 'API Gateway error',
  },
];

/**
 * The response body of one problem. The DEFAULT_* responses keep the status API Gateway chose
 * (415, 401, 502, ...), which a gateway response template cannot read, so their bodies leave out
 * `status` (optional in RFC 9457) and name API Gateway's error type instead.
 */
export function problemTemplate(problem: GatewayProblem): string {
  const isDefault = problem.types.some((type) => type === R.DEFAULT_4XX || type === R.DEFAULT_5XX);
  const detail = problem.detail !== undefined ? JSON.stringify(problem.detail) : '$context.error.messageString';
  const fields = [
    `"type":${JSON.stringify(problem.problemType)}`,
    `"title":${JSON.stringify(problem.title)}`,
    ...(isDefault ? [] : [`"status":${problem.status}`]),
    `"detail":${detail}`,
    // Lets the caller's report be matched with the access log line.
    '"requestId":"$context.requestId"',
    '"errorType":"$context.error.responseType"',
  ];
  if (problem.headers?.['Retry-After'] !== undefined) fields.push(`"retryAfter":${Number(problem.headers['Retry-After'])}`);
  return `{${fields.join(',')}}`;
}

/** Adds every gateway response of GATEWAY_PROBLEMS to the API. */
export function addProblemGatewayResponses(api: apigateway.RestApi): void {
  for (const problem of GATEWAY_PROBLEMS) {
    const isDefault = problem.types.some((type) => type === R.DEFAULT_4XX || type === R.DEFAULT_5XX);
    const responseHeaders: Record<string, string> = {
      'Content-Type': "'application/problem+json'",
      'Cache-Control': "'no-store'",
    };
    for (const [name, value] of Object.entries(problem.headers ?? {})) responseHeaders[name] = `'${value}'`;
    problem.types.forEach((type, index) => {
      api.addGatewayResponse(index === 0 ? problem.id : `${problem.id}${index}`, {
        type,
        // The DEFAULT_* responses keep the status API Gateway chose (415, 500, 502, ...).
        statusCode: isDefault ? undefined : String(problem.status),
        responseHeaders,
        templates: { 'application/json': problemTemplate(problem) },
      });
    });
  }
}
