/** What the numbers were measured on: CPU, cores, memory, load, Node and Redis versions. */
import * as os from 'node:os';
import type { Redis } from 'ioredis';

export interface MachineDescription {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly redisVersion: string;
  /** 1-minute load average when the run started and when it ended. */
  readonly loadAverageBefore: number;
  readonly loadAverageAfter: number;
}

export async function describeMachine(admin: Redis): Promise<MachineDescription> {
  const server = await admin.info('server');
  const cpus = os.cpus();
  const load = os.loadavg()[0];
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redisVersion: /^redis_version:(\S+)/m.exec(server)?.[1] ?? 'unknown',
    loadAverageBefore: load,
    loadAverageAfter: load,
  };
}
