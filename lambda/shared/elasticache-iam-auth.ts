/**
 * ElastiCache IAM authentication tokens: a SigV4-presigned `connect` request for the cache and
 * user, used as the AUTH password. A fresh token is made for every (re)connect, which also covers
 * the 15-minute token lifetime and the forced disconnect after 12 hours (the connection reconnects
 * and signs again).
 *
 * Signed here with node:crypto, following the published SigV4 query-string algorithm, rather than
 * with @smithy/signature-v4: that library brought 146 KiB of @smithy/core into every ElastiCache
 * function bundle (a quarter of the 300 KB budget) for one presigned GET with one signed header.
 * The tests check the tokens against an independent computation and against @smithy/signature-v4.
 */
import { createHash, createHmac } from 'node:crypto';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { ENV } from '../contract/environment';

/** Tokens are valid for 15 minutes (ElastiCache's maximum). */
export const IAM_TOKEN_EXPIRY_SECONDS = 900;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SERVICE = 'elasticache';

export interface IamTokenRequest {
  /** Replication group (or serverless cache) id, lower case. */
  readonly cacheName: string;
  /** The ElastiCache user id (IAM-enabled user). */
  readonly userId: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** ElastiCache Serverless caches need `ResourceType=ServerlessCache`. @default false */
  readonly serverless?: boolean;
  /** Signing time. @default now */
  readonly signingDate?: Date;
}

export async function signIamAuthToken(request: IamTokenRequest): Promise<string> {
  const credentials = typeof request.credentials === 'function' ? await request.credentials() : request.credentials;
  const amzDate = (request.signingDate ?? new Date()).toISOString().replace(/[-:]|\.\d{3}/g, ''); // 20261125T123456Z
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${request.region}/${SERVICE}/aws4_request`;
  const query: Record<string, string> = {
    Action: 'connect',
    User: request.userId,
    ...(request.serverless ? { ResourceType: 'ServerlessCache' } : {}),
    'X-Amz-Algorithm': ALGORITHM,
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(IAM_TOKEN_EXPIRY_SECONDS),
    ...(credentials.sessionToken ? { 'X-Amz-Security-Token': credentials.sessionToken } : {}),
    'X-Amz-SignedHeaders': 'host',
  };
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((key) => `${encodeRfc3986(key)}=${encodeRfc3986(query[key])}`)
    .join('&');
  // Method, path, query, the one signed header (host), its name, and the hash of the empty body.
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${request.cacheName}`, '', 'host', sha256Hex('')].join('\n');
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let signingKey = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [request.region, SERVICE, 'aws4_request']) signingKey = hmac(signingKey, part);
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  // The token is the presigned URL without its scheme.
  return `${request.cacheName}/?${canonicalQuery}&X-Amz-Signature=${signature}`;
}

const sha256Hex = (data: string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * The cache name from an ElastiCache endpoint: `master.<id>...`, `clustercfg.<id>...`,
 * `replica.<id>...` and node endpoints `<id>.<hash>.<node>.<region>.cache.amazonaws.com` all carry
 * the id in a fixed place.
 */
export function cacheNameFromEndpoint(host: string): string {
  const labels = host.toLowerCase().split('.');
  const id = ['master', 'clustercfg', 'replica'].includes(labels[0]) ? labels[1] : labels[0];
  if (!id) throw new Error(`Cannot derive the ElastiCache cache name from "${host}"`);
  // Node endpoints end the id with the node number ("-001"), in cluster mode after the shard ("-0001-001").
  return id.replace(/(-\d{4})?-\d{3}$/, '');
}

export interface IamTokenProviderOptions {
  readonly host: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentityProvider;
  readonly serverless?: boolean;
}

/** The library's `iamAuthToken(user)` hook: signs a fresh token for each connection. */
export function createIamTokenProvider(options: IamTokenProviderOptions): (userId: string) => Promise<string> {
  const cacheName = cacheNameFromEndpoint(options.host);
  return (userId) =>
    signIamAuthToken({
      cacheName,
      userId,
      region: options.region,
      credentials: options.credentials,
      serverless: options.serverless,
    });
}

function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The hook for the deployed functions: cache name from ELASTICACHE_REDIS_HOST, region from
 * AWS_REGION (set by Lambda), credentials from the default chain (the function's role).
 */
export async function iamTokenProviderFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): Promise<(userId: string) => Promise<string>> {
  const host = env[ENV.elastiCacheHost]?.trim();
  // Set by Lambda itself, not part of the contract.
  const region = (env.AWS_REGION ?? env.AWS_DEFAULT_REGION)?.trim();
  if (!host) throw new Error(`${ENV.elastiCacheIamUser} needs ${ENV.elastiCacheHost}`);
  if (!region) throw new Error(`${ENV.elastiCacheIamUser} needs AWS_REGION to sign tokens`);
  // Loaded here, not at module load: only functions that use IAM auth pay for the credential chain.
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return createIamTokenProvider({ host, region, credentials: defaultProvider() });
}

/**
 * The runtime's default `iamAuthToken` hook: the signer is built on the first token (so the
 * credential chain loads only where IAM auth is configured), and built again if that failed.
 */
export function iamAuthTokenFromEnvironment(env: Readonly<Record<string, string | undefined>>): (userId: string) => Promise<string> {
  let provider: Promise<(userId: string) => Promise<string>> | undefined;
  return async (userId) => {
    provider ??= iamTokenProviderFromEnvironment(env);
    provider.catch(() => (provider = undefined));
    return (await provider)(userId);
  };
}
