/**
 * API Gateway REST API proxy events (payload format 1.0) and Lambda contexts for handler tests,
 * shaped as API Gateway sends them: headers and multiValueHeaders, query maps that are null when
 * there is no query string, decoded pathParameters, a full requestContext, base64 bodies with
 * isBase64Encoded.
 *
 * Written independently of the local server's translation (scripts/dev-server/proxy-event.ts), so
 * the tests that compare both against Powertools' APIGatewayProxyEventSchema check one with the other.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { findRoute, ROUTES } from '../../lambda/shared/routes';
import { localContext } from '../../scripts/dev-server/proxy-event';

export interface ApiCall {
  readonly method: string;
  /** Path, optionally with a query string (percent-encoded as on the wire). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** An object is sent as JSON; a string or Buffer as is. */
  readonly body?: unknown;
  /** Send the body base64-encoded with isBase64Encoded (as API Gateway does for binary media types). */
  readonly base64?: boolean;
}

export function bodyBytes(call: ApiCall): Buffer | undefined {
  if (call.body === undefined || call.body === null) return undefined;
  if (Buffer.isBuffer(call.body)) return call.body;
  if (typeof call.body === 'string') return Buffer.from(call.body, 'utf8');
  return Buffer.from(JSON.stringify(call.body), 'utf8');
}

export function apiGatewayEvent(call: ApiCall, overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  const mark = call.path.indexOf('?');
  const path = mark === -1 ? call.path : call.path.slice(0, mark);
  const queryString = mark === -1 ? '' : call.path.slice(mark + 1);
  // API Gateway only invokes a function for a configured resource; for a path no route serves we
  // still need a resource, and the handler must answer 404 for it.
  const match = safeFindRoute(call.method, path) ?? routeAtPath(path);
  const resource = match?.route.resource ?? path;

  // Maps and Object.fromEntries: a header or parameter named `__proto__` stays an ordinary key.
  const headerValues = new Map<string, string[]>();
  const add = (name: string, value: string) => headerValues.set(name, [...(headerValues.get(name) ?? []), value]);
  add('Host', 'abc123.execute-api.us-east-1.amazonaws.com');
  add('User-Agent', 'handler-tests/1.0');
  add('X-Forwarded-For', '203.0.113.7');
  add('X-Forwarded-Proto', 'https');
  for (const [name, value] of Object.entries(call.headers ?? {})) {
    for (const item of typeof value === 'string' ? [value] : value) add(name, item);
  }
  const bytes = bodyBytes(call);
  if (bytes && ![...headerValues.keys()].some((name) => name.toLowerCase() === 'content-type')) add('Content-Type', 'application/json');
  const multiValueHeaders = Object.fromEntries(headerValues);
  const headers = Object.fromEntries([...headerValues].map(([name, values]) => [name, values.at(-1)!]));

  let multiQuery: Record<string, string[]> | null = null;
  if (queryString) {
    const queryValues = new Map<string, string[]>();
    for (const [key, value] of new URLSearchParams(queryString)) queryValues.set(key, [...(queryValues.get(key) ?? []), value]);
    multiQuery = Object.fromEntries(queryValues);
  }
  const singleQuery = multiQuery && Object.fromEntries(Object.entries(multiQuery).map(([key, values]) => [key, values.at(-1)!]));
  const requestId = randomUUID();
  const now = Date.now();

  return {
    resource,
    path,
    httpMethod: call.method,
    headers,
    multiValueHeaders,
    queryStringParameters: singleQuery,
    multiValueQueryStringParameters: multiQuery,
    pathParameters: match && Object.keys(match.pathParameters).length > 0 ? { ...match.pathParameters } : null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: call.method,
      identity: {
        accessKey: 'AKIAEXAMPLE',
        accountId: '123456789012',
        apiKey: null,
        apiKeyId: null,
        caller: 'AROAEXAMPLE:caller',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.7',
        user: 'AROAEXAMPLE:caller',
        userAgent: 'handler-tests/1.0',
        userArn: 'arn:aws:sts::123456789012:assumed-role/caller/session',
      },
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      extendedRequestId: `ext-${requestId}`,
      path: `/prod${path}`,
      stage: 'prod',
      requestId,
      requestTime: new Date(now).toUTCString(),
      requestTimeEpoch: now,
      resourceId: 'res123',
      resourcePath: resource,
    },
    body: bytes === undefined ? null : call.base64 ? bytes.toString('base64') : bytes.toString('utf8'),
    isBase64Encoded: Boolean(call.base64 && bytes),
    ...overrides,
  };
}

/** The local server's Lambda context, with the names a deployed function in us-east-1 would have. */
export function lambdaContext(functionName = 'creator-rate-limit-test'): Context {
  return {
    ...localContext(functionName),
    callbackWaitsForEmptyEventLoop: true,
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 5000,
  };
}

/**
 * The route whose function API Gateway would invoke for this call: the route of the path when the
 * method is another one (that function must answer 405), `check` for paths no route serves.
 */
export function routeNameFor(call: ApiCall): keyof typeof ROUTES {
  const path = call.path.split('?')[0];
  return (safeFindRoute(call.method, path) ?? routeAtPath(path))?.route.name ?? 'check';
}

/** The route whose resource fits the path whatever the method (API Gateway's resource match). */
function routeAtPath(path: string): ReturnType<typeof findRoute> {
  for (const route of Object.values(ROUTES)) {
    const match = safeFindRoute(route.method, path);
    if (match) return match;
  }
  return undefined;
}

function safeFindRoute(method: string, path: string): ReturnType<typeof findRoute> {
  try {
    return findRoute(method, path);
  } catch {
    return undefined; // undecodable path parameter
  }
}
