/**
 * Local API server (`npm start`): serves every route of the HTTP API on 127.0.0.1 by turning
 * each HTTP request into an API Gateway proxy event and calling the same handler code that runs
 * in Lambda. All routes share one runtime, hence one backend client. Before a handler runs, the
 * server refuses what API Gateway would refuse or never forward: cross-site browser requests
 * (dev-server/request-guard.ts), methods a path does not serve (405), bodies over the handlers'
 * limit (413) and JSON routes called with another Content-Type (415).
 *
 *   PORT              port to listen on (default 3000; 0 picks a free one)
 *   RATE_LIMIT_*, ELASTICACHE_*, UPSTASH_*   as deployed (docs/design.md#environment); with no backend
 *                     configured, the embedded memory backend is used.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ROUTE_LIST } from '../lambda/contract';
import { createApiHandlers } from '../lambda/handlers/operations';
import { badRequest, internalError, methodNotAllowed, notFound, payloadTooLarge, type ApiResponse } from '../lambda/shared/http';
import { createApiRuntime, type ApiRuntime, type Environment } from '../lambda/shared/limiter';
import { MAX_BODY_BYTES } from '../lambda/shared/request';
import { allowedMethods, findRoute, PathDecodingError } from '../lambda/shared/routes';
import { describeBackend, resolveDevEnvironment } from './dev-server/environment';
import { OPENAPI_ROUTE, openApiResponse } from './dev-server/openapi-document';
import { localContext, splitUrl, toProxyEvent } from './dev-server/proxy-event';
import { crossSiteRefusal, jsonContentTypeRefusal } from './dev-server/request-guard';

export const DEFAULT_PORT = 3000;
const HOST = '127.0.0.1';

export interface DevServerOptions {
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** Configuration as the functions would see it. @default process.env */
  readonly env?: Environment;
  /** Receives one access-log line per request (`POST /v1/check 200 2.1 ms`). @default none */
  readonly accessLog?: (line: string) => void;
  /** Receives every unexpected error (answered 500): a 500 is a bug and must be seen. @default console.error */
  readonly errorLog?: (message: string, error: unknown) => void;
}

export interface DevServer {
  readonly url: string;
  readonly port: number;
  /** One line naming the backend (never credentials). */
  readonly backendDescription: string;
  readonly embeddedMemory: boolean;
  readonly notes: readonly string[];
  /** Stops accepting requests, closes open connections and the backend client. Idempotent. */
  close(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const dev = resolveDevEnvironment(options.env ?? process.env);
  const runtime = createApiRuntime({ env: dev.env });
  // Fail at start, not on every request, when the configuration is invalid.
  try {
    await runtime.limiter();
  } catch (error) {
    await runtime.close();
    throw error;
  }
  const handlers = createApiHandlers(runtime);
  const accessLog = options.accessLog;
  const errorLog = options.errorLog ?? ((message: string, error: unknown) => console.error(message, error));
  let port = 0;
  const server = createServer((request, response) => {
    const started = performance.now();
    if (accessLog) {
      response.once('finish', () => {
        accessLog(`${request.method} ${request.url} ${response.statusCode} ${(performance.now() - started).toFixed(1)} ms`);
      });
    }
    serve(request, response, handlers, port).catch((error: unknown) => {
      errorLog(`unexpected error serving ${request.method} ${request.url?.slice(0, 256)}`, error);
      if (!response.headersSent) send(response, internalError());
      else response.destroy();
    });
  });
  await listen(server, options.port ?? DEFAULT_PORT);
  port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${HOST}:${port}`,
    port,
    backendDescription: describeBackend(dev, runtime.backend),
    embeddedMemory: dev.embeddedMemory,
    notes: dev.notes,
    close: () => (closing ??= shutdown(server, runtime)),
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  handlers: ReturnType<typeof createApiHandlers>,
  port: number,
): Promise<void> {
  const method = request.method ?? 'GET';
  const url = request.url ?? '/';
  const { path } = splitUrl(url);
  const crossSite = crossSiteRefusal(request.headers, port);
  if (crossSite) return discardBodyAndSend(request, response, crossSite);
  if (method === OPENAPI_ROUTE.method && path === OPENAPI_ROUTE.path) {
    request.resume();
    return send(response, await openApiResponse());
  }
  const refusal = routingRefusal(method, path);
  if (refusal) return discardBodyAndSend(request, response, refusal);
  const match = findRoute(method, path)!;
  if (match.route.jsonBody && hasBody(request)) {
    const refusedType = jsonContentTypeRefusal(request.headers);
    if (refusedType) return discardBodyAndSend(request, response, refusedType);
  }
  const body = await readBody(request);
  if (body === undefined) return discardBodyAndSend(request, response, payloadTooLarge(MAX_BODY_BYTES));
  const event = toProxyEvent(
    {
      method,
      url,
      rawHeaders: request.rawHeaders,
      body,
      sourceIp: request.socket.remoteAddress ?? HOST,
      host: request.headers.host ?? HOST,
    },
    match,
  );
  const result = await handlers[match.route.name](event, localContext(`creator-rate-limit-${match.route.name}`));
  send(response, result);
}

/** Whether a body follows the headers (an empty POST goes on to the handler's 400 "body is required"). */
function hasBody(request: IncomingMessage): boolean {
  return request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
}

/** 400 for an undecodable path parameter, 405 for a path served under other methods, 404 for no route; else undefined. */
function routingRefusal(method: string, path: string): ApiResponse | undefined {
  try {
    if (findRoute(method, path)) return undefined;
  } catch (error) {
    if (!(error instanceof PathDecodingError)) throw error;
    return badRequest([{ field: error.parameter, detail: 'is not valid percent-encoding' }]);
  }
  const allow = allowedMethods(path);
  return allow.length > 0 ? methodNotAllowed(method, path, allow) : notFound(method, path);
}

/**
 * Answers without reading the body. The connection is closed afterwards: a client may still be
 * sending a large body, and draining it would let anyone make the server read without limit.
 */
function discardBodyAndSend(request: IncomingMessage, response: ServerResponse, result: ApiResponse): void {
  if (!request.complete) response.setHeader('Connection', 'close');
  request.resume();
  send(response, result);
}

/** The request body, or undefined as soon as it exceeds MAX_BODY_BYTES (the limit the handlers apply). */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (declared > MAX_BODY_BYTES) {
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.off('data', onData);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Writes a proxy integration result the way API Gateway would. */
function send(response: ServerResponse, result: APIGatewayProxyResult | ApiResponse): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers[name] = values.map(String);
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '', 'utf8');
  headers['Content-Length'] = String(body.length);
  response.writeHead(result.statusCode, headers);
  response.end(body);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new Error(`Port ${port} on ${HOST} is already in use; set PORT to another port`) : error);
    };
    server.once('error', onError);
    server.listen(port, HOST, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function shutdown(server: Server, runtime: ApiRuntime): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections would otherwise hold close() open until they time out.
    server.closeAllConnections();
  });
  await runtime.close();
}

function portFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65535) throw new Error(`PORT must be an integer from 0 to 65535, got "${value}"`);
  return port;
}

async function main(): Promise<void> {
  // EMF metric records are for CloudWatch; locally they would drown the request logs.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  let server: DevServer;
  try {
    server = await startDevServer({ port: portFrom(process.env.PORT), env: process.env, accessLog: (line) => console.log(line) });
  } catch (error) {
    console.error(`Could not start the local API server: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  const example = JSON.stringify({ creatorId: 'creator-123', tier: 'pro', tokens: 500 });
  console.log(
    [
      `Creator rate-limit API listening on ${server.url}`,
      `Backend: ${server.backendDescription}`,
      ...server.notes.map((note) => `Note: ${note}`),
      '',
      'Try:',
      `  curl -i -X POST ${server.url}/v1/check -H 'Content-Type: application/json' -d '${example}'`,
      `  curl -i ${server.url}/v1/status/creator-123?tier=pro`,
      '',
      `Routes: ${ROUTE_LIST.map((route) => `${route.method} ${route.resource}`).join(', ')}; the OpenAPI document at GET /v1/openapi.json. Press Ctrl-C to stop.`,
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal} received, stopping.`);
    server
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error(`Error while stopping: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) void main();
