/**
 * Credentials from Secrets Manager (ELASTICACHE_REDIS_AUTH_SECRET_ARN, UPSTASH_REDIS_SECRET_ARN)
 * through Powertools Parameters, against a password-protected redis-server and the Upstash
 * emulator. Only the AWS API is faked: a real SecretsManagerClient whose middleware answers
 * GetSecretValue before any request would leave the process. And no secret ever reaches a log line.
 */
import { ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { createApiHandlers } from '../../lambda/handlers/operations';
import { createApiRuntime, type Environment } from '../../lambda/shared/limiter';
import { createLogger, REDACTED, registerSecret } from '../../lambda/shared/logger';
import { createSecretReader } from '../../lambda/shared/secrets';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import { uniqueCreator } from '../support/http-scenarios';
import { apiGatewayEvent, lambdaContext } from '../support/lambda-events';
import { captureOutput, closeRuntimes, testRuntime, TEST_TIERS_JSON } from '../support/lambda-runtime';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const REDIS_PASSWORD = 'redis-auth-Zq81-secret-value';
const UPSTASH_TOKEN = 'upstash-token-Kx27-secret-value';
const REDIS_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-auth-AbCdEf';
const UPSTASH_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:upstash-GhIjKl';

let redis: RedisProcess;
let upstash: UpstashCompatibleServer;

beforeAll(async () => {
  redis = await startRedis({ password: REDIS_PASSWORD });
  upstash = await startUpstashCompatibleServer({ redisUrl: redis.url, token: UPSTASH_TOKEN });
});

afterAll(async () => {
  await closeRuntimes();
  await upstash?.stop();
  await redis?.stop();
});

/** A real SDK client whose GetSecretValue is answered in-process from `secrets`. */
function fakeSecretsManager(secrets: Record<string, string | Error>) {
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' } });
  const calls: string[] = [];
  const answer = () => async (args: { input: { SecretId?: string } }) => {
    const id = args.input.SecretId ?? '';
    calls.push(id);
    const value = secrets[id];
    if (value instanceof Error) throw value;
    if (value === undefined)
      throw new ResourceNotFoundException({ message: 'Secrets Manager can not find the specified secret.', $metadata: {} });
    return { output: { $metadata: { httpStatusCode: 200 }, ARN: id, Name: id, SecretString: value }, response: {} };
  };
  (client.middlewareStack as unknown as { add(middleware: unknown, options: unknown): void }).add(answer, {
    step: 'initialize',
    name: 'fakeSecretsManager',
  });
  return { readSecret: createSecretReader({ provider: new SecretsProvider({ awsSdkV3Client: client }) }), calls };
}

function handlersWith(env: Environment, readSecret: (arn: string) => Promise<string>) {
  const runtime = testRuntime(
    { RATE_LIMIT_TIERS: TEST_TIERS_JSON, RATE_LIMIT_TIMEOUT_MS: '1000', ...env },
    {
      readSecret,
      logger: createLogger({ logLevel: 'DEBUG' }),
    },
  );
  return Object.assign(createApiHandlers(runtime), { runtime });
}

const check = () => apiGatewayEvent({ method: 'POST', path: '/v1/check', body: { creatorId: uniqueCreator('secret'), tier: 'pro' } });

/** Everything written to stdout and stderr while `body` runs (and until `runtime` is closed). */
async function output(body: () => Promise<void>): Promise<string> {
  const capture = captureOutput();
  try {
    await body();
  } finally {
    capture.restore();
  }
  return capture.lines().join('\n');
}

const elastiCache = (arn: string): Environment => ({
  RATE_LIMIT_BACKEND: 'elasticache',
  ELASTICACHE_REDIS_HOST: redis.host,
  ELASTICACHE_REDIS_PORT: String(redis.port),
  ELASTICACHE_REDIS_AUTH_SECRET_ARN: arn,
});

describe('ElastiCache AUTH token from Secrets Manager', () => {
  it.each([
    ['a JSON secret', JSON.stringify({ password: REDIS_PASSWORD })],
    ['a plain-string secret', REDIS_PASSWORD],
  ])('connects with %s, read once and cached across invocations', async (_label, secret) => {
    const secrets = fakeSecretsManager({ [REDIS_ARN]: secret });
    const handlers = handlersWith(elastiCache(REDIS_ARN), secrets.readSecret);
    const logs = await output(async () => {
      for (let index = 0; index < 3; index += 1) expect((await handlers.check(check(), lambdaContext())).statusCode).toBe(200);
      await handlers.runtime.close();
    });
    expect(secrets.calls).toEqual([REDIS_ARN]);
    expect(logs).not.toContain(REDIS_PASSWORD);
  });

  it('a wrong password is a 503, and neither password appears in any log line', async () => {
    const wrong = 'wrong-password-Yv55-value';
    const secrets = fakeSecretsManager({ [REDIS_ARN]: JSON.stringify({ username: 'default', password: wrong }) });
    const handlers = handlersWith(elastiCache(REDIS_ARN), secrets.readSecret);
    const logs = await output(async () => {
      expect((await handlers.check(check(), lambdaContext())).statusCode).toBe(503);
      await handlers.runtime.close();
    });
    expect(logs).toMatch(/rate-limit backend unavailable/);
    expect(logs).not.toContain(wrong);
    expect(logs).not.toContain(REDIS_PASSWORD);
  });

  it('Secrets Manager failing is a 503 (the backend cannot be reached), not a 500', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform secretsmanager:GetSecretValue'), {
      name: 'AccessDeniedException',
    });
    const handlers = handlersWith(elastiCache(REDIS_ARN), fakeSecretsManager({ [REDIS_ARN]: denied }).readSecret);
    await output(async () => {
      const result = await handlers.check(check(), lambdaContext());
      expect(result.statusCode).toBe(503);
      expect(result.headers?.['Retry-After']).toBe('60');
      await handlers.runtime.close();
    });
  });

  it('a password given in the environment is masked in logs too', async () => {
    const wrong = 'env-password-Pp19-value';
    const handlers = handlersWith(
      { ...elastiCache(''), ELASTICACHE_REDIS_AUTH_SECRET_ARN: undefined, ELASTICACHE_REDIS_PASSWORD: wrong },
      () => Promise.reject(new Error('not used')),
    );
    const logs = await output(async () => {
      expect((await handlers.check(check(), lambdaContext())).statusCode).toBe(503);
      await handlers.runtime.close();
    });
    expect(logs).not.toContain(wrong);
  });
});

describe('Upstash URL and token from Secrets Manager', () => {
  const upstashEnv: Environment = { RATE_LIMIT_BACKEND: 'upstash', UPSTASH_REDIS_SECRET_ARN: UPSTASH_ARN };

  it('connects with {url, token}, read once', async () => {
    const secrets = fakeSecretsManager({ [UPSTASH_ARN]: JSON.stringify({ url: upstash.url, token: UPSTASH_TOKEN }) });
    const handlers = handlersWith(upstashEnv, secrets.readSecret);
    const logs = await output(async () => {
      for (let index = 0; index < 3; index += 1) expect((await handlers.check(check(), lambdaContext())).statusCode).toBe(200);
    });
    expect(secrets.calls).toEqual([UPSTASH_ARN]);
    expect(logs).not.toContain(UPSTASH_TOKEN);
  });

  it('a rejected token is a 503 and the token never appears in logs', async () => {
    const wrong = 'upstash-wrong-Mm42-value';
    const handlers = handlersWith(
      upstashEnv,
      fakeSecretsManager({ [UPSTASH_ARN]: JSON.stringify({ url: upstash.url, token: wrong }) }).readSecret,
    );
    const logs = await output(async () => {
      expect((await handlers.check(check(), lambdaContext())).statusCode).toBe(503);
    });
    expect(logs).toMatch(/rate-limit backend unavailable/);
    expect(logs).not.toContain(wrong);
  });
});

describe('log redaction and unsupported configuration', () => {
  it('masks registered secrets anywhere in a line, and credential-named fields', async () => {
    const secret = 'a-registered-secret-Ww11';
    registerSecret(secret);
    const logger = createLogger({ logLevel: 'DEBUG' });
    const logs = await output(async () => {
      logger.warn(`connect failed for redis://default:${secret}@host`, {
        reason: `AUTH ${secret} rejected`,
        nested: { password: 'plain-field-value', tokens: 42 },
        error: new Error(`boom ${secret}`),
      });
    });
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain('plain-field-value');
    expect(logs).toContain(REDACTED);
    expect(logs).toContain('"tokens":42');
  });

  it('ElastiCache IAM authentication signs a token with the function credentials when connecting', async () => {
    const signed: string[] = [];
    const logs = await output(async () => {
      const runtime = createApiRuntime({
        env: {
          RATE_LIMIT_BACKEND: 'elasticache',
          ELASTICACHE_REDIS_HOST: '127.0.0.1',
          ELASTICACHE_REDIS_PORT: '1',
          ELASTICACHE_REDIS_TLS: 'true',
          ELASTICACHE_REDIS_IAM_USER: 'limiter',
          RATE_LIMIT_TIMEOUT_MS: '300',
        },
        iamAuthToken: async (user) => (signed.push(user), 'signed-token'),
      });
      // Port 1 refuses connections: a 503 (backend unavailable), not a 500 (misconfigured).
      await expect(runtime.limiter().then((limiter) => limiter.check('iam', 'pro'))).rejects.toThrow(/unavailable/);
      await runtime.close();
    });
    expect(signed[0]).toBe('limiter');
    expect(logs).not.toContain('misconfigured');
  });
});
