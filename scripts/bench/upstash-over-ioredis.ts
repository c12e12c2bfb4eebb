/**
 * The few methods @upstash/ratelimit calls on its client (evalsha, eval), implemented over an
 * ioredis connection, so that it is measured over the same TCP transport as every other limiter.
 *
 * @upstash/ratelimit >= 2.1 starts every script with `#!lua flags=allow-key-locking`, a flag only
 * Upstash knows: a plain redis-server rejects the script ("Unexpected flag in script shebang").
 * This adapter, and only this adapter (the bench's transport), replaces that first line with a Lua
 * comment before the script reaches Redis, so the script runs with classic (no-flag) semantics and
 * the same line numbers. Nothing else in the script changes. The library keeps calling EVALSHA
 * with the hash of the original text; the adapter maps it to the hash of the text Redis stored.
 */
import { createHash } from 'node:crypto';
import type { Redis as IoRedis } from 'ioredis';

const UPSTASH_SHEBANG = /^#!lua[^\n]*\bflags=allow-key-locking\b[^\n]*/;

export function stripUpstashShebang(script: string): string {
  return UPSTASH_SHEBANG.test(script) ? script.replace(UPSTASH_SHEBANG, (line) => `-- ${line.slice(2)}`) : script;
}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

type Argument = string | number | boolean | null | undefined;

export class UpstashScriptsOverIoredis {
  /** Hash the library computed (original text) -> hash Redis knows (stripped text). */
  private readonly hashes = new Map<string, string>();
  /** Scripts whose shebang this adapter stripped (reported by the bench). */
  strippedScripts = 0;

  constructor(private readonly client: IoRedis) {}

  evalsha(hash: string, keys: string[], args: Argument[]): Promise<unknown> {
    return this.client.evalsha(this.hashes.get(hash) ?? hash, keys.length, ...keys, ...args.map(argument));
  }

  eval(script: string, keys: string[], args: Argument[]): Promise<unknown> {
    const sent = stripUpstashShebang(script);
    if (sent !== script && !this.hashes.has(sha1(script))) {
      this.hashes.set(sha1(script), sha1(sent));
      this.strippedScripts++;
    }
    return this.client.eval(sent, keys.length, ...keys, ...args.map(argument));
  }
}

/** @upstash/redis sends arguments as JSON values; Redis sees their text. */
function argument(value: Argument): string {
  if (value === null || value === undefined) return '';
  return String(value);
}
