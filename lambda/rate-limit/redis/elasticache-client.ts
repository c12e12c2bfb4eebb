/**
 * Builds the ioredis client for ElastiCache (or any Redis): bounded in time, never re-sending a
 * command behind the caller's back, TLS when asked, single node or cluster mode.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { IoredisClient } from './ioredis-transport';

export interface RedisCredentials {
  readonly username?: string;
  readonly password: string;
}

export interface ElastiCacheConnectionOptions {
  readonly host: string;
  /** @default 6379 */
  readonly port?: number;
  /** In-transit encryption. @default false */
  readonly tls?: boolean | { readonly ca?: string | Buffer; readonly servername?: string; readonly rejectUnauthorized?: boolean };
  readonly username?: string;
  readonly password?: string;
  /**
   * Credentials fetched before every (re)connect: AUTH tokens from a secret store, or short-lived
   * IAM tokens. Takes precedence over username/password.
   */
  readonly credentials?: () => Promise<RedisCredentials>;
  /** Cluster mode: `host` is the configuration endpoint. @default false */
  readonly cluster?: boolean;
  /**
   * ioredis's own deadline for one command, ms. @default the limiter's timeout in cluster mode
   * (a command timing out is how a hung master is noticed and the slot map refreshed); none on a
   * single node, where the limiter's deadline already bounds every call and a second timer per
   * command would only cost CPU.
   */
  readonly commandTimeoutMs?: number;
  /** Deadline for establishing a connection, ms. */
  readonly connectTimeoutMs?: number;
}

export const DEFAULT_REDIS_PORT = 6379;

/** Options shared by single-node and cluster connections. */
function nodeOptions(options: ElastiCacheConnectionOptions, timeoutMs: number): RedisOptions {
  const tls = options.tls === true ? {} : options.tls === false || options.tls === undefined ? undefined : { ...options.tls };
  return {
    username: options.username,
    password: options.password,
    tls,
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? Math.max(1000, timeoutMs * 4),
    commandTimeout: options.commandTimeoutMs ?? (options.cluster ? timeoutMs : undefined),
    // A command must never wait in a queue for a connection that may never come, nor be re-sent
    // after a reconnect: the caller has already been answered (fail closed or open) by then.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    // Keep reconnecting in the background with a short, capped backoff so recovery is quick.
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 1000),
    enableReadyCheck: true,
    // quit() on a connection that is not up falls back to disconnect(); without this, ioredis keeps
    // a 2 s timer that holds the process (or a test runner) open after close().
    disconnectTimeout: 100,
  };
}

export function createElastiCacheClient(options: ElastiCacheConnectionOptions, timeoutMs: number): IoredisClient {
  if (!options.host) throw new Error('ElastiCache host is required');
  const port = options.port ?? DEFAULT_REDIS_PORT;
  const redisOptions = nodeOptions(options, timeoutMs);
  const client: IoredisClient = options.cluster
    ? new Cluster([{ host: options.host, port }], clusterOptions(redisOptions, Boolean(options.tls)))
    : new Redis({ ...redisOptions, host: options.host, port });
  if (options.credentials) refreshCredentialsBeforeConnect(client, options.credentials, redisOptions);
  // Connection errors surface through the commands that fail; an 'error' listener keeps them from
  // crashing the process as unhandled 'error' events.
  client.on('error', () => undefined);
  return client;
}

function clusterOptions(redisOptions: RedisOptions, tls: boolean): ClusterOptions {
  const { retryStrategy: _retry, enableOfflineQueue: _offline, ...perNode } = redisOptions;
  return {
    redisOptions: perNode,
    enableOfflineQueue: false,
    lazyConnect: true,
    clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 1000),
    // ElastiCache TLS clusters: certificates name the configuration endpoint, not node IPs, so
    // keep hostnames (documented by ioredis for ElastiCache in-transit encryption).
    ...(tls ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
    slotsRefreshTimeout: 2000,
    // MOVED, ASK, TRYAGAIN and CLUSTERDOWN replies mean the command did not run, so ioredis follows
    // them (at most 4 times; the caller's deadline still applies) whatever maxRetriesPerRequest
    // says. A command whose connection closed may already have run, though (a master that died
    // after executing it), and ioredis would re-send it to another node after
    // `retryDelayOnFailover`: never do that, the check fails instead (fail mode) and the admission
    // is counted at most once.
    retryDelayOnFailover: 0,
    maxRedirections: 4,
  };
}

/**
 * ioredis reads `password` when it connects, so updating the options before each connect is enough
 * to rotate credentials (AUTH token rotation, IAM tokens that expire after 15 minutes).
 */
function refreshCredentialsBeforeConnect(
  client: IoredisClient,
  credentials: () => Promise<RedisCredentials>,
  redisOptions: RedisOptions,
): void {
  const apply = (value: RedisCredentials): void => {
    const target = client instanceof Cluster ? (client.options.redisOptions ?? (client.options.redisOptions = {})) : client.options;
    target.password = value.password;
    if (value.username !== undefined) target.username = value.username;
    else target.username = redisOptions.username;
  };
  const originalConnect = client.connect.bind(client);
  client.connect = async (): Promise<void> => {
    apply(await credentials());
    return originalConnect();
  };
}
