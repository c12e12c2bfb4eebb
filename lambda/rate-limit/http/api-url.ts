/** The base URL of the rate-limit API, as a client may be given it. */
import { RateLimitConfigError } from '../core/errors';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A loopback host: the local server, where requests may be plain http and go unsigned. */
export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Parses the base URL (stage included). Anything but https is refused except on loopback: the
 * requests carry SigV4 signatures and creator ids.
 */
export function parseApiUrl(raw: unknown, name = 'url'): URL {
  if (typeof raw !== 'string' || raw.trim() === '')
    throw new RateLimitConfigError(`${name} is required: the base URL of the rate-limit API`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new RateLimitConfigError(`${name} must be an absolute http(s) URL, got ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    throw new RateLimitConfigError(`${name} must use https (plain http only on a loopback address), got ${url.protocol}//${url.host}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new RateLimitConfigError(`${name} must not carry a query, a fragment or credentials`);
  }
  return url;
}

/** The region of an `execute-api` endpoint (`<id>.execute-api.<region>.amazonaws.com`), if it is one. */
export function regionFromApiUrl(url: URL): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}
