/**
 * Transport security against real servers: TLS with a CA made for the test, AUTH passwords and ACL
 * users, prompt and clear failures for wrong credentials, and no secret in any error or log line.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRateLimiter, RateLimitUnavailableError, type RateLimiter, type RateLimiterOptions } from '../../lambda/rate-limit';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import { generateTestCertificates, type TestCertificates } from '../support/tls-certificates';

const PASSWORD = 'default-user-secret-31337';
const ACL_PASSWORD = 'acl-user-secret-4242';
const logged: string[] = [];
const logger = {
  warn: (message: string, fields: Record<string, unknown>) => void logged.push(JSON.stringify({ message, ...fields })),
  error: (message: string, fields: Record<string, unknown>) => void logged.push(JSON.stringify({ message, ...fields })),
};
const limiters: RateLimiter[] = [];

function limiter(elasticache: Extract<RateLimiterOptions, { backend: 'elasticache' }>['elasticache'], timeoutMs = 1000): RateLimiter {
  const created = createRateLimiter({ backend: 'elasticache', elasticache, timeoutMs, logger, circuitBreaker: false });
  limiters.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
});

describe('TLS', () => {
  let certificates: TestCertificates;
  let redis: RedisProcess;
  beforeAll(async () => {
    certificates = generateTestCertificates();
    redis = await startRedis({ tls: { certFile: certificates.certFile, keyFile: certificates.keyFile, caFile: certificates.caFile } });
  });
  afterAll(async () => {
    await redis?.stop();
    certificates?.remove();
  });

  it('checks over TLS, verifying the server against the CA', async () => {
    const secure = limiter({ host: '127.0.0.1', port: redis.port, tls: { ca: certificates.ca } });
    await expect(secure.check('tls-creator', 'starter')).resolves.toMatchObject({ limit: 50, remaining: 49 });
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const untrusting = limiter({ host: '127.0.0.1', port: redis.port, tls: true });
    expect(await failure(untrusting.check('tls-creator', 'starter'))).toBeInstanceOf(RateLimitUnavailableError);
  });

  it('a plain-text client gets no answer from a TLS-only server, and fails within its deadline', async () => {
    const plain = limiter({ host: '127.0.0.1', port: redis.port }, 300);
    const started = Date.now();
    expect(await failure(plain.check('tls-creator', 'starter'))).toBeInstanceOf(RateLimitUnavailableError);
    expect(Date.now() - started).toBeLessThan(800);
  });

  it('ELASTICACHE_REDIS_TLS=true from the environment speaks TLS (fresh process, CA trusted via NODE_EXTRA_CA_CERTS)', async () => {
    const program = [
      "const { checkCreatorRateLimit, getDefaultRateLimiter } = require('./lambda/rate-limit');",
      "checkCreatorRateLimit('env-tls', 'business').then(async (d) => { console.log(JSON.stringify(d)); await getDefaultRateLimiter().close(); })",
      '.catch((e) => { console.error(String(e)); process.exit(1); });',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', '-e', program], {
      cwd: `${__dirname}/../..`,
      env: {
        PATH: process.env.PATH,
        NODE_EXTRA_CA_CERTS: certificates.caFile,
        RATE_LIMIT_BACKEND: 'elasticache',
        ELASTICACHE_REDIS_HOST: '127.0.0.1',
        ELASTICACHE_REDIS_PORT: String(redis.port),
        ELASTICACHE_REDIS_TLS: 'true',
        RATE_LIMIT_TIMEOUT_MS: '3000',
      },
    });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toMatchObject({ allowed: true, limit: 500, remaining: 499 });
  });
});

describe('AUTH and ACL users', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis({
      password: PASSWORD,
      aclUsers: [
        {
          name: 'ratelimiter',
          password: ACL_PASSWORD,
          rules: ['~rl:*', '+@read', '+@write', '+@scripting', '+time', '+info', '-@dangerous'],
        },
      ],
    });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('authenticates with the default user password', async () => {
    const authed = limiter({ host: '127.0.0.1', port: redis.port, password: PASSWORD });
    await expect(authed.check('auth-creator', 'pro')).resolves.toMatchObject({ remaining: 99 });
  });

  it('authenticates as a least-privilege ACL user limited to the rl:* keys', async () => {
    const acl = limiter({ host: '127.0.0.1', port: redis.port, username: 'ratelimiter', password: ACL_PASSWORD });
    const decision = await acl.check('acl-creator', 'pro', { tokens: 100 });
    await expect(acl.settle('acl-creator', 'pro', decision.requestId, 10)).resolves.toMatchObject({ outcome: 'settled' });
    await expect(acl.reset('acl-creator')).resolves.toBeUndefined();
  });

  it('credentials supplied by a provider (the Secrets Manager path) are fetched before connecting', async () => {
    const fetched: string[] = [];
    const provided = limiter({
      host: '127.0.0.1',
      port: redis.port,
      credentials: async () => (fetched.push('fetch'), { username: 'ratelimiter', password: ACL_PASSWORD }),
    });
    await expect(provided.check('provider-creator', 'pro')).resolves.toMatchObject({ remaining: 99 });
    await provided.check('provider-creator', 'pro');
    expect(fetched).toEqual(['fetch']); // once per connection, not per check
  });

  it('fetches credentials again on every reconnect (rotated tokens, fresh IAM tokens)', async () => {
    let fetches = 0;
    const rotating = limiter(
      {
        host: '127.0.0.1',
        port: redis.port,
        credentials: async () => ((fetches += 1), { username: 'ratelimiter', password: ACL_PASSWORD }),
      },
      2000,
    );
    await rotating.check('reconnect-creator', 'pro');
    expect(fetches).toBe(1);
    await redis.restart();
    let recovered = false;
    for (let attempt = 0; attempt < 40 && !recovered; attempt += 1) {
      recovered = await rotating.check('reconnect-creator', 'pro').then(
        () => true,
        () => false,
      );
      if (!recovered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(recovered).toBe(true);
    expect(fetches).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ['a wrong password', { password: 'not-the-password-9999' }],
    ['no password', {}],
    ['a wrong ACL password', { username: 'ratelimiter', password: 'wrong-acl-password-7777' }],
  ])('%s gives a prompt, clear error that never contains a secret', async (_label, credentials) => {
    const wrong = limiter({ host: '127.0.0.1', port: redis.port, ...credentials }, 2000);
    const started = Date.now();
    const error = await failure(wrong.check('wrong-creator', 'pro'));
    expect(Date.now() - started).toBeLessThan(1500); // well before the 2 s deadline: not a hang
    expect(error).toBeInstanceOf(RateLimitUnavailableError);
    expect(error.message).toMatch(/WRONGPASS|NOAUTH|authentication/i);
    const everything = [error.message, String((error as { cause?: unknown }).cause), ...logged].join('\n');
    for (const secret of [PASSWORD, ACL_PASSWORD, 'not-the-password-9999', 'wrong-acl-password-7777']) {
      expect(everything).not.toContain(secret);
    }
  });
});
