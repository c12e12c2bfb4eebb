/**
 * What one creator costs a Redis deployment beyond CPU, read from the servers themselves so that
 * no figure depends on the limiter's data layout:
 * - memory: every key under the creator's key base (SCAN MATCH), each weighed by MEMORY USAGE;
 * - replication: the growth of the master's replication offset (the bytes it streamed to its
 *   replicas), read from a master that has one replica attached (startReplicatedRedis).
 */
import { Redis } from 'ioredis';
import { startRedis, type RedisProcess } from '../../test/harness/redis-process';

export interface CreatorFootprint {
  readonly keys: number;
  /** Sum of MEMORY USAGE over the keys (key, value and Redis' own overhead for each). */
  readonly bytes: number;
  /** The heaviest key, named by what follows the key base (e.g. ":t"); undefined without keys. */
  readonly largestKey: string | undefined;
  readonly largestKeyBytes: number;
}

/** Escapes the characters a Redis glob pattern gives a meaning to, so `text` matches only itself. */
export function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

/** Every key that starts with `keyBase`, weighed one by one (SAMPLES 0: every element of a collection). */
export async function creatorFootprint(admin: Redis, keyBase: string): Promise<CreatorFootprint> {
  const keys = await creatorKeysFound(admin, keyBase);
  let bytes = 0;
  let largestKey: string | undefined;
  let largestKeyBytes = 0;
  for (const key of [...keys].sort()) {
    // A key that expired between SCAN and MEMORY USAGE answers nil: it holds nothing any more.
    const usage = Number((await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
    bytes += usage;
    if (usage > largestKeyBytes) {
      largestKeyBytes = usage;
      largestKey = key.slice(keyBase.length);
    }
  }
  return { keys: keys.size, bytes, largestKey, largestKeyBytes };
}

/** Every key under a creator's key base (SCAN, never KEYS). */
export async function creatorKeysFound(admin: Redis, keyBase: string): Promise<Set<string>> {
  const pattern = `${globLiteral(keyBase)}*`;
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const key of batch) keys.add(key);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** `master_repl_offset` of `INFO replication`: bytes of replication stream the server has produced. */
export function parseReplicationOffset(info: string): number {
  const match = /^master_repl_offset:(\d+)\s*$/m.exec(info);
  if (!match) throw new Error('INFO replication has no master_repl_offset');
  return Number(match[1]);
}

export async function replicationOffset(admin: Redis): Promise<number> {
  return parseReplicationOffset(await admin.info('replication'));
}

/**
 * Bytes of replication stream per operation: the offset's growth over `operations`. The admin
 * commands around it (INFO, CONFIG RESETSTAT) write nothing, so they add nothing to the stream.
 */
export function bytesPerOperation(offsetBefore: number, offsetAfter: number, operations: number): number {
  if (offsetAfter < offsetBefore) throw new Error(`replication offset went back from ${offsetBefore} to ${offsetAfter}`);
  return operations > 0 ? (offsetAfter - offsetBefore) / operations : Number.NaN;
}

export interface ReplicatedRedis {
  readonly master: RedisProcess;
  readonly replica: RedisProcess;
  /** Stops both servers (each by its own child process). */
  stop(): Promise<void>;
}

/**
 * The master pings its replicas every repl-ping-replica-period (10 s by default), and those PINGs
 * are part of the stream: a long period keeps them out of the measured phases, and a longer
 * repl-timeout keeps the replica from giving up on a master that says nothing meanwhile.
 */
const QUIET_REPLICATION = ['--repl-ping-replica-period', '3600', '--repl-timeout', '7200'];
/** The master would wait 5 s (the default) for more replicas before its first, diskless, full sync. */
const PROMPT_SYNC = ['--repl-diskless-sync-delay', '0'];

/** A master and one replica of it, both on free loopback ports; resolves once the replica is in sync. */
export async function startReplicatedRedis(timeoutMs = 20_000): Promise<ReplicatedRedis> {
  const master = await startRedis({ extraArgs: ['--maxmemory-policy', 'noeviction', ...QUIET_REPLICATION, ...PROMPT_SYNC] });
  let replica: RedisProcess | undefined;
  try {
    replica = await startRedis({ extraArgs: [...QUIET_REPLICATION, '--replicaof', master.host, String(master.port)] });
    const replicaAdmin = new Redis({ host: replica.host, port: replica.port });
    try {
      const deadline = Date.now() + timeoutMs;
      while (!/^master_link_status:up\s*$/m.test(await replicaAdmin.info('replication'))) {
        if (Date.now() > deadline) throw new Error(`the replica did not sync with its master within ${timeoutMs} ms:\n${replica.logs()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      replicaAdmin.disconnect();
    }
  } catch (error) {
    await replica?.stop().catch(() => undefined);
    await master.stop().catch(() => undefined);
    throw error;
  }
  const started = replica;
  return {
    master,
    replica: started,
    stop: async () => {
      await started.stop().catch(() => undefined);
      await master.stop();
    },
  };
}
