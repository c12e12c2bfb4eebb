/**
 * A local stand-in for the Upstash Redis REST API, backed by a real
 * redis-server, so the unmodified `@upstash/redis` client can be tested end
 * to end without the cloud service. Scripts using Upstash's
 * `allow-key-locking` shebang flag (as `@upstash/ratelimit` >= 2.1 does) are
 * rewritten so real Redis accepts them.
 * Wire behaviour follows what the official client sends and expects (docs/design.md#upstash-rest).
 *
 * Run standalone:
 *   UPSTASH_EMULATOR_TOKEN=secret REDIS_URL=redis://127.0.0.1:6379 \
 *   UPSTASH_EMULATOR_PORT=8079 npx tsx test/harness/upstash-compatible-server.ts
 */
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { FaultInjector } from './upstash-emulator/faults';
import { BackendTarget, BackendUnavailableError, RedisBackend } from './upstash-emulator/redis-backend';
import type { ResponseEncoding } from './upstash-emulator/reply-encoding';
import { BadRequestError } from './upstash-emulator/request-body';
import { RestExecutor, RestRoute } from './upstash-emulator/rest-executor';
import { ScriptRewriter } from './upstash-emulator/script-rewriter';

export { FaultInjector } from './upstash-emulator/faults';
export type { FaultMode } from './upstash-emulator/faults';
export type { BackendTarget } from './upstash-emulator/redis-backend';

export interface UpstashCompatibleServerOptions {
  /** Backend as a URL (`redis://:pw@127.0.0.1:6379`); takes precedence over `redis`. */
  redisUrl?: string;
  redis?: BackendTarget;
  /** The only accepted Bearer token. */
  token: string;
  /** Port on 127.0.0.1; 0 or omitted picks a free one. */
  port?: number;
  /** Mount prefix such as `/redis`; the client's URL then ends with it. */
  basePath?: string;
  /** Per-command backend deadline; a stalled Redis then gives 500. Default 5000 ms. */
  commandTimeoutMs?: number;
}

export interface EmulatorStats {
  /** Every HTTP request received, including rejected and fault-injected ones. */
  httpRequests: number;
  /** Same count keyed by URL path (query string removed). */
  byPath: Record<string, number>;
}

export interface UpstashCompatibleServer {
  /** Base URL to pass to `new Redis({ url, token })`. */
  readonly url: string;
  readonly token: string;
  readonly port: number;
  /** Live counters; `resetStats()` zeroes them in place. */
  readonly stats: EmulatorStats;
  resetStats(): void;
  readonly faults: FaultInjector;
  /** Closes every connection (hung requests included) and the backend clients. Idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
// Above undici's ~4-5 s idle timeout, so the client, not the server, closes
// idle connections; otherwise a request can race a server-side close.
const KEEP_ALIVE_TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const ALLOWED_METHODS = ['GET', 'HEAD', 'POST', 'PUT'];
const UNAUTHORIZED = 'WRONGPASS invalid or missing auth token';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function normaliseBasePath(basePath: string | undefined): string {
  const trimmed = (basePath ?? '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function routeFor(pathname: string, basePath: string): RestRoute | null {
  if (basePath !== '' && !pathname.startsWith(basePath)) return null;
  // The client posts single commands to the bare base URL; accept the
  // trailing-slash form too, as the real service does.
  switch (pathname.slice(basePath.length)) {
    case '':
    case '/':
      return 'command';
    case '/pipeline':
    case '/pipeline/':
      return 'pipeline';
    case '/multi-exec':
    case '/multi-exec/':
      return 'multi-exec';
    default:
      return null;
  }
}

function bearerToken(req: IncomingMessage, query: URLSearchParams): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  // `_token` in the query string is the real service's alternative to the header.
  return match?.[1]?.trim() ?? query.get('_token');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `ERR request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    // A client that gives up mid-body would otherwise leave this pending forever.
    req.on('close', () => {
      if (!req.complete) reject(new HttpError(400, 'ERR request body incomplete'));
    });
  });
}

function responseEncoding(req: IncomingMessage): ResponseEncoding {
  const header = req.headers['upstash-encoding'];
  return typeof header === 'string' && header.trim().toLowerCase() === 'base64' ? 'base64' : 'plain';
}

function errorBody(message: string): string {
  return JSON.stringify({ error: message });
}

export async function startUpstashCompatibleServer(options: UpstashCompatibleServerOptions): Promise<UpstashCompatibleServer> {
  if (options.redisUrl === undefined && options.redis === undefined) {
    throw new Error('startUpstashCompatibleServer needs redisUrl or redis');
  }
  const backend = await RedisBackend.connect({
    url: options.redisUrl,
    target: options.redis,
    commandTimeoutMs: options.commandTimeoutMs,
  });
  const basePath = normaliseBasePath(options.basePath);
  const executor = new RestExecutor(backend, new ScriptRewriter());
  const faults = new FaultInjector();
  const stats: EmulatorStats = { httpRequests: 0, byPath: {} };
  // Read-your-writes: the client only needs a new value after every 2xx
  // response; a single node is always consistent, so a counter suffices.
  let syncToken = 0;

  const respond = (req: IncomingMessage, res: ServerResponse, status: number, body: string): void => {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string | number> = {
      // Always JSON, errors included: the client JSON.parses every body.
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    };
    if (status >= 200 && status < 300) headers['upstash-sync-token'] = String(++syncToken);
    if (status === 405) headers.Allow = ALLOWED_METHODS.join(', ');
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  /** Returns true when the fault fully handled (or swallowed) the request. */
  const injectFault = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    switch (faults.take()) {
      case null:
        return false;
      case 'http500':
        respond(req, res, 500, errorBody('ERR injected fault: http500'));
        return true;
      case 'malformed':
        // Deliberately not JSON, still labelled as JSON: what a broken proxy sends.
        respond(req, res, 200, '<html><body>502 Bad Gateway (injected fault)</body></html>');
        return true;
      case 'close':
        req.socket.destroy();
        return true;
      case 'hang':
        // Released requests carry on normally, unless the client gave up meanwhile.
        if ((await faults.waitWhileHung()) === 'released' && !req.socket.destroyed) return false;
        req.socket.destroy();
        return true;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { pathname, searchParams } = new URL(req.url ?? '/', 'http://emulator.invalid');
    stats.httpRequests++;
    stats.byPath[pathname] = (stats.byPath[pathname] ?? 0) + 1;
    if (await injectFault(req, res)) return;

    const method = (req.method ?? '').toUpperCase();
    if (!ALLOWED_METHODS.includes(method)) {
      return respond(req, res, 405, errorBody(`ERR method ${method} not allowed`));
    }
    if (bearerToken(req, searchParams) !== options.token) {
      return respond(req, res, 401, errorBody(UNAUTHORIZED));
    }
    if (method === 'GET' || method === 'HEAD') {
      // GET/HEAD only exist upstream for path-style commands (/set/k/v),
      // which the TS client never uses and this emulator does not implement.
      return respond(req, res, 404, errorBody('ERR path-style commands are not supported; POST a JSON command array'));
    }
    const route = routeFor(pathname, basePath);
    if (route === null) return respond(req, res, 404, errorBody(`ERR unknown endpoint: ${pathname}`));

    const encoding = responseEncoding(req);
    try {
      const body = await readBody(req);
      const { status, body: payload } = await executor.execute(route, body, encoding);
      respond(req, res, status, payload);
    } catch (err) {
      if (err instanceof BadRequestError) respond(req, res, 400, errorBody(err.message));
      else if (err instanceof HttpError) respond(req, res, err.status, errorBody(err.message));
      else if (err instanceof BackendUnavailableError) respond(req, res, 500, errorBody(err.message));
      else respond(req, res, 500, errorBody(`ERR internal emulator error: ${String(err)}`));
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      respond(req, res, 500, errorBody(`ERR internal emulator error: ${String(err)}`));
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await backend.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${HOST}:${port}${basePath}`,
    token: options.token,
    port,
    stats,
    resetStats: () => {
      stats.httpRequests = 0;
      for (const key of Object.keys(stats.byPath)) delete stats.byPath[key];
    },
    faults,
    stop: () => {
      stopping ??= (async () => {
        faults.stopHung();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await backend.close();
      })();
      return stopping;
    },
  };
}

async function main(): Promise<void> {
  const token = process.env.UPSTASH_EMULATOR_TOKEN;
  if (!token) throw new Error('UPSTASH_EMULATOR_TOKEN is required');
  const emulator = await startUpstashCompatibleServer({
    token,
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    port: Number(process.env.UPSTASH_EMULATOR_PORT ?? 8079),
  });
  process.stdout.write(`Upstash-compatible REST emulator listening on ${emulator.url}\n`);
  const shutdown = (): void => {
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
