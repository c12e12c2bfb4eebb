import type { CommandArgs } from './request-body';

/**
 * Commands the emulator refuses, mirroring what Upstash's REST API does not
 * offer (protocol reference §13). Beyond fidelity this protects the backend
 * connections, which are shared between HTTP requests: a SELECT or CLIENT
 * REPLY OFF would leak into other requests' commands, a blocking pop would
 * stall every request queued behind it, and HELLO 3 would switch the
 * connection to RESP3 replies the encoder does not expect.
 */
const REFUSED = new Set([
  // connection state
  'AUTH',
  'HELLO',
  'SELECT',
  'CLIENT',
  'RESET',
  'QUIT',
  // transactions only exist as /multi-exec
  'MULTI',
  'EXEC',
  'DISCARD',
  'WATCH',
  'UNWATCH',
  // pub/sub only exists as SSE endpoints upstream
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'SSUBSCRIBE',
  'UNSUBSCRIBE',
  'PUNSUBSCRIBE',
  'SUNSUBSCRIBE',
  'MONITOR',
  // blocking
  'BLPOP',
  'BRPOP',
  'BRPOPLPUSH',
  'BLMOVE',
  'BLMPOP',
  'BZPOPMIN',
  'BZPOPMAX',
  'BZMPOP',
  'WAIT',
  'WAITAOF',
  // administration of the backend process
  'SHUTDOWN',
  'DEBUG',
  'CONFIG',
  'SYNC',
  'PSYNC',
  'REPLICAOF',
  'SLAVEOF',
  'FAILOVER',
]);

/** XREAD / XREADGROUP only block when a BLOCK option precedes the STREAMS keyword. */
function isBlockingStreamRead(args: readonly string[]): boolean {
  for (const arg of args.slice(1)) {
    const upper = arg.toUpperCase();
    if (upper === 'STREAMS') return false;
    if (upper === 'BLOCK') return true;
  }
  return false;
}

/** The error text for a refused command, or `null` when it may run. */
export function refusalFor(command: CommandArgs): string | null {
  const name = command[0].toUpperCase();
  const refused = REFUSED.has(name) || ((name === 'XREAD' || name === 'XREADGROUP') && isBlockingStreamRead(command));
  if (!refused) return null;
  // Same wording as Upstash, so code matching on it behaves the same here.
  return `ERR Command is not available: '${name}'. See https://upstash.com/docs/redis/overall/rediscompatibility for details`;
}
