/**
 * The servers an Upstash-backend test file needs, started once for the file: a redis-server, the
 * Upstash-compatible REST server in front of it (with `token`), a black hole (accepts connections,
 * never answers: the "backend down" case), and an ioredis connection to inspect Redis directly.
 */
import { Redis as IoRedis } from 'ioredis';
import { startRedis, type RedisProcess } from '../harness/redis-process';
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from '../harness/upstash-compatible-server';
import { startBlackHole, type BlackHole } from './lambda-runtime';

export interface UpstashTestServers {
  readonly redis: RedisProcess;
  readonly upstash: UpstashCompatibleServer;
  readonly blackHole: BlackHole;
  readonly inspector: IoRedis;
}

export function useUpstashTestServers(token: string): UpstashTestServers {
  let started: UpstashTestServers | undefined;
  beforeAll(async () => {
    const redis = await startRedis();
    const upstash = await startUpstashCompatibleServer({ redis: { host: redis.host, port: redis.port }, token });
    const blackHole = await startBlackHole();
    const inspector = new IoRedis({ host: redis.host, port: redis.port, lazyConnect: true });
    await inspector.connect();
    started = { redis, upstash, blackHole, inspector };
  });
  afterAll(async () => {
    started?.inspector.disconnect();
    await started?.blackHole.stop();
    await started?.upstash.stop();
    await started?.redis.stop();
  });
  const get = (): UpstashTestServers => started ?? fail('the Upstash test servers are not started yet');
  return {
    get redis() {
      return get().redis;
    },
    get upstash() {
      return get().upstash;
    },
    get blackHole() {
      return get().blackHole;
    },
    get inspector() {
      return get().inspector;
    },
  };
}

function fail(message: string): never {
  throw new Error(message);
}
