/**
 * What the topology scenarios share: the tiers they use, the backends they run on (the bundled
 * ElastiCache handlers on a redis-server, the bundled Upstash handlers on the Upstash-compatible
 * server in front of it), polling with a stated bound, and Redis poking for the fault scenarios.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { Bundles } from '../support/lambda-bundle';
import { DeployedTopology, type InvocationRecord } from '../harness/deployed-topology';
import type { RedisProcess } from '../harness/redis-process';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../harness/upstash-compatible-server';

export type TopologyBackend = 'elasticache' | 'upstash';
export const TOPOLOGY_BACKENDS: readonly TopologyBackend[] = ['elasticache', 'upstash'];

/** Check containers in every scenario: enough for state in one to differ from another. */
export const CHECK_CONTAINERS = 3;

/** The coherence bound (a change made through one process is honoured by every other within 1 s) ... */
export const COHERENCE_BOUND_MS = 1000;
/** ... tested with this margin for IPC, polling granularity and a loaded 2-core machine. */
export const COHERENCE_MARGIN_MS = 400;
/** Interval between polls of one container. */
export const POLL_MS = 50;

/**
 * Limits a scenario reaches in a few calls. Where each check container must be admitted once after
 * a change, the freed capacity is at least CHECK_CONTAINERS.
 */
export const TOPOLOGY_TIERS = {
  wide: { policies: [{ name: 'requests-per-minute', unit: 'requests', limit: 100, windowSeconds: 60 }] },
  burst: { policies: [{ name: 'requests-per-minute', unit: 'requests', limit: 10, windowSeconds: 60 }] },
  tokens: {
    policies: [
      { name: 'requests-per-minute', unit: 'requests', limit: 50, windowSeconds: 60 },
      { name: 'tokens-per-day', unit: 'tokens', limit: 900, windowSeconds: 86400 },
    ],
  },
  leases: {
    policies: [
      { name: 'requests-per-minute', unit: 'requests', limit: 50, windowSeconds: 60 },
      { name: 'in-flight', unit: 'concurrent', limit: CHECK_CONTAINERS, leaseSeconds: 60 },
    ],
  },
  brief: { policies: [{ name: 'requests-per-3s', unit: 'requests', limit: CHECK_CONTAINERS, windowSeconds: 3 }] },
};

export const uniqueCreator = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

export function check(creatorId: string, tier: keyof typeof TOPOLOGY_TIERS | 'tiny', extra: { tokens?: number; requestId?: string } = {}) {
  return { method: 'POST', path: '/v1/check', body: { creatorId, tier, ...extra } };
}

/** Function environment for a backend; the Upstash server must be running for 'upstash'. */
export function topologyEnv(
  backend: TopologyBackend,
  redis: RedisProcess,
  upstash: UpstashCompatibleServer | undefined,
  extra: Record<string, string> = {},
): Record<string, string> {
  const common = {
    RATE_LIMIT_FAIL_MODE: 'closed',
    RATE_LIMIT_TIMEOUT_MS: '1000',
    RATE_LIMIT_TIERS: JSON.stringify(TOPOLOGY_TIERS),
    POWERTOOLS_LOG_LEVEL: 'WARN',
  };
  const backendEnv: Record<string, string> =
    backend === 'elasticache'
      ? { RATE_LIMIT_BACKEND: 'elasticache', ELASTICACHE_REDIS_HOST: redis.host, ELASTICACHE_REDIS_PORT: String(redis.port) }
      : { RATE_LIMIT_BACKEND: 'upstash', UPSTASH_REDIS_REST_URL: upstash!.url, UPSTASH_REDIS_REST_TOKEN: upstash!.token };
  return { ...common, ...backendEnv, ...extra };
}

/** The REST server for the Upstash bundles; a stalled Redis answers 500 after `commandTimeoutMs`. */
export function startUpstashFor(redis: RedisProcess, commandTimeoutMs = 5000): Promise<UpstashCompatibleServer> {
  return startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token: 'topology-token', commandTimeoutMs });
}

export function startTopology(bundles: Bundles, env: Record<string, string>): Promise<DeployedTopology> {
  return DeployedTopology.start({ bundles, env, containers: { check: CHECK_CONTAINERS } });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Invokes `call()` on one container every POLL_MS until `done(record)`, or until `limitMs` after
 * `since` has passed; returns every record. Polls wait for each answer (one invocation at a time).
 */
export async function pollContainer(
  topology: DeployedTopology,
  container: number,
  call: () => object,
  done: (record: InvocationRecord) => boolean,
  since: number,
  limitMs: number,
): Promise<InvocationRecord[]> {
  const records: InvocationRecord[] = [];
  for (;;) {
    const record = await topology.invoke(call() as never, { container });
    records.push(record);
    if (done(record) || record.sentAt - since > limitMs) return records;
    await sleep(POLL_MS);
  }
}

const run = promisify(execFile);

export async function redisCli(redis: RedisProcess, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', redis.host, '-p', String(redis.port), '--raw', ...args]);
  return stdout.trim();
}

/**
 * Gives every key of the creator the wrong type (string <-> list), as a stray write by another
 * program would: the admission script then meets WRONGTYPE for this creator only.
 */
export async function poisonCreator(redis: RedisProcess, creatorId: string): Promise<number> {
  const keys = (await redisCli(redis, '--scan', '--pattern', `*{${creatorId}}*`)).split('\n').filter(Boolean);
  for (const key of keys) {
    const type = await redisCli(redis, 'TYPE', key);
    await redisCli(redis, 'DEL', key);
    if (type === 'string') await redisCli(redis, 'RPUSH', key, 'poison');
    else await redisCli(redis, 'SET', key, 'poison');
  }
  return keys.length;
}

/** A one-line summary of records for failure messages: `check#0 200 12ms`, `check#1 200 degraded 3ms`. */
export function describeRecords(records: readonly InvocationRecord[]): string {
  return records
    .map(
      (record) =>
        `${record.route}#${record.container} ${record.status}${record.reply?.body?.degraded ? ' degraded' : ''} ${Math.round(record.ms)}ms`,
    )
    .join(', ');
}
