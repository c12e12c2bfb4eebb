/**
 * The probe over ioredis, for ElastiCache or any Redis: single node or cluster, TLS, AUTH/ACL.
 * Commands fail fast (no offline queue, no retries, no reconnection): the doctor wants to see a
 * failure, not ride it out.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { TLSSocket } from 'node:tls';

import { parseInfo, isRefusal, type BackendProbe, type ConnectionFacts } from './probe';
import type { RedisTarget } from './target';

/** Long enough for a slow network, short enough that a dead endpoint does not hang the doctor. */
const COMMAND_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 5000;

export function createRedisProbe(target: RedisTarget): BackendProbe {
  const options: RedisOptions = {
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    disconnectTimeout: 100,
  };
  const client: Redis | Cluster = target.cluster
    ? new Cluster([{ host: target.host, port: target.port }], {
        redisOptions: options,
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: () => null,
        slotsRefreshTimeout: COMMAND_TIMEOUT_MS,
        // Certificates name the configuration endpoint, not node addresses (ElastiCache TLS).
        ...(target.tls
          ? { dnsLookup: (address: string, callback: (error: Error | null, address: string) => void) => callback(null, address) }
          : {}),
      })
    : new Redis({ ...options, host: target.host, port: target.port });
  // Without a listener an 'error' event would crash the process. The last one is kept because a
  // refused AUTH only surfaces there: connect() itself just reports "Connection is closed".
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });

  /** Nodes that run scripts: the one node, or every master of the cluster. */
  const scriptNodes = (): Redis[] => (client instanceof Cluster ? client.nodes('master') : [client]);
  let loadedSha: string | undefined;

  const infoOf = async (node: Redis, section: string): Promise<Record<string, string> | undefined> => {
    try {
      return parseInfo(await node.info(section));
    } catch (error) {
      if (isRefusal(error)) return undefined;
      throw error;
    }
  };

  return {
    async connect(): Promise<ConnectionFacts> {
      try {
        await client.connect();
      } catch (error) {
        throw lastError ?? error;
      }
      const nodes = scriptNodes();
      await Promise.all(nodes.map((node) => node.ping()));
      const stream = nodes[0]?.stream as Partial<TLSSocket> | undefined;
      return { tlsProtocol: target.tls ? (stream?.getProtocol?.() ?? 'TLS') : undefined, scriptNodes: nodes.length };
    },
    info: (section) => infoOf(scriptNodes()[0], section),
    async infoEverywhere(section) {
      const replies = await Promise.all(scriptNodes().map((node) => infoOf(node, section)));
      return replies.filter((reply): reply is Record<string, string> => reply !== undefined);
    },
    async configGet(name) {
      try {
        const reply = await scriptNodes()[0].config('GET', name);
        return reply[1];
      } catch (error) {
        if (isRefusal(error)) return undefined;
        throw error;
      }
    },
    async whoAmI() {
      try {
        return String(await scriptNodes()[0].call('ACL', 'WHOAMI'));
      } catch (error) {
        if (isRefusal(error)) return undefined;
        throw error;
      }
    },
    async loadAndRunScript(script) {
      const replies: unknown[] = [];
      for (const node of scriptNodes()) {
        const sha = String(await node.script('LOAD', script));
        loadedSha = sha;
        replies.push(await node.evalsha(sha, 0));
      }
      return replies;
    },
    async runLoadedScript() {
      if (!loadedSha) throw new Error('no script loaded');
      return scriptNodes()[0].evalsha(loadedSha, 0);
    },
    async ping() {
      await scriptNodes()[0].ping();
    },
    async close() {
      client.disconnect();
    },
  };
}
