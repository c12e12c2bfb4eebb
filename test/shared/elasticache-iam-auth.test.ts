/**
 * IAM auth tokens are checked against an independent SigV4 computation (node:crypto, written from
 * the published algorithm) and against AWS's own signer (@smithy/signature-v4), with fixed
 * credentials and a fixed clock.
 */
import { createHash, createHmac } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  cacheNameFromEndpoint,
  createIamTokenProvider,
  iamTokenProviderFromEnvironment,
  signIamAuthToken,
} from '../../lambda/shared/elasticache-iam-auth';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session/token+with=chars',
};
const signingDate = new Date('2026-11-25T12:34:56Z');

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** SigV4 query-string presigning, as the AWS General Reference describes it. */
function expectedSignature(cacheName: string, user: string, extra: Record<string, string> = {}): string {
  const amzDate = '20261125T123456Z';
  const scope = '20261125/us-east-1/elasticache/aws4_request';
  const query: Record<string, string> = {
    Action: 'connect',
    User: user,
    ...extra,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': '900',
    'X-Amz-Security-Token': credentials.sessionToken,
    'X-Amz-SignedHeaders': 'host',
  };
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((key) => `${encode(key)}=${encode(query[key])}`)
    .join('&');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${cacheName}`, '', 'host', sha256('')].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, '20261125');
  for (const part of ['us-east-1', 'elasticache', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

function parse(token: string) {
  const [host, queryString] = token.split('/?');
  return { host, params: Object.fromEntries(new URLSearchParams(queryString)) };
}

describe('ElastiCache IAM auth tokens', () => {
  it('are a presigned connect request for the cache and user, valid 15 minutes, with a correct SigV4 signature', async () => {
    const token = await signIamAuthToken({
      cacheName: 'huntaze-redis-production',
      userId: 'rate-limiter',
      region: 'us-east-1',
      credentials,
      signingDate,
    });
    const { host, params } = parse(token);
    expect(token.startsWith('http')).toBe(false);
    expect(host).toBe('huntaze-redis-production');
    expect(params).toMatchObject({
      Action: 'connect',
      User: 'rate-limiter',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIDEXAMPLE/20261125/us-east-1/elasticache/aws4_request',
      'X-Amz-Date': '20261125T123456Z',
      'X-Amz-Expires': '900',
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Security-Token': credentials.sessionToken,
    });
    expect(params['X-Amz-Signature']).toBe(expectedSignature('huntaze-redis-production', 'rate-limiter'));
  });

  it('adds ResourceType=ServerlessCache for serverless caches, inside the signature', async () => {
    const token = await signIamAuthToken({
      cacheName: 'my-cache',
      userId: 'u1',
      region: 'us-east-1',
      credentials,
      signingDate,
      serverless: true,
    });
    const { params } = parse(token);
    expect(params.ResourceType).toBe('ServerlessCache');
    expect(params['X-Amz-Signature']).toBe(expectedSignature('my-cache', 'u1', { ResourceType: 'ServerlessCache' }));
  });

  it.each([
    ['with a session token', credentials, false],
    ['without a session token', { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }, false],
    ['for a serverless cache', credentials, true],
  ] as const)("agree with AWS's own signer (@smithy/signature-v4) %s", async (_label, identity, serverless) => {
    const user = 'user with spaces/+=';
    const signer = new SignatureV4({
      service: 'elasticache',
      region: 'eu-west-3',
      credentials: identity,
      sha256: Hash.bind(null, 'sha256'),
    });
    const presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: 'my-cache',
        path: '/',
        query: { Action: 'connect', User: user, ...(serverless ? { ResourceType: 'ServerlessCache' } : {}) },
        headers: { host: 'my-cache' },
      },
      { expiresIn: 900, signingDate },
    );
    const token = await signIamAuthToken({
      cacheName: 'my-cache',
      userId: user,
      region: 'eu-west-3',
      credentials: identity,
      signingDate,
      serverless,
    });
    expect(parse(token).params).toEqual(presigned.query);
  });

  it('signs a fresh token for every connection, from the current credentials', async () => {
    let calls = 0;
    const provider = createIamTokenProvider({
      host: 'master.huntaze-redis-production.asmyhp.use1.cache.amazonaws.com',
      region: 'us-east-1',
      credentials: async () => ({ ...credentials, accessKeyId: `AKID${(calls += 1)}` }),
    });
    const first = parse(await provider('rate-limiter')).params;
    const second = parse(await provider('rate-limiter')).params;
    expect(first['X-Amz-Credential']).toMatch(/^AKID1\//);
    expect(second['X-Amz-Credential']).toMatch(/^AKID2\//);
  });

  it.each([
    ['huntaze-redis-production.asmyhp.0001.use1.cache.amazonaws.com', 'huntaze-redis-production'],
    ['master.huntaze-redis-production.asmyhp.use1.cache.amazonaws.com', 'huntaze-redis-production'],
    ['clustercfg.rate-limit-cluster.asmyhp.use1.cache.amazonaws.com', 'rate-limit-cluster'],
    ['rate-limit-cluster-0001-001.asmyhp.0001.use1.cache.amazonaws.com', 'rate-limit-cluster'],
    ['huntaze-redis-production-002.asmyhp.0001.use1.cache.amazonaws.com', 'huntaze-redis-production'],
    ['My-Cache.asmyhp.use1.cache.amazonaws.com', 'my-cache'],
  ])('derives the cache name from %s', (host, name) => {
    expect(cacheNameFromEndpoint(host)).toBe(name);
  });

  it('in a function, signs with the role credentials from the environment for the configured host and region', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKIDFROMENV',
      AWS_SECRET_ACCESS_KEY: 'secret-from-env',
      AWS_SESSION_TOKEN: 'session-from-env',
    });
    try {
      const provider = await iamTokenProviderFromEnvironment({
        ELASTICACHE_REDIS_HOST: 'master.huntaze-redis-production.asmyhp.use1.cache.amazonaws.com',
        AWS_REGION: 'us-east-1',
      });
      const { host, params } = parse(await provider('rate-limiter'));
      expect(host).toBe('huntaze-redis-production');
      expect(params['X-Amz-Credential']).toMatch(/^AKIDFROMENV\/\d{8}\/us-east-1\/elasticache\/aws4_request$/);
      expect(params['X-Amz-Security-Token']).toBe('session-from-env');
    } finally {
      process.env = saved;
    }
  });

  it('says what is missing when the environment cannot sign tokens', async () => {
    await expect(iamTokenProviderFromEnvironment({ ELASTICACHE_REDIS_HOST: 'h' })).rejects.toThrow(/needs AWS_REGION/);
    await expect(iamTokenProviderFromEnvironment({ AWS_REGION: 'us-east-1' })).rejects.toThrow(/needs ELASTICACHE_REDIS_HOST/);
  });
});
