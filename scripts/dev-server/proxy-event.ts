/**
 * An HTTP request as API Gateway's REST API hands it to a Lambda proxy integration (payload
 * format 1.0), so the local server exercises the handlers exactly as deployed:
 * - `headers` keeps the last value of each header and `multiValueHeaders` all of them, names as
 *   the client sent them;
 * - `queryStringParameters` / `multiValueQueryStringParameters` hold decoded values, null when
 *   there is no query string;
 * - `pathParameters` are percent-decoded, `path` is the path as received;
 * - a body that is valid UTF-8 is passed as text, anything else base64 with `isBase64Encoded`.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { RouteMatch } from '../../lambda/shared/routes';

export const LOCAL_STAGE = 'local';

export interface IncomingRequest {
  readonly method: string;
  /** Path and query string as on the request line. */
  readonly url: string;
  /** Node's `rawHeaders`: name, value, name, value, ... with the client's casing. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly host: string;
}

export function toProxyEvent(request: IncomingRequest, match: RouteMatch): APIGatewayProxyEvent {
  const { path, query } = splitUrl(request.url);
  const headerValues = new Map<string, string[]>();
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
    appendTo(headerValues, request.rawHeaders[index], request.rawHeaders[index + 1]);
  }
  const multiValueHeaders = recordOf(headerValues);
  const headers = lastValues(multiValueHeaders);
  const queryParameters = parseQuery(query);
  const now = new Date();
  const requestId = randomUUID();
  const body = encodeBody(request.body);
  return {
    resource: match.route.resource,
    path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: queryParameters && lastValues(queryParameters),
    multiValueQueryStringParameters: queryParameters,
    pathParameters: Object.keys(match.pathParameters).length > 0 ? { ...match.pathParameters } : null,
    stageVariables: null,
    body: body.text,
    isBase64Encoded: body.isBase64Encoded,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp,
        user: null,
        userAgent: headerValue(headers, 'user-agent') ?? null,
        userArn: null,
      },
      domainName: request.host,
      domainPrefix: request.host.split('.')[0] ?? request.host,
      extendedRequestId: requestId,
      path: `/${LOCAL_STAGE}${path}`,
      stage: LOCAL_STAGE,
      requestId,
      requestTime: formatRequestTime(now),
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: match.route.resource,
    },
  };
}

/** A Lambda context with the fields handlers and Powertools read. */
export function localContext(functionName: string, timeoutMs = 5000): Context {
  const deadline = Date.now() + timeoutMs;
  const unsupported = (): never => {
    throw new Error('callback-style completion is not supported by the local server');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

export function splitUrl(url: string): { path: string; query: string } {
  const mark = url.indexOf('?');
  return mark === -1 ? { path: url, query: '' } : { path: url.slice(0, mark), query: url.slice(mark + 1) };
}

/*
 * Maps keyed by what the client sent are built in a Map and turned into records with
 * Object.fromEntries, which defines own properties: a header or query parameter named `__proto__`,
 * `constructor` or `toString` is then an ordinary key, never the inherited member.
 */
function appendTo(map: Map<string, string[]>, key: string, value: string): void {
  const values = map.get(key);
  if (values) values.push(value);
  else map.set(key, [value]);
}

function recordOf<T>(map: Map<string, T>): Record<string, T> {
  return Object.fromEntries(map);
}

function parseQuery(query: string): Record<string, string[]> | null {
  if (query.length === 0) return null;
  const values = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(query)) appendTo(values, key, value);
  return values.size > 0 ? recordOf(values) : null;
}

function lastValues(multi: Record<string, string[]>): Record<string, string> {
  return Object.fromEntries(Object.entries(multi).map(([key, values]) => [key, values[values.length - 1]]));
}

function encodeBody(body: Buffer): { text: string | null; isBase64Encoded: boolean } {
  if (body.length === 0) return { text: null, isBase64Encoded: false };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(body), isBase64Encoded: false };
  } catch {
    return { text: body.toString('base64'), isBase64Encoded: true };
  }
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  return Object.entries(headers).find(([candidate]) => candidate.toLowerCase() === name)?.[1];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestTime` format: 09/Apr/2015:12:34:56 +0000. */
function formatRequestTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
