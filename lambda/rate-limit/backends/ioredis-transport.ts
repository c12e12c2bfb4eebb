/**
 * ScriptTransport over ioredis (single node or cluster). The client is configured so that nothing
 * waits forever and nothing is re-sent behind the caller's back (see elasticache-client.ts); this
 * class only adds "wait for the connection, bounded" and the command shapes.
 */
import type { Cluster, Redis } from 'ioredis';
import type { ScriptTransport } from './redis-script-store';

export type IoredisClient = Redis | Cluster;

export class IoredisTransport implements ScriptTransport {
  /** ioredis never re-sends: autoResendUnfulfilledCommands is off and retries per request are 0. */
  readonly mayResend = false;

  constructor(
    private readonly client: IoredisClient,
    private readonly connectWaitMs: number,
  ) {}

  async evalsha(sha: string, keys: string[], args: string[]): Promise<unknown> {
    await this.ready();
    return this.client.evalsha(sha, keys.length, ...keys, ...args);
  }

  async eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    await this.ready();
    return this.client.eval(script, keys.length, ...keys, ...args);
  }

  async del(keys: string[]): Promise<void> {
    await this.ready();
    await this.client.del(...keys);
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
   * With the offline queue disabled, a command sent while (re)connecting fails at once. Waiting
   * here instead (bounded) lets a cold start connect, without ever queueing a command that could
   * run later, after its caller has given up.
   */
  private ready(): Promise<void> {
    const { client } = this;
    if (client.status === 'ready') return Promise.resolve();
    if (client.status === 'end') return Promise.reject(new Error('Redis connection is closed'));
    if (client.status === 'wait') client.connect().catch(() => undefined);
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('end', onEnd);
      };
      const onReady = (): void => {
        cleanup();
        resolve();
      };
      const onEnd = (): void => {
        cleanup();
        reject(new Error('Redis connection is closed'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Redis not connected within ${this.connectWaitMs} ms (status ${client.status})`));
      }, this.connectWaitMs);
      timer.unref();
      client.on('ready', onReady);
      client.on('end', onEnd);
    });
  }
}
