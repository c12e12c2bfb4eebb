/**
 * Plan tiers: the default table and the validation of custom tables (RATE_LIMIT_TIERS).
 *
 * A tier is an ordered list of named policies. Policy state in Redis is keyed by creator and policy
 * name, never by tier, so a creator's usage carries over when their plan changes: the limits of the
 * new tier simply apply to the same counters from the next call on.
 */
import { RateLimitConfigError } from './errors';
import type { Policy, TierDefinition, TierTable } from './types';

/** A little above a 60 s AI-endpoint timeout: an unsettled lease frees its slot after this. */
export const DEFAULT_LEASE_SECONDS = 90;

const HOUR = 3600;
const DAY = 86400;

function defaultTier(requestsPerHour: number, tokensPerDay: number, inFlight: number): TierDefinition {
  return {
    policies: [
      { name: 'requests-per-hour', unit: 'requests', limit: requestsPerHour, windowSeconds: HOUR },
      { name: 'tokens-per-day', unit: 'tokens', limit: tokensPerDay, windowSeconds: DAY },
      { name: 'in-flight', unit: 'concurrent', limit: inFlight, leaseSeconds: DEFAULT_LEASE_SECONDS },
    ],
  };
}

/**
 * The default table. Request limits are the old system's (50 / 100 / 500 per rolling hour). The
 * daily token budgets allow roughly 2,000 tokens per request at the hourly cap for a few hours a
 * day; the in-flight caps bound parallel LLM calls per creator.
 */
export const DEFAULT_TIERS: TierTable = Object.freeze({
  starter: defaultTier(50, 200_000, 2),
  pro: defaultTier(100, 1_000_000, 4),
  business: defaultTier(500, 5_000_000, 10),
});

/** Bounds that keep per-creator state small and arithmetic exact. */
export const TIER_LIMITS = Object.freeze({
  maxPoliciesPerTier: 8,
  /** A request window stores one timestamp per allowed request, so its limit bounds state size. */
  maxRequestsLimit: 10_000,
  maxTokensLimit: 1e12,
  maxConcurrentLimit: 10_000,
  maxWindowSeconds: 31 * DAY,
  maxLeaseSeconds: DAY,
});

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UNITS = ['requests', 'tokens', 'concurrent'] as const;
const MODES = ['enforce', 'shadow'] as const;

/** Validates a whole tier table; `source` prefixes every message (e.g. "RATE_LIMIT_TIERS"). */
export function parseTierTable(input: unknown, source = 'tiers'): TierTable {
  if (!isPlainObject(input)) {
    throw new RateLimitConfigError(`${source}: must be a JSON object mapping tier names to { "policies": [...] }`);
  }
  const names = Object.keys(input);
  if (names.length === 0) throw new RateLimitConfigError(`${source}: must define at least one tier`);
  const table: Record<string, TierDefinition> = {};
  for (const tierName of names) {
    if (!NAME_PATTERN.test(tierName)) {
      throw new RateLimitConfigError(`${source}: tier name "${tierName}" must be 1-64 characters of letters, digits, ".", "_" or "-"`);
    }
    table[tierName] = parseTier(input[tierName], `${source}: tier "${tierName}"`);
  }
  return Object.freeze(table);
}

/** Parses RATE_LIMIT_TIERS (a JSON string). */
export function parseTierTableJson(json: string, source = 'RATE_LIMIT_TIERS'): TierTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new RateLimitConfigError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  return parseTierTable(parsed, source);
}

function parseTier(input: unknown, where: string): TierDefinition {
  if (!isPlainObject(input) || !Array.isArray(input.policies)) {
    throw new RateLimitConfigError(`${where}: must be an object with a "policies" array`);
  }
  const raw = input.policies as unknown[];
  if (raw.length === 0 || raw.length > TIER_LIMITS.maxPoliciesPerTier) {
    throw new RateLimitConfigError(`${where}: "policies" must hold 1 to ${TIER_LIMITS.maxPoliciesPerTier} policies, got ${raw.length}`);
  }
  const seen = new Set<string>();
  const policies = raw.map((entry, index) => {
    const policy = parsePolicy(entry, `${where}, policy #${index + 1}`);
    if (seen.has(policy.name)) {
      throw new RateLimitConfigError(`${where}: policy name "${policy.name}" is used twice`);
    }
    seen.add(policy.name);
    return policy;
  });
  if (policies.every((policy) => policy.mode === 'shadow')) {
    throw new RateLimitConfigError(`${where}: needs at least one policy that is not "mode": "shadow" (shadow policies never deny)`);
  }
  if (policies.filter((policy) => policy.unit === 'concurrent').length > 1) {
    throw new RateLimitConfigError(`${where}: at most one "concurrent" policy per tier (all leases share one in-flight set)`);
  }
  return Object.freeze({ policies: Object.freeze(policies) });
}

function parsePolicy(input: unknown, where: string): Policy {
  if (!isPlainObject(input)) throw new RateLimitConfigError(`${where}: must be an object`);
  const { name, unit } = input;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new RateLimitConfigError(
      `${where}, field "name": must be 1-64 characters of letters, digits, ".", "_" or "-", got ${describe(name)}`,
    );
  }
  const at = `${where.replace(/policy #\d+$/, `policy "${name}"`)}`;
  if (typeof unit !== 'string' || !(UNITS as readonly string[]).includes(unit)) {
    throw new RateLimitConfigError(`${at}, field "unit": must be one of ${UNITS.join(', ')}, got ${describe(unit)}`);
  }
  const mode = input.mode ?? 'enforce';
  if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode)) {
    throw new RateLimitConfigError(`${at}, field "mode": must be one of ${MODES.join(', ')}, got ${describe(input.mode)}`);
  }
  // Only a shadow policy carries its mode, so enforcing policies read exactly as before.
  const modeField = mode === 'shadow' ? { mode: 'shadow' as const } : {};
  if (unit === 'concurrent') {
    return Object.freeze({
      name,
      unit,
      ...modeField,
      limit: integerField(input, 'limit', 1, TIER_LIMITS.maxConcurrentLimit, at),
      leaseSeconds:
        input.leaseSeconds === undefined ? DEFAULT_LEASE_SECONDS : integerField(input, 'leaseSeconds', 1, TIER_LIMITS.maxLeaseSeconds, at),
    });
  }
  const maxLimit = unit === 'requests' ? TIER_LIMITS.maxRequestsLimit : TIER_LIMITS.maxTokensLimit;
  return Object.freeze({
    name,
    unit: unit as 'requests' | 'tokens',
    ...modeField,
    limit: integerField(input, 'limit', 1, maxLimit, at),
    windowSeconds: integerField(input, 'windowSeconds', 1, TIER_LIMITS.maxWindowSeconds, at),
  });
}

function integerField(input: Record<string, unknown>, field: string, min: number, max: number, at: string): number {
  const value = input[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RateLimitConfigError(`${at}, field "${field}": must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/**
 * The policy whose numbers fill the summary fields (`limit`, `remaining`, `reset`): the first
 * enforcing request window, else the first enforcing policy (shadow policies never headline).
 */
export function headlinePolicyIndex(tier: TierDefinition): number {
  const enforcing = (index: number) => tier.policies[index].mode !== 'shadow';
  const request = tier.policies.findIndex((policy, index) => policy.unit === 'requests' && enforcing(index));
  if (request !== -1) return request;
  const first = tier.policies.findIndex((_, index) => enforcing(index));
  return first === -1 ? 0 : first;
}
