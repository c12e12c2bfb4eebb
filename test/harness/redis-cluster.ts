/**
 * A throwaway Redis Cluster on loopback for tests and measurements: N masters with R replicas
 * each, every node a `redis-server --cluster-enabled yes` started by startRedis() (own temp dir,
 * no persistence), joined with `redis-cli --cluster create`. Node ids survive `restart()` because
 * each node keeps its nodes.conf in its own directory, so a killed master that comes back rejoins
 * as a replica of the node that replaced it, as on ElastiCache.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

import { findFreePort } from './free-port';
import { startRedis, type RedisProcess, type RedisTlsFiles } from './redis-process';

const execFileAsync = promisify(execFile);

export interface StartRedisClusterOptions {
  /** @default 3 */
  readonly masters?: number;
  /** @default 1 */
  readonly replicasPerMaster?: number;
  /**
   * How long a node may be unreachable before the others fail it over. Small, so failover tests
   * are quick; not so small that a busy machine triggers spurious failovers. @default 2000
   */
  readonly nodeTimeoutMs?: number;
  /** TLS for clients, the cluster bus and replication (`--tls-cluster yes --tls-replication yes`). */
  readonly tls?: RedisTlsFiles;
  /** Extra redis-server arguments for every node. */
  readonly extraArgs?: readonly string[];
  /** How long to wait for the cluster to become healthy after `--cluster create`. @default 60000 */
  readonly readyTimeoutMs?: number;
}

export interface ClusterNode {
  readonly index: number;
  readonly host: string;
  readonly port: number;
  readonly busPort: number;
  /** Cluster node id (stable across restarts). */
  readonly id: string;
  readonly process: RedisProcess;
}

export interface ShardView {
  readonly master: ClusterNode;
  readonly replicas: readonly ClusterNode[];
  /** Inclusive slot ranges. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  /** Nodes that are down on purpose: not asked, not expected in the topology. */
  readonly ignore?: readonly ClusterNode[];
  /** Require every master to have this many replicas with a live replication link. @default replicasPerMaster */
  readonly replicasPerMaster?: number;
}

export interface RedisCluster {
  /** A seed node, as a configuration endpoint would be. */
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly nodes: readonly ClusterNode[];
  /**
   * A plain (non-cluster) client to one node for inspection: commands time out after 2 s and are
   * never retried. Cached per node and closed by stop().
   */
  client(node: ClusterNode): Redis;
  /** Masters with slots, their replicas and slot ranges, as `via` (default: first live node) sees them. */
  shards(via?: ClusterNode): Promise<ShardView[]>;
  /** CLUSTER KEYSLOT. */
  slotOf(key: string): Promise<number>;
  /** The master owning `slot` now. */
  masterOf(slot: number): Promise<ClusterNode>;
  /**
   * Resolves when every node not ignored reports cluster_state:ok with all slots served, all of them
   * agree on which master owns which slots, and each master has its replicas in sync.
   */
  waitHealthy(options?: WaitOptions): Promise<ShardView[]>;
  /** `CLUSTER FAILOVER [FORCE|TAKEOVER]` on a replica; resolves once it owns its master's slots everywhere. */
  failover(replica: ClusterNode, option?: 'FORCE' | 'TAKEOVER', waitOptions?: WaitOptions): Promise<void>;
  /**
   * Online resharding of one slot, the way `redis-cli --cluster reshard` does it: mark the slot
   * importing/migrating, MIGRATE its keys in batches, then assign it to `target` everywhere.
   * `holdMs` keeps the slot half-migrated for a while, so clients meet ASK and TRYAGAIN replies.
   */
  migrateSlot(slot: number, target: ClusterNode, holdMs?: number): Promise<void>;
  /** Stops every node and removes their directories. Idempotent. */
  stop(): Promise<void>;
  /** Tails of every node's log, for failure messages. */
  logs(): string;
}

const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;
const POLL_MS = 100;

/** Starts the nodes, creates the cluster and waits until it is healthy. */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  if (masters < 3) throw new Error('redis-cli --cluster create needs at least 3 masters');
  const total = masters * (1 + replicasPerMaster);
  const tlsCa = options.tls ? readFileSync(options.tls.caFile) : undefined;

  const processes: Array<{ process: RedisProcess; busPort: number }> = [];
  const clients = new Map<number, Redis>();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const client of clients.values()) client.disconnect();
    clients.clear();
    await Promise.all(processes.map(({ process }) => process.stop()));
  };

  try {
    const started = await Promise.all(Array.from({ length: total }, () => startNode(options)));
    processes.push(...started);
    const nodes: ClusterNode[] = [];
    for (const [index, { process, busPort }] of processes.entries()) {
      const probe = connectNode(process.port, tlsCa);
      try {
        nodes.push({ index, host: HOST, port: process.port, busPort, id: String(await probe.cluster('MYID')), process });
      } finally {
        probe.disconnect();
      }
    }

    const client = (node: ClusterNode): Redis => {
      if (stopped) throw new Error('the cluster is stopped');
      let existing = clients.get(node.port);
      if (!existing) {
        existing = connectNode(node.port, tlsCa);
        clients.set(node.port, existing);
      }
      return existing;
    };
    const byAddress = (address: string): ClusterNode | undefined => {
      const port = Number(address.split('@')[0].split(':').pop());
      return nodes.find((node) => node.port === port);
    };
    const shards = async (via?: ClusterNode): Promise<ShardView[]> => {
      const asked = via ?? nodes[0];
      return parseShards(String(await client(asked).cluster('NODES')), byAddress);
    };

    const waitHealthy = async (wait: WaitOptions = {}): Promise<ShardView[]> => {
      const ignored = new Set((wait.ignore ?? []).map((node) => node.port));
      const live = nodes.filter((node) => !ignored.has(node.port));
      const expectedReplicas = wait.replicasPerMaster ?? replicasPerMaster;
      const deadline = Date.now() + (wait.timeoutMs ?? options.readyTimeoutMs ?? 60_000);
      for (;;) {
        const verdict = await healthProblem(live, expectedReplicas, masters, client, shards).catch((error: unknown) =>
          error instanceof Error ? error.message : String(error),
        );
        if (typeof verdict !== 'string') return verdict;
        if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy in time: ${verdict}`);
        await sleep(POLL_MS);
      }
    };

    const cluster: RedisCluster = {
      host: HOST,
      port: nodes[0].port,
      tls: options.tls !== undefined,
      nodes,
      client,
      shards,
      slotOf: async (key) => Number(await client(nodes[0]).cluster('KEYSLOT', key)),
      masterOf: async (slot) => {
        const owner = (await shards()).find((shard) => shard.slots.some(([from, to]) => slot >= from && slot <= to));
        if (!owner) throw new Error(`no master serves slot ${slot}`);
        return owner.master;
      },
      waitHealthy,
      failover: async (replica, option, waitOptions) => {
        await client(replica).call('CLUSTER', 'FAILOVER', ...(option ? [option] : []));
        const deadline = Date.now() + (waitOptions?.timeoutMs ?? 30_000);
        for (;;) {
          const view = await shards(replica).catch(() => []);
          if (view.some((shard) => shard.master.port === replica.port)) break;
          if (Date.now() > deadline) throw new Error(`replica ${replica.port} did not take over in time`);
          await sleep(POLL_MS);
        }
        await waitHealthy(waitOptions);
      },
      migrateSlot: async (slot, target, holdMs = 0) => {
        const source = await cluster.masterOf(slot);
        if (source === target) return;
        await client(target).call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id);
        await client(source).call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
        await sleep(holdMs);
        for (;;) {
          const keys = (await client(source).call('CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as string[];
          if (keys.length === 0) break;
          await client(source).call('MIGRATE', target.host, String(target.port), '', '0', '5000', 'KEYS', ...keys);
        }
        const masters = (await shards()).map((shard) => shard.master);
        for (const node of [target, source, ...masters.filter((m) => m !== target && m !== source)]) {
          await client(node).call('CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id);
        }
      },
      stop,
      logs: () => nodes.map((node) => `--- node ${node.index} (port ${node.port}) ---\n${node.process.logs()}`).join('\n'),
    };

    await createCluster(nodes, replicasPerMaster, options.tls);
    await waitHealthy();
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One cluster-enabled node. The bus port is chosen explicitly: port + 10000 may be taken or out of range. */
async function startNode(options: StartRedisClusterOptions): Promise<{ process: RedisProcess; busPort: number }> {
  for (let attempt = 1; ; attempt += 1) {
    const busPort = await findFreePort(HOST);
    const args = [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      String(options.nodeTimeoutMs ?? 2000),
      '--cluster-port',
      String(busPort),
      // A replica may take over however stale it is: tests kill masters on purpose.
      '--cluster-replica-validity-factor',
      '0',
      // Full syncs through a (tiny) RDB file: after a diskless sync Redis 7.0 holds the command
      // stream back until the replica's first periodic ACK, up to a second in which the replica
      // reports a live link but receives nothing, so a master killed then loses more than it must.
      '--repl-diskless-sync',
      'no',
      ...(options.tls ? ['--tls-cluster', 'yes', '--tls-replication', 'yes'] : []),
      ...(options.extraArgs ?? []),
    ];
    try {
      return { process: await startRedis({ extraArgs: args, tls: options.tls }), busPort };
    } catch (error) {
      // The bus port was taken between findFreePort and the bind: try another one.
      if (attempt >= START_ATTEMPTS || !/Address already in use/i.test(String(error))) throw error;
    }
  }
}

function connectNode(port: number, tlsCa: Buffer | undefined): Redis {
  const client = new Redis({
    host: HOST,
    port,
    ...(tlsCa ? { tls: { ca: tlsCa } } : {}),
    commandTimeout: 2000,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 100,
  });
  client.on('error', () => undefined);
  return client;
}

async function createCluster(nodes: readonly ClusterNode[], replicasPerMaster: number, tls: RedisTlsFiles | undefined): Promise<void> {
  const args = [
    ...(tls ? ['--tls', '--cacert', tls.caFile] : []),
    '--cluster',
    'create',
    ...nodes.map((node) => `${node.host}:${node.port}`),
    '--cluster-replicas',
    String(replicasPerMaster),
    '--cluster-yes',
  ];
  try {
    await execFileAsync('redis-cli', args, { timeout: 60_000 });
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string };
    throw new Error(`redis-cli --cluster create failed:\n${output.stdout ?? ''}${output.stderr ?? ''}`, { cause: error });
  }
}

/** The topology when healthy, else what is wrong (for the timeout message). */
async function healthProblem(
  live: readonly ClusterNode[],
  expectedReplicas: number,
  expectedMasters: number,
  client: (node: ClusterNode) => Redis,
  shards: (via?: ClusterNode) => Promise<ShardView[]>,
): Promise<ShardView[] | string> {
  let signature: string | undefined;
  let view: ShardView[] = [];
  for (const node of live) {
    const info = parseInfo(String(await client(node).cluster('INFO')));
    if (info.cluster_state !== 'ok') return `node ${node.port}: cluster_state ${info.cluster_state}`;
    if (info.cluster_slots_ok !== '16384') return `node ${node.port}: ${info.cluster_slots_ok} slots ok`;
    view = await shards(node);
    const mine = view
      .map((shard) => {
        const slots = shard.slots.map((range) => range.join('-')).join(',');
        const replicas = shard.replicas.map((replica) => replica.port).sort();
        return `${shard.master.port}=${slots}<${replicas.join(',')}`;
      })
      .sort()
      .join(' ');
    if (signature !== undefined && mine !== signature) return `nodes disagree on the topology: ${signature} vs ${mine}`;
    signature = mine;
  }
  if (view.length !== expectedMasters) return `${view.length} masters serve slots, expected ${expectedMasters}`;
  for (const shard of view) {
    if (!live.includes(shard.master)) return `master ${shard.master.port} is not a live node`;
    const inSync = [];
    for (const replica of shard.replicas.filter((node) => live.includes(node))) {
      // Offsets: the replica has everything the master had written when we asked it.
      const written = Number(parseInfo(await client(shard.master).info('replication')).master_repl_offset);
      const replication = parseInfo(await client(replica).info('replication'));
      if (
        replication.master_link_status === 'up' &&
        replication.master_port === String(shard.master.port) &&
        Number(replication.slave_repl_offset) >= written
      ) {
        inSync.push(replica);
      }
    }
    if (inSync.length < expectedReplicas) return `master ${shard.master.port} has ${inSync.length} replicas in sync`;
  }
  return view;
}

/** Masters that serve slots, from CLUSTER NODES (failed nodes and migrating markers skipped). */
export function parseShards(nodesReply: string, byAddress: (address: string) => ClusterNode | undefined): ShardView[] {
  const lines = nodesReply
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((fields) => fields.length >= 8);
  const result: ShardView[] = [];
  for (const [id, address, flags, , , , , , ...slotFields] of lines) {
    const flagSet = new Set(flags.split(','));
    if (!flagSet.has('master') || flagSet.has('fail') || flagSet.has('fail?')) continue;
    const slots = slotFields
      .filter((field) => !field.startsWith('['))
      .map((field): [number, number] => {
        const [from, to] = field.split('-').map(Number);
        return [from, to ?? from];
      });
    if (slots.length === 0) continue;
    const master = byAddress(address);
    if (!master) continue;
    const replicas = lines
      .filter(
        ([, , replicaFlags, masterId]) => masterId === id && !replicaFlags.split(',').some((flag) => flag === 'fail' || flag === 'fail?'),
      )
      .flatMap(([, replicaAddress]) => byAddress(replicaAddress) ?? []);
    result.push({ master, replicas, slots });
  }
  return result.sort((a, b) => a.master.port - b.master.port);
}

/** `key:value` lines of INFO or CLUSTER INFO. */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

export interface CommandStat {
  readonly calls: number;
  readonly usec: number;
  readonly failedCalls: number;
  readonly rejectedCalls: number;
}

/** INFO commandstats, by lower-case command name (subcommands as "config|resetstat"). */
export function parseCommandStats(text: string): Record<string, CommandStat> {
  const stats: Record<string, CommandStat> = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+),[^\n]*?rejected_calls=(\d+),failed_calls=(\d+)/gm)) {
    stats[match[1]] = {
      calls: Number(match[2]),
      usec: Number(match[3]),
      rejectedCalls: Number(match[4]),
      failedCalls: Number(match[5]),
    };
  }
  return stats;
}

/** INFO errorstats: error replies by prefix (MOVED, ASK, NOSCRIPT, ...). */
export function parseErrorStats(text: string): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const match of text.matchAll(/^errorstat_([^:]+):count=(\d+)/gm)) errors[match[1]] = Number(match[2]);
  return errors;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
