/**
 * Validation of per-call input. Every rejection names the field and what would be accepted, so the
 * HTTP layer can pass the message straight to the caller.
 */
import { RateLimitInputError } from './errors';
import type { TierDefinition, TierTable } from './types';

export const MAX_CREATOR_ID_LENGTH = 128;
export const MAX_REQUEST_ID_LENGTH = 128;
/** Largest token amount one request may reserve or settle (keeps sums exact in Lua's doubles). */
export const MAX_TOKENS_PER_REQUEST = 1e9;

// C0 and C1 control characters, DEL, and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:@/+=-]+$/;
/**
 * A UTF-16 surrogate not part of a pair (in `u` mode a pair is one code point and does not match).
 * Such a string is not well-formed Unicode: encoded to UTF-8 for Redis, every lone surrogate
 * becomes U+FFFD, so "x\ud800", "x\udfff" and "x\ufffd" would share one creator's keys.
 */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** Normalises a creator id to its canonical string: numbers and their decimal strings are the same creator. */
export function normalizeCreatorId(creatorId: unknown, field = 'creatorId'): string {
  if (typeof creatorId === 'number') {
    if (!Number.isSafeInteger(creatorId)) {
      throw new RateLimitInputError(field, `a numeric id must be a safe integer, got ${String(creatorId)}`);
    }
    return String(creatorId);
  }
  if (typeof creatorId !== 'string') {
    throw new RateLimitInputError(field, `must be a non-empty string or a safe integer, got ${typeName(creatorId)}`);
  }
  if (creatorId.length === 0) throw new RateLimitInputError(field, 'must not be empty');
  if (creatorId.length > MAX_CREATOR_ID_LENGTH) {
    throw new RateLimitInputError(field, `must be at most ${MAX_CREATOR_ID_LENGTH} characters, got ${creatorId.length}`);
  }
  if (CONTROL_CHARACTERS.test(creatorId)) {
    throw new RateLimitInputError(field, 'must not contain control characters');
  }
  if (LONE_SURROGATE.test(creatorId)) {
    throw new RateLimitInputError(field, 'must be well-formed Unicode (it contains an unpaired surrogate)');
  }
  if (creatorId.trim() !== creatorId) {
    throw new RateLimitInputError(field, 'must not start or end with whitespace');
  }
  return creatorId;
}

export function resolveTier(tiers: TierTable, tier: unknown, field = 'tier'): TierDefinition {
  if (typeof tier !== 'string' || !Object.prototype.hasOwnProperty.call(tiers, tier)) {
    const names = Object.keys(tiers);
    const got = typeof tier === 'string' ? `"${tier.slice(0, 64)}"` : typeName(tier);
    throw new RateLimitInputError(field, `must be one of ${names.map((n) => `"${n}"`).join(', ')}, got ${got}`);
  }
  return tiers[tier];
}

export function validateTokens(tokens: unknown, field = 'tokens'): number {
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 0 || tokens > MAX_TOKENS_PER_REQUEST) {
    throw new RateLimitInputError(
      field,
      `must be an integer from 0 to ${MAX_TOKENS_PER_REQUEST}, got ${typeof tokens === 'number' ? tokens : typeName(tokens)}`,
    );
  }
  return tokens;
}

export function validateRequestId(requestId: unknown, field = 'requestId'): string {
  if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > MAX_REQUEST_ID_LENGTH) {
    throw new RateLimitInputError(
      field,
      `must be a string of 1 to ${MAX_REQUEST_ID_LENGTH} characters, got ${typeof requestId === 'string' ? `${requestId.length} characters` : typeName(requestId)}`,
    );
  }
  // The pattern is ASCII only, so it also rejects lone surrogates (not well-formed Unicode).
  if (!REQUEST_ID_PATTERN.test(requestId)) {
    throw new RateLimitInputError(field, 'may only contain letters, digits and . _ : @ / + = -');
  }
  return requestId;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}
