/**
 * `npm start` (tsx scripts/dev-server.ts) as a user runs it: it prints the URL, the backend and a
 * curl example that works when pasted, and stops cleanly (exit 0) on Ctrl-C. Started in its own
 * process group, so Ctrl-C is simulated as a terminal sends it: SIGINT to the whole group.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from '../harness/free-port';
import { startRedis, type RedisProcess } from '../harness/redis-process';

const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const run = promisify(execFile);

/** The parent environment without any backend selection, as on a fresh machine. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(RATE_LIMIT_|USE_ELASTICACHE|ELASTICACHE_|UPSTASH_|POWERTOOLS_|AWS_LAMBDA_|PORT$)/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

interface Started {
  readonly child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

function startCli(env: NodeJS.ProcessEnv): Started {
  const child = spawn(TSX, ['scripts/dev-server.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    child,
    output: () => text,
    waitFor: async (pattern, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const match = pattern.exec(text);
        if (match) return match[0];
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`output never matched ${pattern}:\n${text}`);
    },
  };
}

/** Exit code after Ctrl-C, or after the process ends by itself. */
async function exitCode(child: ChildProcess, timeoutMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return code;
}

const started: ChildProcess[] = [];
let redis: RedisProcess | undefined;

afterAll(async () => {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
  await redis?.stop();
});

async function curlAvailable(): Promise<boolean> {
  try {
    await run('curl', ['--version']);
    return true;
  } catch {
    return false;
  }
}

it('prints the URL, the embedded memory backend and a curl example that works; Ctrl-C exits 0', async () => {
  const port = await findFreePort();
  const cli = startCli(cleanEnv({ PORT: String(port) }));
  started.push(cli.child);
  await cli.waitFor(/Press Ctrl-C to stop\./);
  const output = cli.output();
  expect(output).toContain(`listening on http://127.0.0.1:${port}`);
  expect(output).toMatch(/embedded in-memory backend .*not for production/);

  const curl = /^\s*(curl -i -X POST .*)$/m.exec(output)?.[1];
  expect(curl).toBeDefined();
  if (await curlAvailable()) {
    const { stdout } = await run('sh', ['-c', curl!]);
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(stdout).toMatch(/^RateLimit: "requests-per-hour";r=99;/m);
  } else {
    const response = await fetch(`http://127.0.0.1:${port}/v1/check`, {
      method: 'POST',
      body: JSON.stringify({ creatorId: 'creator-123', tier: 'pro', tokens: 500 }),
    });
    expect(response.status).toBe(200);
  }
  await cli.waitFor(/POST \/v1\/check 200 /);

  process.kill(-cli.child.pid!, 'SIGINT');
  expect(await exitCode(cli.child)).toBe(0);
  expect(cli.output()).toContain('SIGINT received, stopping.');
});

it('uses a real Redis when the environment (docs/design.md#environment) says so', async () => {
  redis = await startRedis();
  const port = await findFreePort();
  const cli = startCli(
    cleanEnv({
      PORT: String(port),
      RATE_LIMIT_BACKEND: 'elasticache',
      ELASTICACHE_REDIS_HOST: redis.host,
      ELASTICACHE_REDIS_PORT: String(redis.port),
    }),
  );
  started.push(cli.child);
  await cli.waitFor(/Press Ctrl-C to stop\./);
  expect(cli.output()).toContain(`Backend: ElastiCache/Redis at 127.0.0.1:${redis.port}`);
  const response = await fetch(`http://127.0.0.1:${port}/v1/status/creator-123`);
  expect(response.status).toBe(200);
  process.kill(-cli.child.pid!, 'SIGTERM');
  expect(await exitCode(cli.child)).toBe(0);
});

it('exits 1 with the reason on an invalid configuration or a busy port', async () => {
  const bad = startCli(cleanEnv({ PORT: String(await findFreePort()), RATE_LIMIT_BACKEND: 'dynamodb' }));
  started.push(bad.child);
  expect(await exitCode(bad.child)).toBe(1);
  expect(bad.output()).toMatch(/Could not start the local API server: RATE_LIMIT_BACKEND must be one of/);

  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const port = (blocker.address() as { port: number }).port;
    const busy = startCli(cleanEnv({ PORT: String(port) }));
    started.push(busy.child);
    expect(await exitCode(busy.child)).toBe(1);
    expect(busy.output()).toContain(`Port ${port} on 127.0.0.1 is already in use`);
  } finally {
    blocker.close();
  }
});
