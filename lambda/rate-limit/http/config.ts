/**
 * The http backend's options from the environment (docs/design.md#environment): RATE_LIMIT_API_URL,
 * RATE_LIMIT_TIMEOUT_MS, RATE_LIMIT_FAIL_MODE, RATE_LIMIT_TIERS (the table reported as `tiers` and
 * used for degraded answers) and AWS_REGION (signing region when the URL does not name one).
 */
import { ENV } from '../../contract/environment';
import { RateLimitConfigError } from '../core/errors';
import { parseTierTableJson } from '../core/tiers';
import { parseApiUrl } from './api-url';
import { DEFAULT_HTTP_TIMEOUT_MS, type HttpRateLimiterOptions } from './http-rate-limiter';

export type Environment = Readonly<Record<string, string | undefined>>;

export function httpOptionsFromEnv(env: Environment = process.env): HttpRateLimiterOptions {
  const url = env[ENV.apiUrl]?.trim();
  if (!url) {
    throw new RateLimitConfigError(`${ENV.apiUrl} is required for the http backend: the base URL of the deployed rate-limit API`);
  }
  parseApiUrl(url, ENV.apiUrl); // a bad URL is reported under the variable's name
  const timeout = env[ENV.timeoutMs]?.trim();
  let timeoutMs = DEFAULT_HTTP_TIMEOUT_MS;
  if (timeout) {
    timeoutMs = Number(timeout);
    if (!/^\d+$/.test(timeout) || timeoutMs < 1 || timeoutMs > 60_000) {
      throw new RateLimitConfigError(`${ENV.timeoutMs} must be an integer from 1 to 60000, got "${timeout}"`);
    }
  }
  const failMode = env[ENV.failMode]?.trim() || 'closed';
  if (failMode !== 'closed' && failMode !== 'open') {
    throw new RateLimitConfigError(`${ENV.failMode} must be "closed" or "open", got "${failMode}"`);
  }
  return {
    url,
    timeoutMs,
    failMode,
    tiers: env[ENV.tiers]?.trim() ? parseTierTableJson(env[ENV.tiers]!) : undefined,
    env,
  };
}
