/**
 * Reads Secrets Manager secrets for the library's `readSecret` hook (ELASTICACHE_REDIS_AUTH_SECRET_ARN,
 * UPSTASH_REDIS_SECRET_ARN), through Powertools Parameters so a value is fetched once per
 * execution environment and refreshed after `maxAgeSeconds` (rotations are picked up on the next
 * reconnect after that).
 *
 * This module loads the AWS SDK; the runtime imports it only when a secret ARN is configured, so
 * functions without one never pay for the SDK at cold start.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { ENV } from '../contract/environment';
import { registerSecret } from './logger';

export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

export interface SecretReaderOptions {
  /** Inject a provider (e.g. one built on a stubbed Secrets Manager client in tests). */
  readonly provider?: SecretsProvider;
  readonly maxAgeSeconds?: number;
}

/** Field names whose values are credentials in the JSON secrets the library accepts. */
const CREDENTIAL_FIELDS = ['password', 'authToken', 'token', ENV.upstashToken];

export function createSecretReader(options: SecretReaderOptions = {}): (secretArn: string) => Promise<string> {
  let provider = options.provider;
  const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
  return async (secretArn) => {
    // Built lazily: creating the SDK client reads the region and credentials chain.
    provider ??= new SecretsProvider();
    const value: unknown = await provider.get(secretArn, { maxAge });
    const text = typeof value === 'string' ? value : value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : undefined;
    if (text === undefined) {
      // The message names the secret, never its content.
      throw new Error(`Secrets Manager secret ${secretArn} has no SecretString or SecretBinary`);
    }
    maskInLogs(text);
    return text;
  };
}

/** Registers the secret, and the credential fields of a JSON secret, for redaction in logs. */
function maskInLogs(text: string): void {
  registerSecret(text.trim());
  if (!text.trim().startsWith('{')) return;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    for (const field of CREDENTIAL_FIELDS) {
      const candidate = parsed[field];
      if (typeof candidate === 'string') registerSecret(candidate);
    }
  } catch {
    // Not JSON after all: the whole string is registered already.
  }
}
