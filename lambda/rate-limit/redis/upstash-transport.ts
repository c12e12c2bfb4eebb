/**
 * ScriptTransport over the official @upstash/redis REST client: one HTTPS request per script call.
 * The client may be built lazily, when its URL and token come from a secret store.
 */
import type { Redis } from '@upstash/redis';
import type { ScriptTransport } from './script-store';

export class UpstashTransport implements ScriptTransport {
  private client: Promise<Redis> | undefined;

  /**
   * @param connect returns the client (called once; called again only if it failed).
   * @param mayResend whether the client retries failed fetches. A retried request may have reached
   *   the server already, so the limiter then records every admission under its idempotency key.
   */
  constructor(
    private readonly connect: () => Promise<Redis>,
    readonly mayResend: boolean,
  ) {}

  async evalsha(sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return (await this.redis()).evalsha(sha, [...keys], [...args]);
  }

  async eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return (await this.redis()).eval(script, [...keys], [...args]);
  }

  /** HTTP keeps no connection to close. */
  async close(): Promise<void> {}

  private redis(): Promise<Redis> {
    if (!this.client) {
      this.client = this.connect();
      this.client.catch(() => {
        this.client = undefined;
      });
    }
    return this.client;
  }
}
