import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

import { Redis as UpstashRedis } from '@upstash/redis';

import { findFreePort } from './free-port';
import { RedisProcess, startRedis } from './redis-process';
import { UpstashCompatibleServer, startUpstashCompatibleServer } from './upstash-compatible-server';
import { b64, rawRequest } from './raw-http';

const TOKEN = 'failure-token';

async function eventually<T>(fn: () => T | Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function timed<T>(promise: Promise<T>): Promise<{ settled: PromiseSettledResult<T>; ms: number }> {
  const start = Date.now();
  const [settled] = await Promise.allSettled([promise]);
  return { settled: settled as PromiseSettledResult<T>, ms: Date.now() - start };
}

function errorOf(settled: PromiseSettledResult<unknown>): Error {
  if (settled.status === 'fulfilled') throw new Error(`expected a rejection, got ${JSON.stringify(settled.value)}`);
  return settled.reason as Error;
}

describe('fault injection', () => {
  let redis: RedisProcess;
  let emulator: UpstashCompatibleServer;
  let client: UpstashRedis;

  beforeAll(async () => {
    redis = await startRedis();
    emulator = await startUpstashCompatibleServer({ redisUrl: redis.url, token: TOKEN });
    client = new UpstashRedis({
      url: emulator.url,
      token: TOKEN,
      enableAutoPipelining: false,
      // Short backoff so the client's network-error retries don't slow the suite.
      retry: { retries: 2, backoff: () => 10 },
    });
  });

  afterAll(async () => {
    await emulator?.stop();
    await redis?.stop();
  });

  beforeEach(async () => {
    emulator.faults.clear();
    await client.set('k', 'v');
    emulator.resetStats();
  });

  it('http500: the client throws the JSON error and does not retry', async () => {
    emulator.faults.set('http500', 1);
    await expect(client.get('k')).rejects.toThrow('ERR injected fault: http500, command was: ["get","k"]');
    expect(emulator.stats.httpRequests).toBe(1);
    expect(await client.get('k')).toBe('v');
    expect(emulator.faults.remaining).toBe(0);
  });

  it('remaining counts down across requests; undefined affects all until cleared', async () => {
    emulator.faults.set('http500', 2);
    await expect(client.get('k')).rejects.toThrow(/injected/);
    await expect(client.get('k')).rejects.toThrow(/injected/);
    expect(await client.get('k')).toBe('v');

    emulator.faults.mode = 'http500';
    emulator.faults.remaining = undefined;
    for (let i = 0; i < 3; i++) await expect(client.get('k')).rejects.toThrow(/injected/);
    emulator.faults.clear();
    expect(await client.get('k')).toBe('v');
  });

  it('malformed: a 200 with a non-JSON body becomes UpstashJSONParseError', async () => {
    emulator.faults.set('malformed', 2);
    const raw = await rawRequest(emulator.url, '', { body: ['GET', 'k'], token: TOKEN });
    expect(raw.status).toBe(200);
    expect(raw.json).toBeUndefined();
    const err = errorOf((await timed(client.get('k'))).settled);
    expect(err.name).toBe('UpstashJSONParseError');
    expect(err.message).toMatch(/^Unable to parse response body: <html>/);
  });

  it('close: the client retries network errors, so one dropped connection is invisible', async () => {
    emulator.faults.set('close', 1);
    expect(await client.get('k')).toBe('v');
    expect(emulator.stats.httpRequests).toBe(2);
  });

  it('close: a persistent fault surfaces as "fetch failed" after the retries', async () => {
    emulator.faults.set('close');
    await expect(client.get('k')).rejects.toThrow('fetch failed');
    expect(emulator.stats.httpRequests).toBe(3); // 1 + retries: 2

    // `retry: false` still makes two attempts (a quirk of the client's loop bounds).
    emulator.resetStats();
    const noRetry = new UpstashRedis({ url: emulator.url, token: TOKEN, enableAutoPipelining: false, retry: false });
    await expect(noRetry.get('k')).rejects.toThrow('fetch failed');
    expect(emulator.stats.httpRequests).toBe(2);
  });

  it('hang: only a client-side signal ends the wait', async () => {
    emulator.faults.set('hang');
    const impatient = new UpstashRedis({
      url: emulator.url,
      token: TOKEN,
      enableAutoPipelining: false,
      signal: () => AbortSignal.timeout(300),
    });
    const { settled, ms } = await timed(impatient.get('k'));
    expect(errorOf(settled).name).toBe('TimeoutError');
    expect(ms).toBeGreaterThanOrEqual(250);
  });

  it('hang: parked requests resume when the fault is cleared', async () => {
    emulator.faults.set('hang');
    const pending = rawRequest(emulator.url, '', { body: ['GET', 'k'], token: TOKEN });
    await eventually(() => expect(emulator.stats.httpRequests).toBe(1), 2000);
    let answered = false;
    void pending.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    emulator.faults.clear();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ result: b64('v') });
  });

  it('stop() destroys hung requests instead of waiting for them', async () => {
    const own = await startUpstashCompatibleServer({ redisUrl: redis.url, token: TOKEN });
    own.faults.set('hang');
    const pending = rawRequest(own.url, '', { body: ['PING'], token: TOKEN });
    await eventually(() => expect(own.stats.httpRequests).toBe(1), 2000);
    const { ms } = await timed(own.stop());
    expect(ms).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
  });
});

describe('backend failures', () => {
  let redis: RedisProcess;
  let emulator: UpstashCompatibleServer;
  let client: UpstashRedis;

  beforeAll(async () => {
    redis = await startRedis();
    emulator = await startUpstashCompatibleServer({ redisUrl: redis.url, token: TOKEN, commandTimeoutMs: 300 });
    client = new UpstashRedis({ url: emulator.url, token: TOKEN, enableAutoPipelining: false });
  });

  afterAll(async () => {
    redis?.resume();
    await emulator?.stop();
    await redis?.stop();
  });

  it('answers 500 promptly while Redis is down and recovers after a restart', async () => {
    await client.set('k', 'v');
    await redis.kill();

    const { settled, ms } = await timed(client.get('k'));
    expect(errorOf(settled).message).toMatch(/^ERR backend Redis unavailable: .*, command was: \["get","k"\]$/);
    expect(ms).toBeLessThan(1000);
    for (const path of ['', '/pipeline', '/multi-exec']) {
      const body = path === '' ? ['GET', 'k'] : [['GET', 'k']];
      const res = await rawRequest(emulator.url, path, { body, token: TOKEN });
      expect({ path, status: res.status }).toEqual({ path, status: 500 });
      expect(res.json).toEqual({ error: expect.stringMatching(/backend Redis unavailable/) });
    }

    await redis.restart();
    // The emulator's connection reconnects on its own; the data is gone
    // because the server runs without persistence.
    await eventually(async () => expect(await client.get('k')).toBeNull(), 5000);
    const tx = client.multi();
    tx.set('k', 'again');
    tx.get('k');
    expect(await tx.exec()).toEqual(['OK', 'again']);
  });

  it('answers 500 after the command timeout while Redis is paused, then recovers', async () => {
    await client.set('k', 'v');
    redis.pause();
    try {
      const { settled, ms } = await timed(client.get('k'));
      expect(errorOf(settled).message).toMatch(/backend Redis unavailable/);
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(2000);
    } finally {
      redis.resume();
    }
    await eventually(async () => expect(await client.get('k')).toBe('v'), 5000);
  });

  it('refuses to start when Redis is unreachable', async () => {
    const port = await findFreePort();
    await expect(startUpstashCompatibleServer({ redis: { host: '127.0.0.1', port }, token: TOKEN })).rejects.toThrow(
      /backend Redis unavailable/,
    );
  });
});

describe('command-line entry point', () => {
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('serves requests with settings from the environment and exits cleanly on SIGTERM', async () => {
    const port = await findFreePort();
    const tsx = resolve(__dirname, '../../node_modules/.bin/tsx');
    const entry = resolve(__dirname, './upstash-compatible-server.ts');
    const child = spawn(tsx, [entry], {
      env: { ...process.env, UPSTASH_EMULATOR_PORT: String(port), UPSTASH_EMULATOR_TOKEN: 'cli-token', REDIS_URL: redis.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    try {
      await new Promise<void>((res, rej) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('listening on')) res();
        });
        child.once('exit', () => rej(new Error(`emulator exited early: ${out}`)));
      });
      const cliClient = new UpstashRedis({ url: `http://127.0.0.1:${port}`, token: 'cli-token', enableAutoPipelining: false });
      expect(await cliClient.set('cli', 'works')).toBe('OK');
      expect(await cliClient.get('cli')).toBe('works');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
