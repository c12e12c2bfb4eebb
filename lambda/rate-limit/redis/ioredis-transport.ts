/**
 * ScriptTransport over ioredis (single node or cluster). The client is configured so that nothing
 * waits forever and nothing is re-sent behind the caller's back (see elasticache-client.ts); this
 * class only adds "wait for the connection, bounded" and the command shapes.
 */
import { Cluster, ReplyError, type Redis } from 'ioredis';
import type { ScriptTransport } from './script-store';

export type IoredisClient = Redis | Cluster;

/**
 * Most commands one socket write carries (see IoredisTransport.coalesceWrites). Measured with 64
 * checks in flight on 2 cores: 8 to 16 per write gave the best throughput; writing the whole tick
 * at once (up to 64) made Redis and this process take turns and lost a fifth of it.
 */
const WRITE_BATCH = 8;

/** Cluster mode: the least time between two slot-map refreshes triggered by failing commands. */
export const SLOT_REFRESH_INTERVAL_MS = 500;

export class IoredisTransport implements ScriptTransport {
  /**
   * ioredis never re-sends: autoResendUnfulfilledCommands is off and retries per request are 0. In
   * cluster mode it only follows replies proving the command did not run (MOVED, ASK, TRYAGAIN,
   * CLUSTERDOWN), never a command lost with its connection (see elasticache-client.ts).
   */
  readonly mayResend = false;

  private lastSlotRefresh = 0;
  /** Cluster mode: resolves once every master known at the last (re)connect has a connection. */
  private mastersConnected: Promise<void> | undefined;
  /** The wait for a connection that concurrent callers share. */
  private waiting: Promise<void> | undefined;
  /** This tick's socket: whether it is corked, and how many commands the cork holds (see coalesceWrites). */
  private batch: { readonly stream: Redis['stream']; commands: number; corked: boolean } | undefined;
  /** Why the last connection attempt failed (cleared once connected). */
  private lastConnectionError: Error | undefined;

  constructor(
    private readonly client: IoredisClient,
    private readonly connectWaitMs: number,
  ) {
    if (client instanceof Cluster) client.on('ready', () => (this.mastersConnected = undefined));
    client.on('error', (error: Error) => (this.lastConnectionError = error));
    client.on('ready', () => (this.lastConnectionError = undefined));
  }

  evalsha(sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const { client } = this;
    // The common case, a connected single node, without the extra promises of waiting for it.
    if (client.status === 'ready' && !(client instanceof Cluster)) {
      this.coalesceWrites(client);
      return client.evalsha(sha, keys.length, ...keys, ...args);
    }
    return this.ready().then(() => this.watch(client.evalsha(sha, keys.length, ...keys, ...args)));
  }

  /**
   * A process with many checks in flight (an API server, a load test) sends a burst of commands
   * whenever a batch of replies comes in, and ioredis writes each one to the socket at once: one
   * system call per command on each side of the connection. Corking the socket makes the commands
   * of one tick leave together, WRITE_BATCH at a time: fewer system calls for this process and for
   * Redis, while Redis already works on the first batch as this process prepares the next (one
   * write per tick would make the two take turns). Every command keeps its own reply, promise and
   * deadline; ioredis's auto-pipelining, by contrast, answers a command only when its whole batch
   * is answered. The first command of a tick is written at once, so a lone call (a Lambda
   * instance serves one request at a time) is never delayed.
   */
  private coalesceWrites(client: Redis): void {
    const { stream } = client;
    const batch = this.batch;
    if (!batch || batch.stream !== stream) {
      // The first command of a tick leaves at once: a lone check waits for nothing.
      const fresh = { stream, commands: 0, corked: false };
      this.batch = fresh;
      process.nextTick(() => {
        if (this.batch === fresh) this.batch = undefined;
        if (fresh.corked) stream.uncork();
      });
      return;
    }
    if (!batch.corked) {
      stream.cork();
      batch.corked = true;
    } else if (batch.commands === WRITE_BATCH) {
      stream.uncork();
      stream.cork();
      batch.commands = 0;
    }
    batch.commands += 1;
  }

  async eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    await this.ready();
    return this.watch(this.client.eval(script, keys.length, ...keys, ...args));
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /**
   * Cluster mode: ioredis learns about a failover from a MOVED reply, which a master that hangs or
   * is cut off (rather than one that died and refused connections) never sends; its commands only
   * time out. So a failure that is not a Redis reply (timeout, closed connection) or that says
   * CLUSTERDOWN asks the cluster for its slot map again, at most every SLOT_REFRESH_INTERVAL_MS,
   * and the next checks go to whichever replica took over.
   */
  private watch<T>(command: Promise<T>): Promise<T> {
    const { client } = this;
    if (!(client instanceof Cluster)) return command;
    return command.catch((error: unknown) => {
      const reply = error instanceof ReplyError && !String((error as Error).message).startsWith('CLUSTERDOWN');
      const now = Date.now();
      if (!reply && client.status === 'ready' && now - this.lastSlotRefresh >= SLOT_REFRESH_INTERVAL_MS) {
        this.lastSlotRefresh = now;
        client.refreshSlotsCache();
      }
      throw error;
    });
  }

  private async ready(): Promise<void> {
    await this.clientReady();
    const { client } = this;
    if (client instanceof Cluster) await (this.mastersConnected ??= this.connectMasters(client));
  }

  /**
   * Cluster mode: ioredis opens the connection to a node on the first command for it, and with the
   * offline queue off, commands that arrive while that connection is being made fail at once: a
   * cold start with many checks in flight would fail most of them. So after the cluster is ready,
   * connect every master once (bounded; a master that does not answer is left to the checks).
   */
  private connectMasters(cluster: Cluster): Promise<void> {
    const connecting = cluster
      .nodes('master')
      .filter((node) => node.status === 'wait')
      .map((node) => node.connect().catch(() => undefined));
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.connectWaitMs);
      timer.unref();
      void Promise.all(connecting).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * With the offline queue disabled, a command sent while (re)connecting fails at once. Waiting
   * here instead (bounded) lets a cold start connect, without ever queueing a command that could
   * run later, after its caller has given up. All callers share one wait. A connection that failed
   * for a reason retrying cannot fix (credentials refused, certificate not trusted) fails the wait
   * at once, with that reason, instead of letting every check run into its deadline.
   */
  private clientReady(): Promise<void> {
    const { client } = this;
    if (client.status === 'ready') return Promise.resolve();
    if (client.status === 'end') return Promise.reject(new Error('Redis connection is closed'));
    if (this.lastConnectionError && isConfigurationError(this.lastConnectionError)) {
      return Promise.reject(connectionRefused(this.lastConnectionError));
    }
    // Nothing listened at the last attempt (or the host is unknown): say so now, with that cause,
    // rather than let the call run into its deadline and be reported as a timeout.
    if (this.lastConnectionError && isUnreachable(this.lastConnectionError)) {
      return Promise.reject(
        new Error(`Redis unreachable: ${describeError(this.lastConnectionError)}`, { cause: this.lastConnectionError }),
      );
    }
    if (client.status === 'wait') client.connect().catch(() => undefined);
    this.waiting ??= new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('end', onEnd);
        client.off('error', onError);
        this.waiting = undefined;
      };
      const onReady = (): void => {
        cleanup();
        resolve();
      };
      const onEnd = (): void => {
        cleanup();
        reject(new Error('Redis connection is closed'));
      };
      const onError = (error: Error): void => {
        if (isConfigurationError(error)) {
          cleanup();
          reject(connectionRefused(error));
        } else if (isUnreachable(error)) {
          cleanup();
          reject(new Error(`Redis unreachable: ${describeError(error)}`, { cause: error }));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        const last = this.lastConnectionError ? `; last connection error: ${describeError(this.lastConnectionError)}` : '';
        reject(new Error(`Redis not connected within ${this.connectWaitMs} ms (status ${client.status})${last}`));
      }, this.connectWaitMs);
      timer.unref();
      client.on('ready', onReady);
      client.on('end', onEnd);
      client.on('error', onError);
    });
    return this.waiting;
  }
}

/** The last attempt found nothing to connect to: the server is down or the name does not resolve. */
function isUnreachable(error: Error): boolean {
  return /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test((error as { code?: string }).code ?? '');
}

/** Errors that another reconnect will not cure: refused credentials, untrusted certificates. */
function isConfigurationError(error: Error): boolean {
  return /WRONGPASS|NOAUTH|NOPERM|invalid username-password|certificate|self[- ]signed|unable to verify|ERR_TLS|Hostname\/IP does not match/i.test(
    `${(error as { code?: string }).code ?? ''} ${error.message}`,
  );
}

function connectionRefused(error: Error): Error {
  return new Error(`Redis refused the connection: ${describeError(error)}`, { cause: error });
}

/** Redis and TLS error texts name the problem, never the credential; keep them short anyway. */
function describeError(error: Error): string {
  return error.message.slice(0, 200);
}
