import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

import Redis from 'ioredis';

import { findFreePort } from './free-port';
import { RedisProcess, startRedis } from './redis-process';
import { pingRedis } from './redis-ping';
import { generateTestCertificates, type TestCertificates } from '../support/tls-certificates';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Like isRunning, but a killed zombie waiting to be reaped by its adoptive parent counts as gone. */
function isExecuting(pid: number): boolean {
  if (!isRunning(pid)) return false;
  try {
    // Field 3 of /proc/<pid>/stat is the state; the command name before it is parenthesised.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isExecuting(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe('findFreePort', () => {
  it('returns a loopback port that can be bound right away', async () => {
    const port = await findFreePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((res, rej) => server.once('error', rej).listen(port, '127.0.0.1', () => res()));
    await new Promise<void>((res) => server.close(() => res()));
  });
});

describe('startRedis: lifecycle', () => {
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('runs on loopback with no persistence', async () => {
    expect(redis.host).toBe('127.0.0.1');
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await pingRedis({ host: redis.host, port: redis.port })).toBe('+PONG');
    const client = new Redis(redis.url, { lazyConnect: true, protocol: 2 });
    try {
      await client.connect();
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    } finally {
      client.disconnect();
    }
  });

  it('pause() stops answering and resume() answers again', async () => {
    redis.pause();
    try {
      await expect(pingRedis({ host: redis.host, port: redis.port, timeoutMs: 300 })).rejects.toThrow(/timed out/);
    } finally {
      redis.resume();
    }
    expect(await pingRedis({ host: redis.host, port: redis.port, timeoutMs: 2000 })).toBe('+PONG');
  });

  it('kill() ends the process and restart() brings it back on the same port', async () => {
    const oldPid = redis.pid;
    const port = redis.port;
    await redis.kill();
    expect(isRunning(oldPid)).toBe(false);
    await expect(pingRedis({ host: redis.host, port })).rejects.toThrow(/ECONNREFUSED/);

    await redis.restart();
    expect(redis.port).toBe(port);
    expect(redis.pid).not.toBe(oldPid);
    expect(isRunning(redis.pid)).toBe(true);
    expect(await pingRedis({ host: redis.host, port })).toBe('+PONG');
  });

  it('restart() of a running (even paused) server replaces the process', async () => {
    const oldPid = redis.pid;
    redis.pause();
    await redis.restart();
    expect(isRunning(oldPid)).toBe(false);
    expect(await pingRedis({ host: redis.host, port: redis.port })).toBe('+PONG');
  });
});

describe('startRedis: stop', () => {
  it('stop() waits for the exit, so the pid is gone afterwards, and is idempotent', async () => {
    const redis = await startRedis();
    const { pid } = redis;
    expect(isRunning(pid)).toBe(true);
    await redis.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(redis.stop()).resolves.toBeUndefined();
    await expect(redis.restart()).rejects.toThrow(/stopped/);
  });

  it('reports redis-server start failures with its output', async () => {
    await expect(startRedis({ extraArgs: ['--no-such-directive', 'x'] })).rejects.toThrow(/no-such-directive/);
  });

  it('kills servers a parent forgot to stop when the parent exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-orphan-'));
    try {
      const script = join(dir, 'orphan.ts');
      const modulePath = resolve(__dirname, './redis-process');
      writeFileSync(
        script,
        `import { startRedis } from ${JSON.stringify(modulePath)};\n` +
          `startRedis().then((r) => { process.stdout.write(String(r.pid)); process.exit(0); });\n`,
      );
      const tsx = resolve(__dirname, '../../node_modules/.bin/tsx');
      const result = spawnSync(tsx, [script], { encoding: 'utf8', timeout: 30_000 });
      const pid = Number(result.stdout.trim());
      expect(pid).toBeGreaterThan(0);
      // SIGKILL is delivered asynchronously, and the orphan stays a zombie
      // until its adoptive parent (PID 1) reaps it, so poll for a moment.
      expect(await waitUntilGone(pid, 3000)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('startRedis: auth', () => {
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await startRedis({
      password: 'default-secret',
      aclUsers: [{ name: 'alice', password: 'alice-pw', rules: '~app:* +@all' }],
    });
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('requires the password and puts it into the URL', async () => {
    expect(await pingRedis({ host: redis.host, port: redis.port })).toMatch(/^-NOAUTH/);
    expect(redis.url).toBe(`redis://:default-secret@127.0.0.1:${redis.port}`);
    const client = new Redis(redis.url, { lazyConnect: true, protocol: 2 });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('creates ACL users with their rules', async () => {
    const alice = new Redis({
      host: redis.host,
      port: redis.port,
      username: 'alice',
      password: 'alice-pw',
      lazyConnect: true,
      protocol: 2,
    });
    try {
      await alice.connect();
      expect(await alice.set('app:x', '1')).toBe('OK');
      await expect(alice.set('other:x', '1')).rejects.toThrow(/NOPERM/);
    } finally {
      alice.disconnect();
    }
  });
});

describe('startRedis: TLS only', () => {
  let redis: RedisProcess;
  let certificates: TestCertificates;

  beforeAll(async () => {
    certificates = generateTestCertificates();
    redis = await startRedis({ tls: { certFile: certificates.certFile, keyFile: certificates.keyFile, caFile: certificates.caFile } });
  });

  afterAll(async () => {
    await redis?.stop();
    certificates?.remove();
  });

  it('answers over TLS on the reported port and not in plain text', async () => {
    expect(redis.tls).toBe(true);
    expect(redis.url).toBe(`rediss://127.0.0.1:${redis.port}`);
    expect(await pingRedis({ host: redis.host, port: redis.port, tlsCa: certificates.ca })).toBe('+PONG');
    // A plain-text PING gets no RESP reply from a TLS listener.
    await expect(pingRedis({ host: redis.host, port: redis.port, timeoutMs: 500 })).rejects.toThrow();
  });
});
