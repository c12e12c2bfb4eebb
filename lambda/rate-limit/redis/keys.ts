/**
 * Redis key layout. All keys of one creator share one hash tag, so every script call touches a
 * single cluster slot, and the creator id is escaped so that no id can reach another creator's keys
 * or break the hash tag (an id containing "}" would otherwise end the tag early, and one starting
 * with "}" would leave it empty, spreading a creator's keys over several slots).
 */

export const DEFAULT_KEY_PREFIX = 'rl';

/** The keys a creator's state lives in, in the order the admission script receives them. */
export interface CreatorKeys {
  /** `<prefix>:{<escaped creator>}`: every key of the creator starts with it. */
  readonly base: string;
  /** String: the running sums of the token windows (text; see scripts/base.lua.ts). */
  readonly state: string;
  /** Sorted set: the token ledger (score = admission time, member = "<tokens>:<r|s>:<admitted at>:<requestId>"). */
  readonly ledger: string;
  /** Sorted set: in-flight leases (score = expiry, member = requestId). */
  readonly leases: string;
  /** Hash: admission records by requestId, for replays and settlement (a record of the older 5-field format reads as unknown). */
  readonly records: string;
  /** Sorted set: when each record may be forgotten (score = expiry, member = requestId). */
  readonly recordExpiry: string;
  /** String: the creator's override (limits by policy name, expiry, reason; see scripts/base.lua.ts). */
  readonly override: string;
}

/** Escapes the characters that could end or confuse a hash tag; "%" first keeps the mapping injective. */
export function escapeCreatorId(creatorId: string): string {
  return creatorId.replace(/[%{}]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function creatorKeyBase(creatorId: string, prefix = DEFAULT_KEY_PREFIX): string {
  return `${prefix}:{${escapeCreatorId(creatorId)}}`;
}

export function creatorKeys(creatorId: string, prefix = DEFAULT_KEY_PREFIX): CreatorKeys {
  const base = creatorKeyBase(creatorId, prefix);
  return {
    base,
    state: `${base}:ts`,
    ledger: `${base}:t`,
    leases: `${base}:l`,
    records: `${base}:r`,
    recordExpiry: `${base}:x`,
    override: `${base}:o`,
  };
}

/**
 * The key of one request policy's log (by requestLogName: `shadow:<name>` for a shadow policy).
 * Policy names are limited to [A-Za-z0-9._-], so they cannot break it. (`:log:` and `:ts` since the text layout replaced the binary one under `:w:` and `:s`:
 * a deployment never misreads a key written in the other layout.)
 */
export function requestLogKey(base: string, policyName: string): string {
  return `${base}:log:${policyName}`;
}

/**
 * The keys of a creator's usage: the five shared keys, then one log key per request log name
 * (requestLogName), in the order given. A reset deletes exactly these; the override is not usage.
 */
export function keyList(keys: CreatorKeys, requestLogNames: readonly string[] = []): string[] {
  const list = [keys.state, keys.ledger, keys.leases, keys.records, keys.recordExpiry];
  for (const name of requestLogNames) list.push(requestLogKey(keys.base, name));
  return list;
}

/** Every key one script call may touch: the five usage keys, the override, then the request logs. */
export function scriptKeyList(keys: CreatorKeys, requestLogNames: readonly string[]): string[] {
  const usage = keyList(keys, requestLogNames);
  return [...usage.slice(0, 5), keys.override, ...usage.slice(5)];
}
