import { ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { findFreePort } from './free-port';
import { pingRedis } from './redis-ping';

export interface RedisAclUser {
  name: string;
  password: string;
  /** ACL rules after the password, e.g. `'~* +@all'` or `['~app:*', '+get']`. */
  rules: string | string[];
}

export interface RedisTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface StartRedisOptions {
  /** Appended last, so they can override the defaults (Redis keeps the last value of a directive). */
  extraArgs?: string[];
  /** Sets `--requirepass` for the default user. */
  password?: string;
  aclUsers?: RedisAclUser[];
  /** Runs a TLS-only server: the plain port is disabled and `port` is the TLS port. */
  tls?: RedisTlsFiles;
  /** How long to wait for the first PING answer. Default 10 s. */
  startTimeoutMs?: number;
  /** Binary to run. Default `redis-server` from PATH. */
  redisServerPath?: string;
}

export interface RedisProcess {
  readonly host: string;
  readonly port: number;
  /** `redis://` or `rediss://`, including the default user's password when one was set. */
  readonly url: string;
  /** PID of the current child; changes after `restart()`. */
  readonly pid: number;
  readonly extraArgs: readonly string[];
  readonly tls: boolean;
  /** Graceful shutdown; waits for the exit and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing is answered. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL, resolved once the process is gone. The temp dir is kept for `restart()`. */
  kill(): Promise<void>;
  /** Stops the current process if still alive and starts a new one on the same port. */
  restart(): Promise<void>;
  /** Tail of the server's stdout/stderr, for failure messages. */
  logs(): string;
}

const HOST = '127.0.0.1';
const LOG_LIMIT = 64 * 1024;
const PORT_ATTEMPTS = 5;
const STOP_GRACE_MS = 5000;

/**
 * Every child still running, so a process 'exit' hook can SIGKILL it. Without
 * this, a test run that crashes or forgets `stop()` leaves redis-servers
 * behind on CI machines.
 */
const liveChildren = new Map<ChildProcess, string>();
let exitHookInstalled = false;

function trackChild(child: ChildProcess, dir: string): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers must be synchronous, hence kill + rmSync.
    process.on('exit', () => {
      for (const [orphan, orphanDir] of liveChildren) {
        try {
          orphan.kill('SIGKILL');
        } catch {
          // already gone
        }
        rmSync(orphanDir, { recursive: true, force: true });
      }
    });
  }
  liveChildren.set(child, dir);
}

class AddressInUseError extends Error {}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (!isAlive(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function splitRules(rules: string | string[]): string[] {
  return Array.isArray(rules) ? rules : rules.split(/\s+/).filter((r) => r.length > 0);
}

function buildArgs(port: number, dir: string, options: StartRedisOptions): string[] {
  const args = [
    '--bind',
    HOST,
    // No persistence: tests must start from an empty dataset and never leave
    // dump files behind.
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'no',
  ];
  if (options.tls) {
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      options.tls.certFile,
      '--tls-key-file',
      options.tls.keyFile,
      '--tls-ca-cert-file',
      options.tls.caFile,
      '--tls-auth-clients',
      'no',
    );
  } else {
    args.push('--port', String(port));
  }
  if (options.password !== undefined) args.push('--requirepass', options.password);
  for (const user of options.aclUsers ?? []) {
    args.push('--user', user.name, 'on', `>${user.password}`, ...splitRules(user.rules));
  }
  args.push(...(options.extraArgs ?? []));
  return args;
}

interface Launched {
  child: ChildProcess;
  output: () => string;
}

async function launch(port: number, dir: string, options: StartRedisOptions, tlsCa: Buffer | undefined): Promise<Launched> {
  const child = spawn(options.redisServerPath ?? 'redis-server', buildArgs(port, dir, options), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const append = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-LOG_LIMIT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = waitForExit(child);

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  for (;;) {
    const early = await Promise.race([
      spawnError,
      exited.then(() => new Error('exited')),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 20)),
    ]);
    if (early !== null) {
      if (/Address already in use/i.test(log)) throw new AddressInUseError(log);
      throw new Error(`redis-server failed to start (${early.message}):\n${log}`);
    }
    const reply = await pingRedis({ host: HOST, port, tlsCa, timeoutMs: 500 }).catch(() => null);
    // NOAUTH also proves the server is accepting commands; we just lack the password.
    if (reply !== null && (reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'))) {
      return { child, output: () => log };
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`redis-server on port ${port} did not answer PING in time:\n${log}`);
    }
  }
}

/**
 * Starts a throwaway `redis-server` bound to loopback on a free port, with no
 * persistence and its own temp dir, and resolves once it answers PING.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const tlsCa = options.tls ? await readFile(options.tls.caFile) : undefined;

  let port = 0;
  let current: Launched | undefined;
  try {
    for (let attempt = 1; current === undefined; attempt++) {
      port = await findFreePort(HOST);
      try {
        current = await launch(port, dir, options, tlsCa);
      } catch (err) {
        // Someone took the port between findFreePort and redis binding it.
        if (!(err instanceof AddressInUseError) || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let active: Launched = current;
  trackChild(active.child, dir);
  let stopped = false;

  const signal = (sig: NodeJS.Signals): void => {
    if (isAlive(active.child)) active.child.kill(sig);
  };

  const terminate = async (): Promise<void> => {
    const { child } = active;
    if (isAlive(child)) {
      // A SIGSTOPped process would not act on SIGTERM until continued.
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await waitForExit(child);
      clearTimeout(timer);
    }
    liveChildren.delete(child);
  };

  const scheme = options.tls ? 'rediss' : 'redis';
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';

  return {
    host: HOST,
    port,
    url: `${scheme}://${auth}${HOST}:${port}`,
    get pid(): number {
      return active.child.pid ?? -1;
    },
    extraArgs: [...(options.extraArgs ?? [])],
    tls: options.tls !== undefined,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    kill: async () => {
      signal('SIGKILL');
      await waitForExit(active.child);
      liveChildren.delete(active.child);
    },
    restart: async () => {
      if (stopped) throw new Error('cannot restart a stopped redis-server');
      await terminate();
      // The old listener may linger for a moment after exit; retry briefly
      // instead of moving to a new port, since callers rely on the same one.
      for (let attempt = 1; ; attempt++) {
        try {
          active = await launch(port, dir, options, tlsCa);
          break;
        } catch (err) {
          if (!(err instanceof AddressInUseError) || attempt >= 20) throw err;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      trackChild(active.child, dir);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await terminate();
      await rm(dir, { recursive: true, force: true });
    },
    logs: () => active.output(),
  };
}
