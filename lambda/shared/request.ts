/**
 * From an API Gateway REST proxy event (payload format 1.0) to validated request input.
 *
 * Every way an event can be wrong ends as a BadRequestError naming the field, so the handler
 * answers 400 and never 500: the envelope itself, an undecodable or oversized body, malformed
 * JSON, a body that is not an object, missing, unknown or mistyped fields, an unknown query
 * parameter or one given twice. A body over the size limit is the one exception: 413.
 */
import { z } from 'zod';
import type { FieldError } from './http';
import { describe } from './schemas';

/** Largest accepted body after base64 decoding. The real bodies are well under 1 KiB. */
export const MAX_BODY_BYTES = 16 * 1024;

export class BadRequestError extends Error {
  readonly errors: readonly [FieldError, ...FieldError[]];

  constructor(field: string, detail: string, more: readonly FieldError[] = []) {
    super(`${field}: ${detail}`);
    this.errors = [{ field, detail }, ...more];
  }
}

const nullableStrings = z.record(z.string(), z.string().nullable()).nullish();
const nullableStringLists = z.record(z.string(), z.array(z.string()).nullable()).nullish();

/**
 * The fields of the proxy event the handlers read. Lenient where API Gateway varies (null versus
 * absent maps) and silent about fields they do not use.
 *
 * The schema only checks the types: zod builds its output maps by assignment, which drops a key
 * named `__proto__`, so the maps themselves are copied from the event by ownMap below.
 */
const ProxyEventEnvelope = z.object({
  httpMethod: z.string(),
  resource: z.string().nullish(),
  path: z.string().nullish(),
  headers: nullableStrings,
  multiValueHeaders: nullableStringLists,
  queryStringParameters: nullableStrings,
  multiValueQueryStringParameters: nullableStringLists,
  pathParameters: nullableStrings,
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().nullish(),
  requestContext: z.object({ requestId: z.string().nullish() }).nullish(),
});

type RawEvent = Record<string, unknown>;

export interface ApiRequest {
  readonly method: string;
  readonly resource: string | undefined;
  readonly path: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  /** Every value of every query parameter. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  readonly body: string | null;
  readonly isBase64Encoded: boolean;
  readonly requestId: string | undefined;
}

export function parseEvent(event: unknown): ApiRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new BadRequestError('event', 'must be an API Gateway proxy event object');
  }
  const parsed = ProxyEventEnvelope.safeParse(event);
  if (!parsed.success) throw fromZodError(parsed.error);
  const envelope = parsed.data;
  const raw = event as RawEvent;
  return {
    method: envelope.httpMethod,
    resource: envelope.resource ?? undefined,
    path: envelope.path ?? envelope.resource ?? '/',
    pathParameters: withoutNulls(ownMap(raw, 'pathParameters', isString)),
    query: queryOf(ownMap(raw, 'queryStringParameters', isString), ownMap(raw, 'multiValueQueryStringParameters', isStringList)),
    body: envelope.body ?? null,
    isBase64Encoded: envelope.isBase64Encoded === true,
    requestId: envelope.requestContext?.requestId ?? undefined,
  };
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);

/**
 * A map of the event copied into an object without a prototype, so that a key named like an
 * Object.prototype member (`__proto__`, `constructor`, `toString`) is an ordinary key: a query
 * parameter so named is then reported as unknown instead of being dropped, or of colliding with
 * the inherited member.
 */
function ownMap<T>(event: RawEvent, field: string, isValue: (value: unknown) => value is T): Record<string, T | null> {
  const map: Record<string, T | null> = Object.create(null) as Record<string, T | null>;
  const source = event[field];
  if (typeof source !== 'object' || source === null) return map;
  for (const [key, value] of Object.entries(source)) {
    if (value !== null && !isValue(value)) throw new BadRequestError(`${field}.${key.slice(0, 64)}`, 'has the wrong type');
    map[key] = value;
  }
  return map;
}

function withoutNulls(map: Record<string, string | null>): Record<string, string> {
  const result: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(map)) if (value !== null) result[key] = value;
  return result;
}

/** API Gateway fills both maps; the multi-value one is complete, the other keeps the last value. */
function queryOf(single: Record<string, string | null>, multi: Record<string, string[] | null>): Record<string, string[]> {
  const query: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [key, value] of Object.entries(single)) if (value !== null) query[key] = [value];
  for (const [key, values] of Object.entries(multi)) if (values && values.length > 0) query[key] = [...values];
  return query;
}

/** Any query parameter the route does not read is a 400 naming it (a misspelt `tier` must not be ignored). */
export function rejectUnknownQueryParameters(request: ApiRequest, known: readonly string[]): void {
  const unknown = Object.keys(request.query).filter((key) => !known.includes(key));
  const [first, ...more] = unknown.map((key) => ({
    field: key.slice(0, 64),
    detail: known.length === 0 ? 'is not a known query parameter (this route takes none)' : `is not a known query parameter (this route takes ${known.join(', ')})`,
  }));
  if (first) throw new BadRequestError(first.field, first.detail, more);
}

/** The body as text: base64-decoded when flagged, size-limited, valid UTF-8. Null when empty. */
export function bodyText(request: ApiRequest): string | null {
  const raw = request.body;
  if (raw === null || raw.length === 0) return null;
  // Cheap early rejection before allocating anything for a huge body.
  if (raw.length > (request.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4 : MAX_BODY_BYTES * 3)) {
    throw tooLarge();
  }
  let bytes: Buffer;
  if (request.isBase64Encoded) {
    const compact = raw.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
      throw new BadRequestError('body', 'is flagged isBase64Encoded but is not valid base64');
    }
    bytes = Buffer.from(compact, 'base64');
  } else {
    bytes = Buffer.from(raw, 'utf8');
  }
  if (bytes.length > MAX_BODY_BYTES) throw tooLarge();
  if (bytes.length === 0) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BadRequestError('body', 'must be UTF-8 encoded JSON');
  }
}

/** A body over MAX_BODY_BYTES: answered 413, not 400, so a client can tell "too big" from "malformed". */
export class PayloadTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`body: must be at most ${limitBytes} bytes`);
  }
}

function tooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(MAX_BODY_BYTES);
}

/** Parses the JSON object body against `schema`. */
export function jsonBody<T>(request: ApiRequest, schema: z.ZodType<T>): T {
  const text = bodyText(request);
  if (text === null) throw new BadRequestError('body', 'is required: a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError('body', 'is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestError('body', `must be a JSON object, got ${describe(value)}`);
  }
  return validate(value, schema);
}

/** Parses the query string against `schema`; each parameter may appear once. */
export function queryParameters<T>(request: ApiRequest, schema: z.ZodType<T>): T {
  const single: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, values] of Object.entries(request.query)) {
    if (values.length > 1) throw new BadRequestError(key, 'must be given once');
    single[key] = values[0]!;
  }
  return validate(single, schema);
}

/** A path parameter; `path` and `resource` already matched the route, so absence is malformed input. */
export function pathParameter(request: ApiRequest, name: string): string {
  const value = request.pathParameters[name];
  if (value === undefined) throw new BadRequestError(name, 'is required in the path');
  return value;
}

function validate<T>(value: unknown, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}

/** One FieldError per zod issue; unknown keys are named individually. */
export function fromZodError(error: z.ZodError): BadRequestError {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ field: key.slice(0, 64), detail: 'is not a known field' });
    } else {
      errors.push({ field: issue.path.map(String).join('.') || 'body', detail: issue.message });
    }
  }
  const [first, ...more] = errors;
  return first ? new BadRequestError(first.field, first.detail, more) : new BadRequestError('body', 'is invalid');
}
