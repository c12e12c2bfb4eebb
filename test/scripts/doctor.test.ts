/**
 * `npm run doctor` as a user runs it: a separate process, configured by flags or by the functions'
 * environment variables, against real backends (redis-server plain, with AUTH and ACL users, TLS,
 * a cluster; the Upstash-compatible server; servers that refuse scripts). Assertions are on the
 * verdict lines, the exit code and what must never be printed.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Redis as IoRedis } from 'ioredis';

import { startRedisCluster, type RedisCluster } from '../harness/redis-cluster';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import { generateTestCertificates, type TestCertificates } from '../support/tls-certificates';
import { useUpstashTestServers } from '../support/upstash-servers';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const DOCTOR = join(ROOT, 'scripts', 'doctor.ts');
/** A generous deadline: latency verdicts on a loaded 2-core machine must not depend on the load. */
const RELAXED = ['--timeout-ms', '5000'];

type Verdict = 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

interface DoctorRun {
  readonly code: number | null;
  readonly stdout: string;
  /** Check name -> verdict and summary, from the "  PASS name: summary" lines. */
  readonly verdicts: Map<string, { verdict: Verdict; summary: string }>;
}

/** Runs the doctor with only the given variables (never the test process's own environment). */
function runDoctor(args: readonly string[], env: Record<string, string> = {}): Promise<DoctorRun> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [DOCTOR, ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 90_000 },
      (error, stdout) => {
        const verdicts = new Map<string, { verdict: Verdict; summary: string }>();
        for (const match of stdout.matchAll(/^ {2}(PASS|WARN|FAIL|SKIP) ([a-z ]+): (.*)$/gm)) {
          verdicts.set(match[2], { verdict: match[1] as Verdict, summary: match[3] });
        }
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, verdicts });
      },
    );
  });
}

function verdictOf(run: DoctorRun, check: string): Verdict | undefined {
  return run.verdicts.get(check)?.verdict;
}

function redisFlags(server: { host: string; port: number }): string[] {
  return ['--host', server.host, '--port', String(server.port), ...RELAXED];
}

const EVERY_CHECK = ['connectivity', 'tls', 'auth', 'cluster mode', 'scripts', 'clock', 'latency', 'eviction policy', 'full round'];

describe('against a plain redis-server', () => {
  let redis: RedisProcess;
  let inspector: IoRedis;

  beforeAll(async () => {
    redis = await startRedis();
    inspector = new IoRedis({ host: redis.host, port: redis.port, lazyConnect: true });
    await inspector.connect();
  });
  afterAll(async () => {
    inspector?.disconnect();
    await redis?.stop();
  });

  it('passes every check, prints a progress line per step, and leaves only retired, expiring keys', async () => {
    const run = await runDoctor(redisFlags(redis));
    expect(run.code).toBe(0);
    expect([...run.verdicts.keys()]).toEqual(EVERY_CHECK);
    for (const check of ['connectivity', 'cluster mode', 'scripts', 'clock', 'latency', 'eviction policy', 'full round']) {
      expect([check, verdictOf(run, check)]).toEqual([check, 'PASS']);
    }
    EVERY_CHECK.forEach((check, index) => expect(run.stdout).toContain(`[${index + 1}/9] ${check}: `));
    expect(run.verdicts.get('latency')!.summary).toMatch(/^p50 \d+\.\d ms, p99 \d+\.\d ms over 40 EVALSHA calls \(deadline 5000 ms\)$/);
    expect(run.verdicts.get('full round')!.summary).toMatch(/tier pro on doctor-[0-9a-f]{12}: check admitted \(remaining 100 -> 99\)/);
    expect(run.stdout).toMatch(/^Result: PASS \(7 passed, 0 warnings, 0 failed, 2 skipped\)$/m);
    // The throwaway creator was reset: nothing of the doctor's probes remains, and of the creator only
    // its retired record and reset generation, both expiring.
    await expectOnlyRetiredKeys(inspector);
  });

  it('reads the functions environment variables when no flag is given', async () => {
    const run = await runDoctor([], {
      RATE_LIMIT_BACKEND: 'elasticache',
      ELASTICACHE_REDIS_HOST: redis.host,
      ELASTICACHE_REDIS_PORT: String(redis.port),
      RATE_LIMIT_TIMEOUT_MS: '5000',
      RATE_LIMIT_TIERS: JSON.stringify({
        solo: { policies: [{ name: 'requests-per-minute', unit: 'requests', limit: 7, windowSeconds: 60 }] },
      }),
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`doctor: checking redis at ${redis.host}:${redis.port}`);
    // The configured tier table is the one exercised.
    expect(run.verdicts.get('full round')!.summary).toMatch(/^tier solo on doctor-[0-9a-f]{12}: check admitted \(remaining 7 -> 6\)/);
  });

  it.each(['allkeys-lru', 'volatile-ttl'])('warns that %s can evict rate-limit keys, and says how to fix it', async (policy) => {
    await inspector.config('SET', 'maxmemory-policy', policy);
    try {
      const run = await runDoctor(redisFlags(redis));
      expect(run.code).toBe(0);
      expect(run.verdicts.get('eviction policy')).toEqual({
        verdict: 'WARN',
        summary: `maxmemory-policy is ${policy}: rate-limit keys can be evicted`,
      });
      expect(run.stdout).toMatch(/fix: every rate-limit key has a TTL, so volatile-\* policies evict them .*noeviction/);
      expect(run.stdout).toMatch(/^Result: PASS with warnings/m);
    } finally {
      await inspector.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('fails connectivity for a port nobody listens on, and skips what needs a connection', async () => {
    await inspector.config('SET', 'maxmemory-policy', 'noeviction');
    const closed = await startRedis();
    const { host, port } = closed;
    await closed.stop();
    const run = await runDoctor(redisFlags({ host, port }));
    expect(run.code).toBe(1);
    expect(run.verdicts.get('connectivity')!.verdict).toBe('FAIL');
    expect(run.verdicts.get('connectivity')!.summary).toContain(`cannot reach ${host}:${port}`);
    expect(verdictOf(run, 'scripts')).toBe('SKIP');
    expect(verdictOf(run, 'full round')).toBe('SKIP');
    expect(run.stdout).toMatch(/^Result: FAIL \(0 passed, 0 warnings, 1 failed, 8 skipped\)$/m);
  });
});

describe('usage and configuration errors', () => {
  it('exits 2 and names the variables when no backend is configured', async () => {
    const run = await runDoctor([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/cannot start: No rate-limit backend configured.*ELASTICACHE_REDIS_HOST.*UPSTASH_REDIS_REST_URL/);
  });

  it('exits 2 on an unknown option and on mixed backends', async () => {
    const unknown = await runDoctor(['--hots', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toContain('unknown option "--hots"');
    const mixed = await runDoctor(['--host', '127.0.0.1', '--url', 'http://127.0.0.1:1']);
    expect(mixed.code).toBe(2);
    expect(mixed.stdout).toContain('not both');
  });
});

describe('against a redis-server with AUTH and ACL users', () => {
  const PASSWORD = 'doctor-default-pass-8d1f';
  const SCRIPTLESS_PASSWORD = 'doctor-scriptless-pass-5c2a';
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await startRedis({
      password: PASSWORD,
      aclUsers: [{ name: 'scriptless', password: SCRIPTLESS_PASSWORD, rules: '~* +@all -@scripting' }],
    });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('passes with the right password from the environment, and never prints it', async () => {
    const run = await runDoctor(redisFlags(redis), { ELASTICACHE_REDIS_PASSWORD: PASSWORD });
    expect(run.code).toBe(0);
    expect(run.verdicts.get('auth')).toEqual({ verdict: 'PASS', summary: 'authenticated as default' });
    expect(verdictOf(run, 'full round')).toBe('PASS');
    expect(run.stdout).toContain('AUTH default:****');
    expect(run.stdout).not.toContain(PASSWORD);
  });

  it('fails auth when no password is given, saying which variable to set', async () => {
    const run = await runDoctor(redisFlags(redis));
    expect(run.code).toBe(1);
    expect(verdictOf(run, 'connectivity')).toBe('PASS');
    expect(run.verdicts.get('auth')!.verdict).toBe('FAIL');
    expect(run.verdicts.get('auth')!.summary).toMatch(/^the server requires AUTH: NOAUTH/);
    expect(run.stdout).toContain('fix: set ELASTICACHE_REDIS_PASSWORD');
  });

  it('fails auth with a wrong password passed as a flag, without echoing it', async () => {
    const wrong = 'wrong-password-3e9b';
    const run = await runDoctor([...redisFlags(redis), '--password', wrong]);
    expect(run.code).toBe(1);
    expect(run.verdicts.get('auth')!.summary).toMatch(/^the credentials were rejected: WRONGPASS/);
    expect(run.stdout).not.toContain(wrong);
  });

  it('fails scripts for an ACL user without @scripting, with the fix, and skips the round', async () => {
    const run = await runDoctor([...redisFlags(redis), '--username', 'scriptless'], { ELASTICACHE_REDIS_PASSWORD: SCRIPTLESS_PASSWORD });
    expect(run.code).toBe(1);
    expect(run.verdicts.get('auth')).toEqual({ verdict: 'PASS', summary: 'authenticated as scriptless' });
    expect(run.verdicts.get('scripts')!.verdict).toBe('FAIL');
    expect(run.verdicts.get('scripts')!.summary).toMatch(/^the service refuses Lua scripts: NOPERM/);
    expect(run.stdout).toContain('fix: the limiter decides every check in one Lua script');
    expect(verdictOf(run, 'full round')).toBe('SKIP');
    expect(run.stdout).not.toContain(SCRIPTLESS_PASSWORD);
  });
});

describe('against a TLS-only redis-server', () => {
  let certificates: TestCertificates;
  let redis: RedisProcess;

  beforeAll(async () => {
    certificates = generateTestCertificates();
    redis = await startRedis({ tls: certificates });
  });
  afterAll(async () => {
    await redis?.stop();
    certificates?.remove();
  });

  it('passes with the CA trusted, reporting the negotiated protocol', async () => {
    const run = await runDoctor([...redisFlags(redis), '--tls'], { NODE_EXTRA_CA_CERTS: certificates.caFile });
    expect(run.code).toBe(0);
    expect(run.verdicts.get('tls')!.verdict).toBe('PASS');
    expect(run.verdicts.get('tls')!.summary).toMatch(/^TLSv1\.[23], server certificate verified for 127\.0\.0\.1$/);
    expect(verdictOf(run, 'full round')).toBe('PASS');
  });

  it('fails connectivity when the certificate cannot be verified', async () => {
    const run = await runDoctor([...redisFlags(redis), '--tls']);
    expect(run.code).toBe(1);
    expect(run.verdicts.get('connectivity')!.verdict).toBe('FAIL');
    expect(run.verdicts.get('connectivity')!.summary).toMatch(/certificate/i);
  });
});

describe('against redis-servers that refuse scripts', () => {
  const TOKEN = 'doctor-upstash-token-71fa';
  let redis: RedisProcess;
  let upstash: UpstashCompatibleServer;

  beforeAll(async () => {
    // Script commands renamed away, as some managed services and hardened configs do.
    redis = await startRedis({
      extraArgs: ['--rename-command', 'EVALSHA', '', '--rename-command', 'EVAL', '', '--rename-command', 'SCRIPT', ''],
    });
    upstash = await startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token: TOKEN });
  });
  afterAll(async () => {
    await upstash?.stop();
    await redis?.stop();
  });

  it('fails scripts over TCP', async () => {
    const run = await runDoctor(redisFlags(redis));
    expect(run.code).toBe(1);
    expect(run.verdicts.get('scripts')!.summary).toMatch(/^the service refuses Lua scripts: ERR unknown command/);
    expect(verdictOf(run, 'full round')).toBe('SKIP');
  });

  it('fails scripts over REST', async () => {
    const run = await runDoctor(['--url', upstash.url, ...RELAXED], { UPSTASH_REDIS_REST_TOKEN: TOKEN });
    expect(run.code).toBe(1);
    expect(verdictOf(run, 'auth')).toBe('PASS');
    expect(run.verdicts.get('scripts')!.summary).toMatch(/^the service refuses Lua scripts: ERR unknown command/);
    expect(run.stdout).not.toContain(TOKEN);
  });
});

describe('against the Upstash-compatible server', () => {
  const TOKEN = 'doctor-upstash-token-0b3c';
  const servers = useUpstashTestServers(TOKEN);

  it('passes from the UPSTASH_REDIS_REST_* variables, never printing the token, and cleans up', async () => {
    const run = await runDoctor([], {
      UPSTASH_REDIS_REST_URL: servers.upstash.url,
      UPSTASH_REDIS_REST_TOKEN: TOKEN,
      RATE_LIMIT_TIMEOUT_MS: '5000',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`doctor: checking upstash at ${servers.upstash.url} (token ****`);
    expect(run.verdicts.get('auth')).toEqual({ verdict: 'PASS', summary: 'the REST token was accepted' });
    expect(run.verdicts.get('scripts')!.verdict).toBe('PASS');
    expect(run.verdicts.get('full round')!.verdict).toBe('PASS');
    expect(run.stdout).not.toContain(TOKEN);
    await expectOnlyRetiredKeys(servers.inspector);
  });

  it('fails auth for a wrong token, without echoing it', async () => {
    const wrong = 'not-the-token-55e1';
    const run = await runDoctor(['--url', servers.upstash.url, '--token', wrong]);
    expect(run.code).toBe(1);
    expect(run.verdicts.get('auth')!.verdict).toBe('FAIL');
    expect(run.verdicts.get('auth')!.summary).toMatch(/^the REST token was rejected: WRONGPASS/);
    expect(run.stdout).not.toContain(wrong);
  });
});

describe('against a Redis Cluster', () => {
  let cluster: RedisCluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('passes in cluster mode, running the script on every master', async () => {
    const run = await runDoctor([...redisFlags(cluster), '--cluster']);
    expect(run.code).toBe(0);
    expect(run.verdicts.get('cluster mode')!.summary).toMatch(/^cluster mode, as configured; 3 masters/);
    expect(run.verdicts.get('scripts')!.summary).toBe('SCRIPT LOAD, EVALSHA and TIME inside a script work on all 3 masters');
    expect(verdictOf(run, 'full round')).toBe('PASS');
  });

  it('fails when a cluster is configured as a single node', async () => {
    const run = await runDoctor(redisFlags(cluster));
    expect(run.code).toBe(1);
    expect(run.verdicts.get('cluster mode')!.verdict).toBe('FAIL');
    expect(run.stdout).toContain('fix: set ELASTICACHE_REDIS_CLUSTER=true');
  });
});

/**
 * What a reset leaves: records cannot be listed without a scan, so they are retired by the creator's
 * generation rather than deleted. Only the throwaway creator's record and generation may remain, each with a TTL.
 */
async function expectOnlyRetiredKeys(inspector: IoRedis): Promise<void> {
  const keys = (await inspector.keys('*')).sort();
  expect(keys).toEqual([
    expect.stringMatching(/^rl:\{doctor-[0-9a-f]{12}\}:g$/),
    expect.stringMatching(/^rl:\{doctor-[0-9a-f]{12}\}:rec:doctor-[0-9a-f]{12}-request$/),
  ]);
  for (const key of keys) expect(await inspector.pttl(key)).toBeGreaterThan(0);
}
