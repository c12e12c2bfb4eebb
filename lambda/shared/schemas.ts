/**
 * Request shapes of the HTTP API (docs/design.md#http-api): which fields a body or query string has,
 * which are required, and their JSON types.
 *
 * They check structure and JSON types only: what a creator id, tier, token count or request id may
 * contain is the library's rule (RateLimitInputError names the field), so it is written once.
 *
 * Unknown fields are rejected, in bodies here and in the query string by the route table
 * (routes.ts): a misspelt optional field (`token` for `tokens`, `requestID` for `requestId`) would
 * otherwise be dropped silently and change what gets counted.
 *
 * Written by hand rather than with a schema library: four flat shapes of four JSON types do not
 * need one, and a validation library was 45% of every function's bundle.
 */
import type { FieldError } from './http';

/** A JSON type a field may have; `expected` says it in words. */
interface JsonType<T> {
  readonly expected: string;
  readonly accepts: (value: unknown) => value is T;
}

/** One field: its JSON type and whether it may be absent. */
interface FieldRule<T, Optional extends boolean> extends JsonType<T> {
  readonly optional: Optional;
}

type AnyRule = FieldRule<unknown, boolean>;
type ValueOf<R> = R extends FieldRule<infer T, boolean> ? T : never;

/** The object a shape reads: its required fields, and its optional ones as optional properties. */
type ShapeOf<Rules extends Record<string, AnyRule>> = {
  -readonly [K in keyof Rules as Rules[K] extends FieldRule<unknown, false> ? K : never]: ValueOf<Rules[K]>;
} & {
  -readonly [K in keyof Rules as Rules[K] extends FieldRule<unknown, true> ? K : never]?: ValueOf<Rules[K]>;
};

export type ShapeResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly [FieldError, ...FieldError[]] };

export interface RequestShape<T> {
  /**
   * The named fields of `input`, or every problem found, in field order, then each unknown field
   * (for a strict shape) in the input's order.
   */
  read(input: object): ShapeResult<T>;
}

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

const required = <T>(type: JsonType<T>): FieldRule<T, false> => ({ ...type, optional: false });
const optional = <T>(type: JsonType<T>): FieldRule<T, true> => ({ ...type, optional: true });

/**
 * A shape over `rules`. `strict` shapes refuse fields they do not name (bodies); the query string's
 * unknown parameters are refused by the route table instead.
 */
function shape<Rules extends Record<string, AnyRule>>(rules: Rules, { strict }: { strict: boolean }): RequestShape<ShapeOf<Rules>> {
  return {
    read(input) {
      const errors: FieldError[] = [];
      const value: Record<string, unknown> = {};
      for (const [field, { expected, accepts, optional }] of Object.entries(rules)) {
        const given = hasOwn(input, field) ? (input as Record<string, unknown>)[field] : undefined;
        if (given === undefined) {
          if (!optional) errors.push({ field, detail: 'is required' });
        } else if (!accepts(given)) {
          errors.push({ field, detail: `must be ${expected}, got ${describe(given)}` });
        } else {
          value[field] = given;
        }
      }
      if (strict) {
        for (const key of Object.keys(input))
          if (!hasOwn(rules, key)) errors.push({ field: key.slice(0, 64), detail: 'is not a known field' });
      }
      const [first, ...more] = errors;
      return first ? { ok: false, errors: [first, ...more] } : { ok: true, value: value as ShapeOf<Rules> };
    },
  };
}

const isString = (value: unknown): value is string => typeof value === 'string';
// JSON.parse never yields NaN or Infinity; a query value is a string. Finite numbers only.
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isStringOrNumber = (value: unknown): value is string | number => isString(value) || isNumber(value);

const creatorId: JsonType<string | number> = { expected: 'a string or an integer', accepts: isStringOrNumber };
const tier: JsonType<string> = { expected: 'a string (a tier name)', accepts: isString };
const tokens: JsonType<number> = { expected: 'a number', accepts: isNumber };
const requestId: JsonType<string> = { expected: 'a string', accepts: isString };

/** POST /v1/check */
export const CheckBody = shape(
  { creatorId: required(creatorId), tier: required(tier), tokens: optional(tokens), requestId: optional(requestId) },
  { strict: true },
);

/** POST /v1/settle: `tokens` is the number of tokens actually used. */
export const SettleBody = shape(
  { creatorId: required(creatorId), tier: required(tier), requestId: required(requestId), tokens: required(tokens) },
  { strict: true },
);

/**
 * POST /v1/reset. `tier` is optional and only chooses the policies described by the response
 * headers (reset clears the creator's usage under every tier).
 */
export const ResetBody = shape({ creatorId: required(creatorId), tier: optional(tier) }, { strict: true });

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const policyLimits: JsonType<Record<string, unknown>> = {
  expected: 'an object mapping policy names to { "limit": <integer> }',
  accepts: isPlainObject,
};
const epochMs: JsonType<number> = { expected: 'a number (epoch milliseconds)', accepts: isNumber };
const reason: JsonType<string> = { expected: 'a string', accepts: isString };

/**
 * PUT /v1/overrides/{creatorId}. The names, limits, expiry and reason are checked by the library
 * (it knows the tier table), naming the field, e.g. `policies.requests-per-hour.limit`.
 */
export const OverrideBody = shape(
  { policies: required(policyLimits), expiresAt: optional(epochMs), reason: required(reason) },
  { strict: true },
);

/** GET /v1/status/{creatorId}?tier=... (unknown parameters are refused for every route, by the route table) */
export const StatusQuery = shape({ tier: optional(tier) }, { strict: false });

/** A JSON value's type in words, for "must be X, got Y". */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : String(value);
  return typeof value;
}
