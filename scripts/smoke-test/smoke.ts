/**
 * Post-deploy smoke test of a deployed stage: what a pipeline runs after `cdk deploy` (and what
 * an engineer runs by hand) before trusting a deployment.
 *
 * - a SigV4-signed `POST /v1/check` for a throwaway creator answers 200 (or 429) with the
 *   rate-limit headers: the function, its alias, the backend and IAM all work;
 * - a signed `GET /v1/status/{creatorId}` answers 200 and consumes nothing;
 * - an unsigned request is refused with API Gateway's 403 as problem+json (auth is on, and the
 *   gateway responses are deployed).
 *
 * Each step reports what it saw; the first failure stops the run with a non-zero exit.
 */
import { Sha256 } from './sha256';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export interface SmokeTestOptions {
  /** Base URL of the stage, the stack output ApiUrl (`https://<id>.execute-api.<region>.amazonaws.com/<stage>/`). */
  readonly apiUrl: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Tier to check. @default 'starter' */
  readonly tier?: string;
  /** Creator id to use; a fresh one per run keeps real creators untouched. @default smoke-test-<time> */
  readonly creatorId?: string;
  readonly fetch?: typeof fetch;
  readonly log?: (line: string) => void;
}

export interface SmokeStep {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export class SmokeTestError extends Error {}

export async function runSmokeTest(options: SmokeTestOptions): Promise<SmokeStep[]> {
  const base = new URL(options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/`);
  if (base.protocol !== 'https:' && base.hostname !== '127.0.0.1') {
    throw new SmokeTestError(`apiUrl must be https (the stack output ApiUrl), got ${options.apiUrl}`);
  }
  const doFetch = options.fetch ?? fetch;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const signer = new SignatureV4({ service: 'execute-api', region: options.region, credentials: options.credentials, sha256: Sha256 });
  const creatorId = options.creatorId ?? `smoke-test-${Date.now()}`;
  const tier = options.tier ?? 'starter';
  const steps: SmokeStep[] = [];

  const call = async (
    method: string,
    path: string,
    body: unknown,
    signed: boolean,
  ): Promise<{ status: number; headers: Headers; json: SmokeBody }> => {
    const url = new URL(path, base);
    const text = body === undefined ? undefined : JSON.stringify(body);
    let headers: Record<string, string> = { host: url.host, ...(text !== undefined ? { 'content-type': 'application/json' } : {}) };
    if (signed) {
      const query: Record<string, string> = {};
      url.searchParams.forEach((value, key) => (query[key] = value));
      const request = await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query,
        headers,
        body: text,
      });
      headers = request.headers;
    }
    const response = await doFetch(url, { method, headers, body: text });
    const raw = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = raw;
    }
    return { status: response.status, headers: response.headers, json: isRecord(json) ? json : undefined };
  };
  const step = (name: string, ok: boolean, detail: string): void => {
    steps.push({ name, ok, detail });
    log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
    if (!ok) throw new SmokeTestError(`smoke test failed at "${name}": ${detail}`);
  };

  const check = await call('POST', 'v1/check', { creatorId, tier }, true);
  step(
    'signed POST /v1/check',
    (check.status === 200 || check.status === 429) && check.headers.get('ratelimit-policy') !== null,
    `HTTP ${check.status}, RateLimit-Policy: ${check.headers.get('ratelimit-policy') ?? '(missing)'}${check.status >= 400 ? `, body ${JSON.stringify(check.json)}` : ''}`,
  );

  const status = await call('GET', `v1/status/${encodeURIComponent(creatorId)}?tier=${encodeURIComponent(tier)}`, undefined, true);
  step(
    'signed GET /v1/status/{creatorId}',
    status.status === 200 && typeof status.json?.['remaining'] === 'number',
    `HTTP ${status.status}, remaining ${String(status.json?.['remaining'])}`,
  );

  const unsigned = await call('POST', 'v1/check', { creatorId, tier }, false);
  step(
    'unsigned POST /v1/check is refused',
    unsigned.status === 403 &&
      String(unsigned.headers.get('content-type')).startsWith('application/problem+json') &&
      typeof unsigned.json?.['type'] === 'string',
    `HTTP ${unsigned.status}, ${unsigned.headers.get('content-type') ?? '(no content type)'}, type ${String(unsigned.json?.['type'])}`,
  );
  return steps;
}

/** A JSON object body as the API answers it; fields are checked one by one where they are read. */
type SmokeBody = Readonly<Record<string, unknown>> | undefined;

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
