/**
 * Local API server (`npm start`): serves the four routes of the HTTP API on 127.0.0.1 by turning
 * each HTTP request into an API Gateway proxy event and calling the same handler code that runs
 * in Lambda. All routes share one runtime, hence one backend client.
 *
 *   PORT              port to listen on (default 3000; 0 picks a free one)
 *   RATE_LIMIT_*, ELASTICACHE_*, UPSTASH_*   as deployed (DESIGN.md section 4); with no backend
 *                     configured, the embedded memory backend is used.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createApiHandlers } from '../lambda/handlers/operations';
import { badRequest, notFound, internalError, type ApiResponse } from '../lambda/shared/http';
import { createApiRuntime, type ApiRuntime, type Environment } from '../lambda/shared/limiter';
import { findRoute, PathDecodingError, type RouteMatch } from '../lambda/shared/routes';
import { describeBackend, resolveDevEnvironment } from './dev-server/environment';
import { OPENAPI_ROUTE, openApiResponse } from './dev-server/openapi-document';
import { localContext, splitUrl, toProxyEvent } from './dev-server/proxy-event';

export const DEFAULT_PORT = 3000;
const HOST = '127.0.0.1';
/** API Gateway accepts 10 MB; the handlers reject anything over 16 KiB anyway. */
const MAX_REQUEST_BYTES = 1024 * 1024;

export interface DevServerOptions {
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** Configuration as the functions would see it. @default process.env */
  readonly env?: Environment;
  /** Receives one access-log line per request (`POST /v1/check 200 2.1 ms`). @default none */
  readonly accessLog?: (line: string) => void;
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
  const server = createServer((request, response) => {
    const started = performance.now();
    if (accessLog) {
      response.once('finish', () => {
        accessLog(`${request.method} ${request.url} ${response.statusCode} ${(performance.now() - started).toFixed(1)} ms`);
      });
    }
    serve(request, response, handlers).catch(() => {
      if (!response.headersSent) send(response, internalError());
      else response.destroy();
    });
  });
  await listen(server, options.port ?? DEFAULT_PORT);
  const port = (server.address() as AddressInfo).port;

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
): Promise<void> {
  const method = request.method ?? 'GET';
  const url = request.url ?? '/';
  if (method === OPENAPI_ROUTE.method && splitUrl(url).path === OPENAPI_ROUTE.path) {
    request.resume();
    return send(response, await openApiResponse());
  }
  let match: RouteMatch | undefined;
  try {
    match = findRoute(method, splitUrl(url).path);
  } catch (error) {
    if (!(error instanceof PathDecodingError)) throw error;
    request.resume();
    return send(response, badRequest([{ field: error.parameter, detail: 'is not valid percent-encoding' }]));
  }
  if (!match) {
    request.resume();
    return send(response, notFound(method, splitUrl(url).path));
  }
  const body = await readBody(request);
  if (body === undefined) {
    send(response, badRequest([{ field: 'body', detail: `must be at most ${MAX_REQUEST_BYTES} bytes` }]));
    return;
  }
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

/** The request body, or undefined when it exceeds MAX_REQUEST_BYTES. */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
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
      'Routes: POST /v1/check, POST /v1/settle, GET /v1/status/{creatorId}, POST /v1/reset; the OpenAPI document at GET /v1/openapi.json. Press Ctrl-C to stop.',
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
