/**
 * The Powertools Logger of the rate-limit functions: structured JSON on stdout, with the Lambda
 * context added per invocation by the API handler.
 *
 * Secrets never reach a log line: every string written through this logger passes a replacer that
 * masks any value registered with `registerSecret` (Redis passwords, Upstash tokens, whatever was
 * read from Secrets Manager), and string values of credential-named keys. Backend error messages
 * are logged as they come, so this is the net under them.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DEFAULT_SERVICE_NAME, ENV } from '../contract/environment';

/** The service name when POWERTOOLS_SERVICE_NAME is not set. */
export const SERVICE_NAME = DEFAULT_SERVICE_NAME;
export const REDACTED = '[REDACTED]';

/** Shorter values are too likely to collide with ordinary words to be masked everywhere. */
const MIN_SECRET_LENGTH = 6;
const CREDENTIAL_KEY = /^(password|pass|secret|token|authtoken|auth_token|authorization|x-api-key)$/i;

const secrets = new Set<string>();

/** Masks `value` in every later log line. */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

export function redactSecrets(text: string): string {
  let result = text;
  for (const secret of secrets) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return result;
}

function redactingReplacer(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (CREDENTIAL_KEY.test(key)) return REDACTED;
  return redactSecrets(value);
}

export function serviceName(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env[ENV.serviceName]?.trim() || SERVICE_NAME;
}

/** A new Logger; the log level follows POWERTOOLS_LOG_LEVEL / AWS_LAMBDA_LOG_LEVEL unless given. */
export function createLogger(options: { logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' } = {}): Logger {
  return new Logger({
    serviceName: serviceName(),
    jsonReplacerFn: redactingReplacer,
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  });
}

let shared: Logger | undefined;

/**
 * The execution environment's logger. Created on first use rather than at import so that a
 * process (the local server, a test) can set POWERTOOLS_* variables before it exists.
 */
export function getLogger(): Logger {
  shared ??= createLogger();
  return shared;
}
