/**
 * Per-creator overrides: validation of what an administrator asks for, and the translation between
 * the public shape (`{ policies: { name: { limit } }, expiresAt?, reason }`) and the store's.
 * Validation is as strict as the tier table's: a name must belong to some tier of the table, and a
 * limit must be an integer within the bounds of that policy's unit.
 */
import type { OverrideWrite, StoredOverride } from '../store/store';
import { RateLimitInputError } from './errors';
import { TIER_LIMITS } from './tiers';
import type { CreatorOverride, PolicyUnit, TierTable } from './types';

export const MAX_OVERRIDE_REASON_LENGTH = 500;
/** An override may be set for at most a year ahead (a longer one belongs in the tier table). */
export const MAX_OVERRIDE_MS = 366 * 86_400_000;

const MAX_LIMIT: Readonly<Record<PolicyUnit, number>> = {
  requests: TIER_LIMITS.maxRequestsLimit,
  tokens: TIER_LIMITS.maxTokensLimit,
  concurrent: TIER_LIMITS.maxConcurrentLimit,
};
const INPUT_FIELDS = ['policies', 'expiresAt', 'reason'];

/** The highest limit an override may give each policy name of the table (the strictest unit it is used with). */
export function overridableLimits(tiers: TierTable): ReadonlyMap<string, number> {
  const limits = new Map<string, number>();
  for (const tier of Object.values(tiers)) {
    for (const policy of tier.policies) limits.set(policy.name, Math.min(limits.get(policy.name) ?? Infinity, MAX_LIMIT[policy.unit]));
  }
  return limits;
}

/** Validates an override, naming the field at fault; `now` is the local clock (expiresAt must be after it). */
export function parseOverride(input: unknown, maxLimits: ReadonlyMap<string, number>, now: number): OverrideWrite {
  if (!isPlainObject(input))
    throw new RateLimitInputError('override', 'must be an object with "policies", "reason" and optional "expiresAt"');
  const unknown = Object.keys(input).find((field) => !INPUT_FIELDS.includes(field));
  if (unknown !== undefined) throw new RateLimitInputError(unknown, `is not an override field (expected ${INPUT_FIELDS.join(', ')})`);
  return {
    limits: parseLimits(input.policies, maxLimits),
    expiresAt: parseExpiresAt(input.expiresAt, now),
    reason: parseReason(input.reason),
  };
}

function parseLimits(policies: unknown, maxLimits: ReadonlyMap<string, number>): Record<string, number> {
  if (!isPlainObject(policies) || Object.keys(policies).length === 0) {
    throw new RateLimitInputError('policies', 'must be an object mapping at least one policy name to { "limit": <integer> }');
  }
  const limits: Record<string, number> = {};
  for (const [name, entry] of Object.entries(policies)) {
    const field = `policies.${name}`;
    const max = maxLimits.get(name);
    if (max === undefined) {
      throw new RateLimitInputError(field, `is not a policy of any tier (known: ${[...maxLimits.keys()].join(', ')})`);
    }
    if (!isPlainObject(entry)) throw new RateLimitInputError(field, 'must be an object { "limit": <integer> }');
    const extra = Object.keys(entry).find((key) => key !== 'limit');
    if (extra !== undefined) throw new RateLimitInputError(`${field}.${extra}`, 'is not an override field (only "limit" is)');
    const limit = entry.limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > max) {
      throw new RateLimitInputError(`${field}.limit`, `must be an integer from 1 to ${max}, got ${describe(limit)}`);
    }
    limits[name] = limit;
  }
  return limits;
}

function parseExpiresAt(expiresAt: unknown, now: number): number | undefined {
  if (expiresAt === undefined) return undefined;
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt <= now || expiresAt > now + MAX_OVERRIDE_MS) {
    throw new RateLimitInputError(
      'expiresAt',
      `must be a future epoch time in milliseconds, at most 366 days ahead, got ${describe(expiresAt)}`,
    );
  }
  return expiresAt;
}

function parseReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > MAX_OVERRIDE_REASON_LENGTH) {
    throw new RateLimitInputError(
      'reason',
      `must be a non-blank string of at most ${MAX_OVERRIDE_REASON_LENGTH} characters, got ${describe(reason)}`,
    );
  }
  return reason;
}

/** The public shape of a stored override. */
export function toCreatorOverride(creatorId: string, stored: StoredOverride): CreatorOverride {
  const policies = Object.fromEntries(Object.entries(stored.limits).map(([name, limit]) => [name, { limit }]));
  const expiry = stored.expiresAt === undefined ? {} : { expiresAt: stored.expiresAt };
  return { creatorId, policies, ...expiry, reason: stored.reason, setAt: stored.setAt };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
