/**
 * Redis-side cost of a phase, read from the server itself on an admin connection:
 * `CONFIG RESETSTAT` before, then `INFO commandstats` and `INFO cpu` after.
 *
 * Redis 7 records a command called from a Lua script under its own name AND inside the time of
 * the EVALSHA that called it, so summing `usec` over every command counts script work twice. We
 * therefore keep three figures apart:
 *  - commands: calls of every command, those run inside scripts included (EVALSHA counts as one);
 *  - scriptUsec: usec of the commands clients sent (EVAL/EVALSHA, whose time includes the
 *    commands they called): the server's execution time without the double count;
 *  - cpuUs: used_cpu_user + used_cpu_sys of the server process (INFO cpu): everything the server
 *    spent, reading and writing sockets included.
 */
import type { Redis } from 'ioredis';

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);
/** The admin connection's own commands. */
const ADMIN_COMMANDS = new Set(['config|resetstat', 'info', 'config']);

export interface CommandStat {
  readonly calls: number;
  readonly usec: number;
}

export interface RedisCost {
  readonly commands: number;
  /** Client calls of scripts (each one round trip on this path, where clients send nothing else). */
  readonly scriptCalls: number;
  readonly scriptUsec: number;
  /** Sum of usec over every command (double-counts script work; kept for reference). */
  readonly allUsec: number;
  readonly cpuUs: number;
  readonly byCommand: Readonly<Record<string, CommandStat>>;
}

export function parseCommandStats(info: string): Record<string, CommandStat> {
  const stats: Record<string, CommandStat> = {};
  for (const line of info.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):(.*)$/.exec(line.trim());
    if (!match) continue;
    const fields = Object.fromEntries(match[2].split(',').map((pair) => pair.split('=') as [string, string]));
    stats[match[1].toLowerCase()] = { calls: Number(fields.calls ?? 0), usec: Number(fields.usec ?? 0) };
  }
  return stats;
}

export function parseCpuSeconds(info: string): number {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info);
    if (!match) throw new Error(`INFO cpu has no ${name}`);
    return Number(match[1]);
  };
  return field('used_cpu_user') + field('used_cpu_sys');
}

export class RedisMeter {
  private cpuBefore = 0;

  constructor(private readonly admin: Redis) {}

  async start(): Promise<void> {
    await this.admin.config('RESETSTAT');
    this.cpuBefore = parseCpuSeconds(await this.admin.info('cpu'));
  }

  async stop(): Promise<RedisCost> {
    const [commandInfo, cpuInfo] = [await this.admin.info('commandstats'), await this.admin.info('cpu')];
    const byCommand = parseCommandStats(commandInfo);
    let commands = 0;
    let scriptCalls = 0;
    let scriptUsec = 0;
    let allUsec = 0;
    for (const [name, stat] of Object.entries(byCommand)) {
      if (ADMIN_COMMANDS.has(name)) continue;
      commands += stat.calls;
      allUsec += stat.usec;
      if (SCRIPT_COMMANDS.has(name)) {
        scriptCalls += stat.calls;
        scriptUsec += stat.usec;
      }
    }
    const cpuUs = Math.max(0, (parseCpuSeconds(cpuInfo) - this.cpuBefore) * 1e6);
    return { commands, scriptCalls, scriptUsec, allUsec, cpuUs, byCommand };
  }
}
