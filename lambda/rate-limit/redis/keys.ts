/**
 * Redis key layout. All keys of one creator share one hash tag, so every script call touches a
 * single cluster slot, and the creator id is escaped so that no id can reach another creator's keys
 * or break the hash tag (an id containing "}" would otherwise end the tag early, and one starting
 * with "}" would leave it empty, spreading a creator's keys over several slots).
 */

export const DEFAULT_KEY_PREFIX = 'rl';

/** The keys a creator's state lives in (value layouts: scripts/base.lua.ts). */
export interface CreatorKeys {
  /** `<prefix>:{<escaped creator>}`: every key of the creator starts with it. */
  readonly base: string;
  /** String: token sums, live leases, when the ledger was last trimmed. */
  readonly state: string;
  /** Sorted set: the token ledger (score = admission time, member = "<tokens>:<r|s>:<admitted at>:<requestId>"). */
  readonly ledger: string;
  /** String integer: the reset generation; records written under an older one read as unknown. */
  readonly generation: string;
  /** String: the creator's override (limits by policy name, expiry, reason). */
  readonly override: string;
}

/** Escapes the characters that could end or confuse a hash tag; "%" first keeps the mapping injective. */
export function escapeCreatorId(creatorId: string): string {
  return creatorId.replace(/[%{}]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function creatorKeyBase(creatorId: string, prefix = DEFAULT_KEY_PREFIX): string {
  return `${prefix}:{${escapeCreatorId(creatorId)}}`;
}

/**
 * Key names changed with the layouts, so a deployment never misreads a key written in another one:
 * `:st` (state) replaced the token sums of `:ts` and the lease and record sets `:l`, `:r`, `:x`,
 * which expire on their own; `:log:` replaced the binary logs under `:w:`.
 */
export function creatorKeys(creatorId: string, prefix = DEFAULT_KEY_PREFIX): CreatorKeys {
  const base = creatorKeyBase(creatorId, prefix);
  return { base, state: `${base}:st`, ledger: `${base}:t`, generation: `${base}:g`, override: `${base}:o` };
}

/** The key of one request policy's log (by requestLogName: `shadow:<name>` for a shadow policy; names are limited to [A-Za-z0-9._-]). */
export function requestLogKey(base: string, policyName: string): string {
  return `${base}:log:${policyName}`;
}

/**
 * The record of one admission by its requestId (one key each, expiring with the record's retention).
 * Request ids are limited to [A-Za-z0-9._:@/+=-], so they cannot break it; '' names a key that is
 * never written (the place of the record in a call without a requestId).
 */
export function recordKey(base: string, requestId: string): string {
  return `${base}:rec:${requestId}`;
}

/**
 * The keys a reset handles: state, ledger and generation, then one log per request log name
 * (requestLogName), in the order given. Records are retired by the generation; the override is not usage.
 */
export function keyList(keys: CreatorKeys, requestLogNames: readonly string[] = []): string[] {
  return [keys.state, keys.ledger, keys.generation, ...requestLogNames.map((name) => requestLogKey(keys.base, name))];
}

/** Every key one usage script call may touch: state, ledger, generation, the record, the override, then the request logs. */
export function scriptKeyList(keys: CreatorKeys, requestId: string | undefined, requestLogNames: readonly string[]): string[] {
  const logs = requestLogNames.map((name) => requestLogKey(keys.base, name));
  return [keys.state, keys.ledger, keys.generation, recordKey(keys.base, requestId ?? ''), keys.override, ...logs];
}
