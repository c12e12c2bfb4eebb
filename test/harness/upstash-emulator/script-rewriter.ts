import { createHash } from 'node:crypto';

import type { RedisReply } from './redis-reply';
import type { CommandArgs } from './request-body';

const UPSTASH_ONLY_FLAG = 'allow-key-locking';

/** A command ready for the backend, plus an optional fix-up for its successful reply. */
export interface PreparedCommand {
  args: CommandArgs;
  mapReply?: (reply: RedisReply) => RedisReply;
}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/**
 * Removes Upstash's `allow-key-locking` shebang flag, which real Redis
 * rejects (`ERR Unexpected flag in script shebang`). Returns `null` when the
 * script does not carry the flag and can be sent as is.
 */
export function stripAllowKeyLocking(script: string): string | null {
  if (!script.startsWith('#!')) return null;
  const newline = script.indexOf('\n');
  const firstLine = newline < 0 ? script : script.slice(0, newline);
  const rest = newline < 0 ? '' : script.slice(newline);
  const carriageReturn = firstLine.endsWith('\r') ? '\r' : '';
  const tokens = firstLine.slice(0, firstLine.length - carriageReturn.length).split(/[ \t]+/);

  const flagsIndex = tokens.findIndex((t) => t.startsWith('flags='));
  if (flagsIndex < 0) return null;
  const flags = (tokens[flagsIndex] ?? '').slice('flags='.length).split(',');
  if (!flags.includes(UPSTASH_ONLY_FLAG)) return null;
  const remaining = flags.filter((f) => f !== UPSTASH_ONLY_FLAG && f !== '');

  if (remaining.length > 0) {
    tokens[flagsIndex] = `flags=${remaining.join(',')}`;
    return tokens.join(' ') + carriageReturn + rest;
  }
  // No flags left: turn the shebang into a Lua comment rather than deleting
  // it, so line numbers in Redis error messages still match the caller's
  // source, and the script runs with classic (non-shebang) semantics.
  return `-- ${firstLine}${rest}`;
}

/**
 * Rewrites scripting commands so Upstash-flavoured scripts run on real Redis
 * while clients keep using the SHA-1 of the text they sent (protocol
 * reference §9.4). Clients compute that SHA locally (createScript,
 * @upstash/ratelimit), so every SHA we hand out or accept must be the
 * original one; the map translates it to the SHA Redis knows.
 */
export class ScriptRewriter {
  private readonly originalToRewritten = new Map<string, string>();

  prepare(args: CommandArgs): PreparedCommand {
    const name = args[0].toUpperCase();
    switch (name) {
      case 'EVAL':
      case 'EVAL_RO':
        return { args: this.withScriptAt(args, 1).args };
      case 'EVALSHA':
      case 'EVALSHA_RO':
        return { args: this.withTranslatedShas(args, 1, 2) };
      case 'SCRIPT':
        return this.prepareScriptSubcommand(args);
      default:
        return { args };
    }
  }

  private prepareScriptSubcommand(args: CommandArgs): PreparedCommand {
    switch (args[1]?.toUpperCase()) {
      case 'LOAD': {
        const { args: rewrittenArgs, shas } = this.withScriptAt(args, 2);
        if (shas === undefined) return { args };
        // Redis answers with the SHA of what it stored; report the one the
        // caller computed instead.
        return {
          args: rewrittenArgs,
          mapReply: (reply) => (Buffer.isBuffer(reply) && reply.toString('latin1') === shas.rewritten ? Buffer.from(shas.original) : reply),
        };
      }
      case 'EXISTS':
        return { args: this.withTranslatedShas(args, 2, args.length) };
      case 'FLUSH':
        // Stale entries would only cause NOSCRIPT (which clients recover
        // from), but clearing keeps the map from growing across flushes.
        return {
          args,
          mapReply: (reply) => {
            this.originalToRewritten.clear();
            return reply;
          },
        };
      default:
        return { args };
    }
  }

  private withScriptAt(args: CommandArgs, index: number): { args: CommandArgs; shas?: { original: string; rewritten: string } } {
    const script = args[index];
    if (script === undefined) return { args };
    const rewritten = stripAllowKeyLocking(script);
    if (rewritten === null) return { args };
    const shas = { original: sha1(script), rewritten: sha1(rewritten) };
    this.originalToRewritten.set(shas.original, shas.rewritten);
    const copy: CommandArgs = [...args];
    copy[index] = rewritten;
    return { args: copy, shas };
  }

  /** Translates known original SHAs in `args[from..to)`; unknown ones pass through and earn NOSCRIPT. */
  private withTranslatedShas(args: CommandArgs, from: number, to: number): CommandArgs {
    const copy: CommandArgs = [...args];
    for (let i = from; i < Math.min(to, copy.length); i++) {
      const sha = copy[i] ?? '';
      copy[i] = this.originalToRewritten.get(sha.toLowerCase()) ?? sha;
    }
    return copy;
  }
}
