/**
 * Builds the official @upstash/redis client with bounded time and no hidden retries.
 */
import { Redis } from '@upstash/redis/cloudflare';

export interface UpstashCredentials {
  readonly url: string;
  readonly token: string;
}

export interface UpstashConnectionOptions {
  /** REST URL; required unless `credentials` is given. */
  readonly url?: string;
  /** REST token; required unless `credentials` is given. */
  readonly token?: string;
  /** Fetches URL and token on first use (e.g. from Secrets Manager); takes precedence. */
  readonly credentials?: () => Promise<UpstashCredentials>;
  /**
   * Fetch retries after network errors. Each retry may re-send an admission that already reached
   * the server, so with retries > 0 every admission is recorded under an idempotency key.
   * @default 0
   */
  readonly retries?: number;
}

/** How long after the limiter's deadline a request it gave up on is aborted. */
export const REQUEST_ABORT_GRACE_MS = 5000;

export function createUpstashClient(credentials: UpstashCredentials, timeoutMs: number, retries = 0): Redis {
  if (!credentials.url) throw new Error('Upstash REST URL is required');
  if (!credentials.token) throw new Error('Upstash REST token is required');
  return new Redis({
    url: credentials.url,
    token: credentials.token,
    // One script call = one HTTP request, each with its own deadline.
    enableAutoPipelining: false,
    readYourWrites: false,
    enableTelemetry: false,
    // A function (not a plain AbortSignal) makes an abort throw instead of resolving "Aborted".
    // The limiter's deadline decides when a call has failed (it discounts time this process's own
    // event loop was blocked); this abort only frees a request the limiter has given up on, so it
    // must not fire first.
    signal: () => AbortSignal.timeout(timeoutMs + REQUEST_ABORT_GRACE_MS),
    retry: { retries, backoff: (attempt: number) => Math.min(50 * 2 ** attempt, 200) },
  });
}
