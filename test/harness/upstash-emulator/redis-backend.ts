import type { ConnectionOptions } from 'node:tls';

import Redis, { Command, RedisOptions } from 'ioredis';

import type { RedisReply } from './redis-reply';
import type { PreparedCommand } from './script-rewriter';

export interface BackendTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: ConnectionOptions;
}

export interface BackendOptions {
  /** `redis://` / `rediss://` URL; takes precedence over `target`. */
  url?: string;
  target?: BackendTarget;
  /** Per-command deadline, so a stalled Redis yields a prompt 500 rather than a hung request. */
  commandTimeoutMs?: number;
  /** Deadline for opening a backend connection. */
  connectTimeoutMs?: number;
}

/** The command ran; `ok: false` carries Redis's error text verbatim. */
export type CommandOutcome = { ok: true; reply: RedisReply } | { ok: false; error: string };

export type TransactionOutcome =
  | { aborted: false; outcomes: CommandOutcome[] }
  /** EXECABORT: nothing ran. */
  | { aborted: true; error: string };

/** Redis could not be reached or did not answer in time; the server answers 500. */
export class BackendUnavailableError extends Error {}

// Idle transaction connections kept for reuse; more are opened on demand.
const MAX_IDLE_DEDICATED = 8;

function isReplyError(err: unknown): err is Error {
  // Errors Redis itself sent are ReplyErrors; everything else ioredis raises
  // (closed connection, timeout, retries exhausted) means the backend failed.
  return err instanceof Error && err.name === 'ReplyError';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function send(connection: Redis, args: readonly string[]): Promise<RedisReply> {
  const [name = '', ...rest] = args;
  // Upper-case on purpose: ioredis registers reply transformers under
  // lower-case names (HGETALL -> object, ZRANGE WITHSCORES -> pairs) and we
  // need the untouched RESP2 shape. `replyEncoding: null` keeps bulk strings
  // as Buffers so base64 output is byte-faithful.
  const command = new Command(name.toUpperCase(), rest, { replyEncoding: null });
  void connection.sendCommand(command);
  return command.promise as Promise<RedisReply>;
}

function toOutcome(result: PromiseSettledResult<RedisReply>, mapReply?: PreparedCommand['mapReply']): CommandOutcome {
  if (result.status === 'fulfilled') {
    return { ok: true, reply: mapReply ? mapReply(result.value) : result.value };
  }
  if (isReplyError(result.reason)) return { ok: false, error: result.reason.message };
  throw new BackendUnavailableError(`ERR backend Redis unavailable: ${describe(result.reason)}`);
}

/**
 * The emulator's connections to the real Redis.
 *
 * Single commands and pipelines share one connection: ioredis pipelines
 * everything written to a socket and replies come back in order, so requests
 * cannot see each other's replies, and REST pipelines are not atomic anyway.
 * Transactions get a dedicated connection each, because MULTI state belongs
 * to a connection and would swallow other requests' commands.
 */
export class RedisBackend {
  private readonly idle: Redis[] = [];
  private readonly busy = new Set<Redis>();
  private closed = false;

  private constructor(
    private readonly options: BackendOptions,
    private readonly shared: Redis,
  ) {}

  static async connect(options: BackendOptions): Promise<RedisBackend> {
    const shared = createClient(options, {
      // Keep reconnecting forever with a short backoff so the emulator heals
      // once Redis is back (e.g. after a restart in a failure test).
      retryStrategy: (times) => Math.min(times * 50, 500),
    });
    await openOrThrow(shared, options);
    return new RedisBackend(options, shared);
  }

  async run(command: PreparedCommand): Promise<CommandOutcome> {
    const [outcome] = await this.runPipeline([command]);
    if (outcome === undefined) throw new Error('pipeline of one produced no outcome');
    return outcome;
  }

  async runPipeline(commands: readonly PreparedCommand[]): Promise<CommandOutcome[]> {
    const settled = await Promise.allSettled(commands.map((c) => send(this.shared, c.args)));
    return settled.map((result, i) => toOutcome(result, commands[i]?.mapReply));
  }

  async runTransaction(commands: readonly PreparedCommand[]): Promise<TransactionOutcome> {
    const connection = await this.acquire();
    let reusable = false;
    try {
      // Everything is written back to back; Redis queues the commands and
      // runs them atomically at EXEC.
      const multi = send(connection, ['MULTI']);
      const queued = commands.map((c) => send(connection, c.args));
      const exec = send(connection, ['EXEC']);
      const [multiResult, execResult, ...queuedResults] = await Promise.allSettled([multi, exec, ...queued]);
      for (const result of [multiResult, ...queuedResults]) {
        // Queue-time ReplyErrors (syntax, arity) are expected: they make EXEC
        // answer EXECABORT, handled below.
        if (result?.status === 'rejected' && !isReplyError(result.reason)) toOutcome(result);
      }
      if (execResult === undefined) throw new Error('EXEC produced no result');
      if (execResult.status === 'rejected') {
        if (!isReplyError(execResult.reason)) toOutcome(execResult);
        reusable = true;
        return { aborted: true, error: describe(execResult.reason) };
      }
      const replies = execResult.value;
      if (!Array.isArray(replies)) {
        throw new BackendUnavailableError(`ERR unexpected EXEC reply: ${String(replies)}`);
      }
      reusable = true;
      return {
        aborted: false,
        outcomes: replies.map((reply, i): CommandOutcome => {
          if (reply instanceof Error) return { ok: false, error: reply.message };
          const mapReply = commands[i]?.mapReply;
          return { ok: true, reply: mapReply ? mapReply(reply) : reply };
        }),
      };
    } finally {
      this.release(connection, reusable);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    // disconnect() rather than quit(): quit would wait for a reply that a
    // paused or dead Redis never sends.
    for (const connection of [this.shared, ...this.idle, ...this.busy]) connection.disconnect();
    this.idle.length = 0;
    this.busy.clear();
    return Promise.resolve();
  }

  private async acquire(): Promise<Redis> {
    if (this.closed) throw new BackendUnavailableError('ERR emulator is shutting down');
    for (let candidate = this.idle.pop(); candidate !== undefined; candidate = this.idle.pop()) {
      if (candidate.status === 'ready') {
        this.busy.add(candidate);
        return candidate;
      }
      candidate.disconnect();
    }
    // No reconnects: a dedicated connection that drops is simply discarded.
    const connection = createClient(this.options, { retryStrategy: () => null });
    this.busy.add(connection);
    try {
      await openOrThrow(connection, this.options);
    } catch (err) {
      this.busy.delete(connection);
      throw err;
    }
    return connection;
  }

  private release(connection: Redis, reusable: boolean): void {
    this.busy.delete(connection);
    if (reusable && !this.closed && connection.status === 'ready' && this.idle.length < MAX_IDLE_DEDICATED) {
      this.idle.push(connection);
    } else {
      connection.disconnect();
    }
  }
}

function createClient(options: BackendOptions, extra: RedisOptions): Redis {
  const common: RedisOptions = {
    // ioredis 6 defaults to RESP3; the encoder and @upstash/redis's
    // deserializers assume RESP2 shapes (flat HGETALL, doubles as strings).
    protocol: 2,
    // Integer replies as exact digit strings, so values above 2^53 survive.
    stringNumbers: true,
    lazyConnect: true,
    // Fail fast instead of queueing while disconnected: the HTTP caller gets
    // a 500 right away rather than a request that hangs until Redis returns.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // disconnect() arms a timer (default 2 s) that is only cleared by a
    // 'close' event; a socket that already closed (Redis killed, connection
    // refused) never emits another one, so the timer would keep the process
    // (and Jest) alive for 2 s after stop().
    disconnectTimeout: 100,
    ...extra,
  };
  const client = options.url !== undefined ? new Redis(options.url, common) : new Redis({ ...options.target, ...common });
  // Connection errors surface through rejected commands; without a listener
  // ioredis would also print every reconnect failure to stderr.
  client.on('error', () => undefined);
  return client;
}

async function openOrThrow(client: Redis, options: BackendOptions): Promise<void> {
  const ms = options.connectTimeoutMs ?? 2000;
  try {
    // Own deadline on top of ioredis's connectTimeout, which only covers the
    // TCP handshake, not a server that accepts but never answers (SIGSTOP).
    await withTimeout(client.connect(), ms, `connecting to Redis timed out after ${ms} ms`);
  } catch (err) {
    client.disconnect();
    throw new BackendUnavailableError(`ERR backend Redis unavailable: ${describe(err)}`);
  }
}
