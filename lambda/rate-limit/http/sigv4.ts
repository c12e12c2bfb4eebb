/**
 * SigV4 signing of requests to the IAM-authorized HTTP API (service `execute-api`), with AWS's own
 * signer. Credentials come from the caller, or from the AWS SDK's default provider chain
 * (environment, shared config and SSO, container and instance roles), loaded on first use so
 * nothing of it is paid for by callers that pass credentials or do not sign.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export const EXECUTE_API_SERVICE = 'execute-api';

export type AwsCredentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

export interface RequestToSign {
  readonly method: string;
  readonly url: URL;
  /** Headers to sign and send (the Host header is added from the URL). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/** Signs a request, returning every header to send with it (Authorization, X-Amz-Date, ...). */
export type RequestSigner = (request: RequestToSign) => Promise<Record<string, string>>;

export interface SignerOptions {
  readonly region: string;
  /** @default the AWS SDK's default credential provider chain */
  readonly credentials?: AwsCredentials;
  /** @default 'execute-api' */
  readonly service?: string;
  /** Signing time. @default now */
  readonly clock?: () => Date;
}

export function createRequestSigner(options: SignerOptions): RequestSigner {
  const signer = new SignatureV4({
    service: options.service ?? EXECUTE_API_SERVICE,
    region: options.region,
    credentials: options.credentials ?? defaultCredentials(),
    sha256: Hash.bind(null, 'sha256'),
  });
  return async (request) => {
    const signed = await signer.sign(toSmithyRequest(request), options.clock ? { signingDate: options.clock() } : undefined);
    return signed.headers;
  };
}

/**
 * The request as the signer sees it. `path` is the path as sent on the wire (percent-encoded);
 * for every service but S3 the signer encodes it once more, as SigV4's canonical URI requires.
 */
export function toSmithyRequest(request: RequestToSign) {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of request.url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return {
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    port: request.url.port ? Number(request.url.port) : undefined,
    path: request.url.pathname,
    query,
    headers: { ...request.headers, host: request.url.host },
    body: request.body,
  };
}

/** The default chain, imported and created on first use; a failed import is retried on the next call. */
function defaultCredentials(): AwsCredentialIdentityProvider {
  let provider: Promise<AwsCredentialIdentityProvider> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then((module) => module.defaultProvider());
    provider.catch(() => (provider = undefined));
    return (await provider)();
  };
}
