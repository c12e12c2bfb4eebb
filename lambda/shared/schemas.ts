/**
 * Request shapes of the HTTP API (DESIGN.md section 5), as zod schemas.
 *
 * They check structure and JSON types only: what a creator id, tier, token count or request id may
 * contain is the library's rule (RateLimitInputError names the field), so it is written once.
 *
 * Unknown fields are rejected, in bodies here and in the query string by the route table (routes.ts): a misspelt optional field
 * (`token` for `tokens`, `requestID` for `requestId`) would otherwise be dropped silently and
 * change what gets counted.
 */
import { z } from 'zod';

/** "is required" when absent, else what was expected and what came. */
const expecting = (expected: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? 'is required' : `must be ${expected}, got ${describe(issue.input)}`;

const creatorId = z.union([z.string(), z.number()], { error: expecting('a string or an integer') });
const tier = z.string({ error: expecting('a string (a tier name)') });
const tokens = z.number({ error: expecting('a number') });
const requestId = z.string({ error: expecting('a string') });

/** POST /v1/check */
export const CheckBody = z.strictObject({ creatorId, tier, tokens: tokens.optional(), requestId: requestId.optional() });
export type CheckBody = z.infer<typeof CheckBody>;

/** POST /v1/settle: `tokens` is the number of tokens actually used. */
export const SettleBody = z.strictObject({ creatorId, tier, requestId, tokens });
export type SettleBody = z.infer<typeof SettleBody>;

/**
 * POST /v1/reset. `tier` is optional and only chooses the policies described by the response
 * headers (reset clears the creator's usage under every tier).
 */
export const ResetBody = z.strictObject({ creatorId, tier: tier.optional() });
export type ResetBody = z.infer<typeof ResetBody>;

/** GET /v1/status/{creatorId}?tier=... (unknown parameters are refused for every route, by the route table) */
export const StatusQuery = z.object({ tier: tier.optional() });
export type StatusQuery = z.infer<typeof StatusQuery>;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : String(value);
  return typeof value;
}
